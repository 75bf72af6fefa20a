"""The synthetic medical speech corpus: held-out sentences and voices never leak into training, terms are in
their text, the audio is 16 kHz mono speech at the asked noise level, and a finished corpus is reused."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from codx.errors import CodxError, InputFileError
from codx.training import asr_data
from codx.training.asr_data import (
    DRUGS_FILE,
    MANIFEST,
    TEST_TEMPLATES,
    TEST_VOICES,
    TRAIN_TEMPLATES,
    TRAIN_VOICES,
    add_noise,
    build_asr_corpus,
    build_multilingual_set,
    generate_sentences,
    load_asr_corpus,
    multilingual_sentences,
    plan_corpus,
    read_drugs,
    slots,
    speech_power,
    spoken_phrase,
    synthesize,
)

needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason="espeak-ng is not installed (apt-get install espeak-ng)"
)


@pytest.fixture(scope="module")
def plans() -> list[asr_data.Planned]:
    return plan_corpus(600, 200, seed=3)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> asr_data.AsrCorpus:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    return build_asr_corpus(tmp_path_factory.mktemp("asr"), n_train=4, n_test=2, seed=1)


def _key(text: str) -> str:
    return " ".join(re.sub(r"[^\w' ]", " ", text.lower()).split())


def _accent(voice: str) -> str:
    return voice.split("+")[0]


def _variant(voice: str) -> str:
    return voice.partition("+")[2]


# ---------------------------------------------------------------------------------------------- sentences


def test_templates_are_split_and_start_with_a_word() -> None:
    assert not set(TRAIN_TEMPLATES) & set(TEST_TEMPLATES)
    assert len(TRAIN_TEMPLATES) + len(TEST_TEMPLATES) >= 30
    for template in (*TRAIN_TEMPLATES, *TEST_TEMPLATES):
        assert template[0].isupper() and not template.startswith("{"), template
        assert set(slots(template)) <= {f"{k}{n}" for k in ("finding", "condition", "drug") for n in ("", "2")} | {
            "dose",
            "frequency",
            "duration",
        }


def test_train_and_test_sentences_are_disjoint(plans: list[asr_data.Planned]) -> None:
    train = {_key(p.sentence.text) for p in plans if p.split == "train"}
    test = {_key(p.sentence.text) for p in plans if p.split == "test"}
    assert len(train) == 600 and len(test) == 200  # no duplicates within a split either
    assert not train & test
    assert {p.sentence.template for p in plans if p.split == "test"} <= set(TEST_TEMPLATES)


def test_heldout_voices_are_never_trained_on(plans: list[asr_data.Planned]) -> None:
    assert not set(TRAIN_VOICES) & set(TEST_VOICES)
    assert not {_accent(v) for v in TRAIN_VOICES} & {_accent(v) for v in TEST_VOICES}
    assert len({_accent(v) for v in TEST_VOICES}) >= 2
    assert not {_variant(v) for v in TRAIN_VOICES} & {_variant(v) for v in TEST_VOICES}
    train_voices = {p.voice for p in plans if p.split == "train"}
    test_voices = {p.voice for p in plans if p.split == "test"}
    assert train_voices <= set(TRAIN_VOICES) and test_voices <= set(TEST_VOICES)
    assert len(train_voices) > 30  # the draw really spreads over the voices


def test_terms_occur_in_their_sentence_and_nothing_is_unspeakable(plans: list[asr_data.Planned]) -> None:
    for p in plans:
        text = p.sentence.text
        assert p.sentence.terms, text  # every template has at least one medical slot
        for term in p.sentence.terms:
            assert term in text, (term, text)
        assert not re.search(r"[0-9()/%&+=<>\[\]{}]", text), text
        assert len(text.split()) <= asr_data.MAX_WORDS


def test_random_draws_stay_in_range_and_follow_the_seed(plans: list[asr_data.Planned]) -> None:
    assert all(130 <= p.speed <= 190 and 30 <= p.pitch <= 70 for p in plans)
    noisy = [p for p in plans if p.snr_db is not None]
    assert all(10 <= p.snr_db <= 30 and p.noise in ("white", "pink") for p in noisy)  # type: ignore[operator]
    assert 0.03 < 1 - len(noisy) / len(plans) < 0.3
    assert plan_corpus(20, 5, seed=3) == plan_corpus(20, 5, seed=3)
    assert plan_corpus(20, 5, seed=3) != plan_corpus(20, 5, seed=4)


def test_sentences_use_hard_medical_words() -> None:
    train, test = generate_sentences(300, 100, seed=0)
    terms = {t for s in train + test for t in s.terms}
    vocab = asr_data.vocabulary()
    assert terms & set(vocab.drugs) and terms & set(vocab.conditions)
    assert terms & set(vocab.clinical_findings) and terms & set(vocab.lay_findings)
    assert "pneumonia" in vocab.conditions and "runny nose" in vocab.lay_findings


def test_spoken_phrase_cleans_pack_labels() -> None:
    assert spoken_phrase("Acute myocardial infarction (heart attack)", sentence_case=True) == (
        "acute myocardial infarction"
    )
    assert spoken_phrase("Addison's disease", sentence_case=True) == "Addison's disease"
    assert spoken_phrase("Non-Hodgkin lymphoma", sentence_case=True) == "non-Hodgkin lymphoma"
    assert spoken_phrase("a fit or seizure") == "fit or seizure"
    for bad in (
        "ECG shows ST elevation",
        "heart rate over 100",
        "Complete heart block / bradycardia",
        "it burns when I pee",
    ):
        assert spoken_phrase(bad) is None, bad


def test_drug_list() -> None:
    drugs = read_drugs()
    assert 140 <= len(drugs) <= 200 and len(set(drugs)) == len(drugs)
    assert {"metformin", "amoxicillin", "lisinopril", "atorvastatin", "omeprazole", "salbutamol"} <= set(drugs)
    assert all(d == d.lower() and not re.search(r"[0-9]", d) for d in drugs)
    assert DRUGS_FILE.read_text().startswith("#")


def test_noise_is_added_at_the_asked_level() -> None:
    rng = np.random.default_rng(0)
    t = np.arange(16_000) / 16_000
    speech = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    for kind in ("white", "pink"):
        noisy = add_noise(speech, 20.0, kind, rng)
        snr = 10 * np.log10(speech_power(speech) / np.mean(np.square(noisy - speech)))
        assert noisy.dtype == np.float32 and abs(snr - 20.0) < 0.5, (kind, snr)


def test_multilingual_sentences_name_real_voices() -> None:
    sentences = multilingual_sentences()
    assert {s.language for s in sentences} == {"es", "fr", "zh"}
    assert all(term in s.text for s in sentences for term in s.terms)


# ---------------------------------------------------------------------------------------------- audio


@needs_espeak
def test_every_voice_speaks_and_differs() -> None:
    """A misspelt voice or variant makes espeak-ng fall back to plain "en" without failing: catch that."""
    seen: dict[bytes, str] = {}
    for voice in (*TRAIN_VOICES, *TEST_VOICES):
        audio = synthesize("amoxicillin", voice, 160, 50)
        assert audio is not None and len(audio) > 4_000, voice
        digest = audio.tobytes()
        assert digest not in seen, (voice, seen.get(digest))
        seen[digest] = voice


@needs_espeak
def test_tiny_corpus_is_valid_16k_speech(tiny: asr_data.AsrCorpus) -> None:
    assert len(tiny.split("train")) == 4 and len(tiny.split("test")) == 2 and tiny.skipped == 0
    for u in tiny.utterances:
        audio, rate = sf.read(tiny.audio_path(u), dtype="float32")
        info = sf.info(tiny.audio_path(u))
        assert rate == 16_000 and audio.ndim == 1 and info.subtype == "PCM_16"
        assert 0.5 < u.duration_s < 15 and abs(len(audio) / rate - u.duration_s) < 0.01
        assert np.sqrt(np.mean(np.square(audio))) > 0.01  # not silent
        assert not Path(u.path).is_absolute() and u.language == "en"
    assert {u.voice for u in tiny.split("test")} <= set(TEST_VOICES)
    assert load_asr_corpus(tiny.root) == tiny


@needs_espeak
def test_rebuild_reuses_a_finished_corpus(tiny: asr_data.AsrCorpus) -> None:
    mtimes = {p: p.stat().st_mtime_ns for p in tiny.root.rglob("*") if p.is_file()}
    stages: list[tuple[str, float]] = []
    again = build_asr_corpus(tiny.root, n_train=4, n_test=2, seed=1, progress=lambda s, f: stages.append((s, f)))
    assert again == tiny
    assert {p: p.stat().st_mtime_ns for p in tiny.root.rglob("*") if p.is_file()} == mtimes
    assert stages and "reusing" in stages[-1][0]


@needs_espeak
def test_interrupted_or_changed_build_is_redone(tmp_path: Path) -> None:
    stages: list[float] = []
    first = build_asr_corpus(tmp_path, n_train=2, n_test=1, progress=lambda s, f: stages.append(f))
    assert stages[0] == 0.0 and stages[-1] == 1.0
    (tmp_path / MANIFEST).unlink()  # as if killed before the manifest was written
    again = build_asr_corpus(tmp_path, n_train=2, n_test=1)
    assert again == first
    other = build_asr_corpus(tmp_path, n_train=1, n_test=1, seed=2)
    assert len(other.utterances) == 2 and len(list((tmp_path / "audio").glob("*.wav"))) == 2


@needs_espeak
def test_failed_sentences_are_skipped_and_counted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = asr_data.synthesize
    monkeypatch.setattr(
        asr_data, "synthesize", lambda text, voice, *a, **k: None if voice == "es" else real(text, voice, *a, **k)
    )
    corpus = build_multilingual_set(tmp_path)
    assert corpus.skipped == 4 and {u.language for u in corpus.utterances} == {"fr", "zh"}
    assert load_asr_corpus(tmp_path).skipped == 4


@needs_espeak
def test_multilingual_set_builds(tmp_path: Path) -> None:
    corpus = build_multilingual_set(tmp_path)
    assert corpus.skipped == 0 and len(corpus.utterances) == len(multilingual_sentences())
    assert {u.language for u in corpus.utterances} == {"es", "fr", "zh"}
    assert all(u.snr_db is None and u.duration_s > 0.5 for u in corpus.utterances)
    assert "头痛" in corpus.utterances[8].text and corpus.utterances[8].voice == "cmn-latn-pinyin"
    assert load_asr_corpus(tmp_path) == corpus


def test_missing_espeak_and_missing_corpus_say_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InputFileError, match="build_asr_corpus"):
        load_asr_corpus(tmp_path)
    monkeypatch.setattr(asr_data.shutil, "which", lambda name: None)
    with pytest.raises(CodxError, match="apt-get install espeak-ng"):
        build_asr_corpus(tmp_path, n_train=1, n_test=1)
