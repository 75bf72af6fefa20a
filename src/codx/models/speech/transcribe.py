"""Speech to text with openai-whisper on checkpoints codx converted or fine-tuned itself.

Language: English-only models answer "en". Multilingual models choose among the six languages codx speaks
(Whisper's own detector, restricted to them, on the first 30 s), unless the caller names the language.
Confidence is exp(mean token log-probability) over the segments, weighted by their length: a number in
(0, 1] that drops when Whisper had to guess.
"""

from __future__ import annotations

import base64
import gzip
import math
import time
from pathlib import Path

import numpy as np
import torch
import whisper
from pydantic import BaseModel, Field

from codx.errors import AudioError, SpeechModelError
from codx.models.speech.audio import SAMPLE_RATE, Audio
from codx.models.speech.weights import ensure_whisper, read_manifest
from codx.progress import Progress

LANGUAGES = ("en", "zh", "es", "fr", "ar", "hi")


class Segment(BaseModel):
    start: float = Field(description="Seconds from the start of the recording.")
    end: float
    text: str
    avg_logprob: float
    no_speech_prob: float


class Transcript(BaseModel):
    text: str
    language: str
    segments: list[Segment]
    confidence: float = Field(ge=0.0, le=1.0)
    duration_s: float
    model: str
    seconds: float = Field(description="Wall time spent transcribing.")


def _alignment_mask(heads: list[list[int]], layers: int, n_heads: int) -> bytes:
    mask = np.zeros((layers, n_heads), dtype=bool)
    for layer, head in heads:
        mask[layer, head] = True
    return base64.b85encode(gzip.compress(mask.tobytes()))


def load_whisper(path: Path) -> whisper.model.Whisper:
    """`whisper.load_model(path)` on the CPU, plus the alignment heads from codx's manifest (word timings)."""
    try:
        model = whisper.load_model(str(path), device="cpu")
    except (OSError, RuntimeError, KeyError, EOFError) as exc:
        raise SpeechModelError(
            f"{path} is not a usable Whisper checkpoint ({exc}); delete it to convert again"
        ) from exc
    heads = (read_manifest(path) or {}).get("alignment_heads")
    if heads:
        model.set_alignment_heads(_alignment_mask(heads, model.dims.n_text_layer, model.dims.n_text_head))
    return model.eval()


class Transcriber:
    """One loaded Whisper model; `transcribe` is safe to call repeatedly (not concurrently)."""

    def __init__(self, model: whisper.model.Whisper, name: str):
        self.model, self.name = model, name

    @classmethod
    def load(cls, models_dir: Path, name: str, progress: Progress | None = None) -> Transcriber:
        return cls(load_whisper(ensure_whisper(models_dir, name, progress)), name)

    @property
    def multilingual(self) -> bool:
        return bool(self.model.is_multilingual)

    def detect_language(self, audio: Audio, allowed: tuple[str, ...] = LANGUAGES) -> str:
        if not self.multilingual:
            return "en"
        mel = whisper.log_mel_spectrogram(whisper.pad_or_trim(torch.from_numpy(audio.samples)), self.model.dims.n_mels)
        with torch.inference_mode():
            _, probs = self.model.detect_language(mel)
        return max(allowed, key=lambda code: probs.get(code, 0.0))

    def transcribe(self, audio: Audio, language: str | None = None, prompt: str | None = None) -> Transcript:
        """Text, language, timed segments and a confidence for one recording."""
        start = time.perf_counter()
        if language is not None and language not in whisper.tokenizer.LANGUAGES:
            raise AudioError(f"unknown language code {language!r}; use one of {', '.join(LANGUAGES)}")
        if not self.multilingual and language not in (None, "en"):
            raise AudioError(f"{self.name} understands English only; use Whisper base for {language!r}")
        lang = language or self.detect_language(audio)
        with torch.inference_mode():
            result = self.model.transcribe(
                audio.samples,
                language=lang,
                fp16=False,
                verbose=None,
                initial_prompt=prompt,
                condition_on_previous_text=False,
            )
        segments = [
            Segment(
                start=float(s["start"]),
                end=float(s["end"]),
                text=s["text"].strip(),
                avg_logprob=float(s["avg_logprob"]),
                no_speech_prob=float(s["no_speech_prob"]),
            )
            for s in result["segments"]
        ]
        return Transcript(
            text=result["text"].strip(),
            language=lang,
            segments=segments,
            confidence=_confidence(segments),
            duration_s=len(audio.samples) / SAMPLE_RATE,
            model=self.name,
            seconds=time.perf_counter() - start,
        )


def _confidence(segments: list[Segment]) -> float:
    weights = [max(s.end - s.start, 1e-3) for s in segments if s.text]
    if not weights:
        return 0.0
    logp = sum(w * s.avg_logprob for w, s in zip(weights, [s for s in segments if s.text], strict=True)) / sum(weights)
    return float(min(1.0, max(0.0, math.exp(logp))))
