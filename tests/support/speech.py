"""Speech fixtures: espeak-ng sentences as WAV bytes and Whisper checkpoints converted once per session."""

from __future__ import annotations

import shutil
import subprocess

import pytest

ESPEAK = shutil.which("espeak-ng")
needs_espeak = pytest.mark.skipif(ESPEAK is None, reason="espeak-ng is not installed (apt-get install espeak-ng)")


def speak(text: str, voice: str = "en-us", speed: int = 150) -> bytes:
    """What espeak-ng says, as a 22,050 Hz WAV file's bytes."""
    assert ESPEAK is not None
    return subprocess.run(
        [ESPEAK, "-v", voice, "-s", str(speed), "--stdout", text], check=True, capture_output=True
    ).stdout
