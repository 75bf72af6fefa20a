"""Audio in, 16 kHz mono float32 out, or an `AudioError` that says what to do; no system ffmpeg needed.

Decoding is libsndfile's (the `soundfile` wheel bundles it): WAV, FLAC, OGG Vorbis/Opus, MP3, AIFF and the
other formats `soundfile.available_formats()` lists. Resampling is `scipy.signal.resample_poly`. Checks, in the
order a user meets them: nothing given, unreadable or unsupported bytes, a sample rate below 8 kHz, NaN or
infinite samples, too short (under 0.2 s), too long (over `max_seconds`, 10 minutes by default), silence.
"""

from __future__ import annotations

import io
from math import gcd
from pathlib import Path

import numpy as np
import soundfile as sf
from pydantic import BaseModel, ConfigDict
from scipy.signal import resample_poly

from codx.errors import AudioError

SAMPLE_RATE = 16_000
MAX_SECONDS = 600.0
MIN_SECONDS = 0.2
MIN_SOURCE_RATE = 8_000
#: Peak level under which a recording counts as silence (about -50 dBFS).
SILENCE_PEAK = 0.003
FORMATS_HINT = "WAV, FLAC, OGG (Vorbis/Opus), MP3 or AIFF"


class Audio(BaseModel):
    """Decoded speech ready for Whisper."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    samples: np.ndarray  # float32, mono, SAMPLE_RATE
    source_rate: int
    channels: int
    format: str

    @property
    def duration_s(self) -> float:
        return len(self.samples) / SAMPLE_RATE


def _read(source: bytes | Path | str) -> tuple[np.ndarray, int, str]:
    if isinstance(source, bytes | bytearray):
        if not source:
            raise AudioError("no audio was received: record or choose a file and try again")
        handle: io.BytesIO | str = io.BytesIO(source)
        where = "the audio"
    else:
        path = Path(source)
        if not path.is_file():
            raise AudioError(f"{path} does not exist or is not a file")
        if path.stat().st_size == 0:
            raise AudioError(f"{path} is empty: record again")
        handle, where = str(path), str(path)
    try:
        with sf.SoundFile(handle) as f:
            fmt = f.format
            data = f.read(dtype="float32", always_2d=True)
            rate = f.samplerate
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise AudioError(
            f"{where} could not be decoded ({exc}); it may be corrupt or in an unsupported format: use {FORMATS_HINT}"
        ) from None
    return data, rate, fmt


def decode_audio(source: bytes | Path | str, *, max_seconds: float = MAX_SECONDS) -> Audio:
    """Decode, check and resample a recording to 16 kHz mono float32."""
    data, rate, fmt = _read(source)
    if rate < MIN_SOURCE_RATE:
        raise AudioError(f"the sample rate is {rate} Hz; record at {MIN_SOURCE_RATE} Hz or more")
    if data.size == 0:
        raise AudioError("the recording holds no samples: record again")
    if not np.isfinite(data).all():
        raise AudioError("the recording holds invalid (NaN or infinite) samples: export it again")
    seconds = data.shape[0] / rate
    if seconds < MIN_SECONDS:
        raise AudioError(f"the recording is {seconds:.2f} s long; speak for at least {MIN_SECONDS} s")
    if seconds > max_seconds:
        raise AudioError(
            f"the recording is {seconds / 60:.1f} minutes long; the limit is {max_seconds / 60:.0f} minutes: "
            "split it into shorter parts"
        )
    mono = data.mean(axis=1)
    if rate != SAMPLE_RATE:
        g = gcd(rate, SAMPLE_RATE)
        mono = resample_poly(mono, SAMPLE_RATE // g, rate // g)
    mono = np.clip(mono, -1.0, 1.0).astype(np.float32)
    if float(np.abs(mono).max()) < SILENCE_PEAK:
        raise AudioError("the recording is silent: check the microphone and speak closer to it")
    return Audio(samples=mono, source_rate=rate, channels=data.shape[1], format=fmt)
