"""`run_asr_bench`: the real recording is nearly perfect with tiny.en, the medical held-out set has terms to
score, models or sets that cannot run are skipped with a reason, and the report has the shape the CLI prints."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from codx.bench import asr
from codx.bench.asr import REAL_REFERENCE, real_recording, run_asr_bench
from codx.errors import CodxError
from codx.models.speech.weights import FINETUNED
from codx.training.asr import AsrTrainConfig

HAS_ESPEAK = shutil.which("espeak-ng") is not None
needs_espeak = pytest.mark.skipif(not HAS_ESPEAK, reason="espeak-ng is not installed (apt-get install espeak-ng)")
needs_recording = pytest.mark.skipif(real_recording() is None, reason="moonshine_voice (the real recording) missing")

RECORD_KEYS = {
    "model",
    "set",
    "id",
    "language",
    "reference",
    "hypothesis",
    "terms",
    "errors",
    "words",
    "term_errors",
    "term_words",
    "seconds",
    "audio_seconds",
}
TINY = AsrTrainConfig(n_train=0, n_test=2)  # two held-out sentences: seconds to speak, not the default 720


@pytest.fixture(scope="module")
def report(speech_models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, list[dict]]:
    if real_recording() is None:
        pytest.skip("moonshine_voice (the real recording) is not installed")
    sets = ["real", "medical", "multilingual"] if HAS_ESPEAK else ["real"]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the CLI measures; two threads on a busy 2-core machine take 4x longer
    try:
        return run_asr_bench(
            speech_models_dir,
            tmp_path_factory.mktemp("asr-data"),
            ["tiny.en", FINETUNED],
            sets,
            limit=2,
            corpus_config=TINY,
        )
    finally:
        torch.set_num_threads(threads)


@pytest.mark.slow
@needs_recording
def test_real_recording_is_nearly_perfect_with_tiny_en(report):
    summary, records = report
    real = summary["results"]["tiny.en"]["real"]
    assert real["n"] == 1 and real["words"] > 100
    assert real["wer"] < 0.1
    assert real["term_wer"] is None and real["term_words"] == 0  # no medical terms in Dickens
    assert 0 < real["rtf"] < 5 and real["audio_s"] == pytest.approx(44.4, abs=0.5)
    (rec,) = [r for r in records if r["set"] == "real"]
    assert set(rec) == RECORD_KEYS
    assert rec["reference"] == REAL_REFERENCE and rec["language"] == "en" and rec["model"] == "tiny.en"
    assert "superlative degree of comparison" in rec["hypothesis"]
    assert "two_cities" in summary["data"]["real"]["file"]


@pytest.mark.slow
@needs_recording
def test_untrained_model_is_skipped_and_machine_is_reported(report):
    summary, _ = report
    assert summary["skipped"][FINETUNED] == "not trained: run codx train asr"
    assert FINETUNED not in summary["results"]
    assert summary["term_wer_reduction_vs_base"] is None and summary["real_wer_change_points_vs_base"] is None
    assert summary["machine"] and summary["torch_threads"] == 1
    assert summary["models"] == ["tiny.en", FINETUNED] and summary["limit"] == 2


@pytest.mark.slow
@needs_recording
@needs_espeak
def test_medical_held_out_set_has_terms_and_english_only_model_skips_multilingual(report):
    summary, records = report
    med = summary["results"]["tiny.en"]["medical"]
    assert med["n"] == 2 and med["words"] > 0
    assert med["term_words"] > 0 and med["term_wer"] is not None and 0 <= med["term_wer"] <= 1
    assert med["rtf"] > 0
    assert summary["data"]["medical"]["corpus_config"] == {"n_train": 0, "n_test": 2, "seed": 0}
    medical = [r for r in records if r["set"] == "medical"]
    assert len(medical) == 2 and all(set(r) == RECORD_KEYS and r["terms"] for r in medical)
    assert all(r["id"].startswith("test-") for r in medical)  # the held-out split only
    assert sum(r["term_words"] for r in medical) == med["term_words"]
    assert "English only" in summary["skipped"]["tiny.en/multilingual"]
    assert "multilingual" not in summary["results"]["tiny.en"]


def test_missing_recording_skips_the_real_set_with_a_reason(monkeypatch, tmp_path):
    monkeypatch.setattr(asr, "real_recording", lambda: None)
    summary, records = run_asr_bench(tmp_path / "models", tmp_path / "data", ["tiny.en"], ["real"])
    assert "moonshine_voice" in summary["skipped"]["real"]
    assert summary["results"] == {} and records == []


def test_unknown_names_are_refused(tmp_path):
    with pytest.raises(CodxError, match="large"):
        run_asr_bench(tmp_path, tmp_path, ["large"], ["real"])
    with pytest.raises(CodxError, match="podcast"):
        run_asr_bench(tmp_path, tmp_path, ["base"], ["podcast"])
