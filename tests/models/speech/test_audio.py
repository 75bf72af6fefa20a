"""Decoding and checking recordings: formats, rates, channels and every kind of bad input."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf

from codx.errors import AudioError
from codx.models.speech.audio import SAMPLE_RATE, decode_audio


def tone(seconds: float, rate: int, channels: int = 1, amp: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    wave = (amp * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    return np.stack([wave] * channels, axis=1) if channels > 1 else wave


def encode(samples: np.ndarray, rate: int, fmt: str, subtype: str | None = None) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, samples, rate, format=fmt, subtype=subtype)
    return buf.getvalue()


@pytest.mark.parametrize(
    "fmt,subtype,rate,channels",
    [("WAV", "PCM_16", 44_100, 2), ("FLAC", None, 48_000, 1), ("OGG", "VORBIS", 22_050, 1), ("MP3", None, 16_000, 1)],
)
def test_common_formats_become_16k_mono(fmt, subtype, rate, channels):
    audio = decode_audio(encode(tone(1.5, rate, channels), rate, fmt, subtype))
    assert audio.samples.dtype == np.float32 and audio.samples.ndim == 1
    assert audio.source_rate == rate and audio.channels == channels and audio.format == fmt
    assert audio.duration_s == pytest.approx(1.5, abs=0.06)  # MP3 frames pad a little
    # the tone survives resampling: its spectrum peaks at 440 Hz
    spectrum = np.abs(np.fft.rfft(audio.samples[:SAMPLE_RATE]))
    assert abs(int(np.argmax(spectrum)) - 440) <= 2  # one second of samples: bins are 1 Hz apart


def test_a_file_path_works_and_a_missing_one_says_so(tmp_path):
    path = tmp_path / "a.wav"
    path.write_bytes(encode(tone(1.0, 16_000), 16_000, "WAV"))
    assert decode_audio(path).duration_s == pytest.approx(1.0)
    with pytest.raises(AudioError, match="does not exist"):
        decode_audio(tmp_path / "missing.wav")
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(AudioError, match="empty"):
        decode_audio(tmp_path / "empty.wav")


@pytest.mark.parametrize(
    "data,message",
    [
        (b"", "no audio was received"),
        (b"\x00\x01garbage" * 100, "could not be decoded"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", "could not be decoded"),  # a header and nothing else
        (b"\x1aE\xdf\xa3" + b"\x00" * 200, "could not be decoded"),  # WebM magic: unsupported, formats listed
    ],
)
def test_empty_corrupt_or_unsupported_bytes_are_refused(data, message):
    with pytest.raises(AudioError, match=message) as err:
        decode_audio(data)
    assert "WAV" in str(err.value) or "record" in str(err.value)


def test_truncated_wav_keeps_what_was_recorded():
    whole = encode(tone(2.0, 16_000), 16_000, "WAV")
    audio = decode_audio(whole[: len(whole) // 2])  # a recording cut off mid-way: the first second is used
    assert 0.8 < audio.duration_s < 1.2


def test_limits_silence_and_invalid_samples():
    with pytest.raises(AudioError, match="at least"):
        decode_audio(encode(tone(0.05, 16_000), 16_000, "WAV"))
    with pytest.raises(AudioError, match="limit is 10 minutes"):
        decode_audio(encode(tone(601, 8_000, amp=0.1), 8_000, "WAV"))
    assert decode_audio(encode(tone(5, 8_000), 8_000, "WAV"), max_seconds=10).duration_s == pytest.approx(5)
    with pytest.raises(AudioError, match="silent"):
        decode_audio(encode(np.zeros(16_000, dtype=np.float32), 16_000, "WAV"))
    with pytest.raises(AudioError, match="sample rate"):
        decode_audio(encode(tone(1, 4_000), 4_000, "WAV"))
    bad = tone(1, 16_000)
    bad[100] = np.nan
    with pytest.raises(AudioError, match="NaN"):
        decode_audio(encode(bad, 16_000, "WAV", "FLOAT"))
