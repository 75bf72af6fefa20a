"""Built-in tool `transcribe_audio`: a recording in the tool folder -> text, language, timed segments.

The model is the best one present (codx's fine-tuned medical Whisper, else Whisper base converted from its
PyPI package on first use), loaded on the first call and kept. The full transcript is also written to
`transcripts/<recording name>.json` in the tool folder; what the tool says back is cut to fit the agent's
limit (segments first, then text, with `"truncated": true`).
"""

from __future__ import annotations

import json
import threading

from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel, ConfigDict, Field

from codx.errors import AudioError, SpeechModelError, ToolError
from codx.models.speech.audio import decode_audio
from codx.models.speech.transcribe import Transcriber, Transcript
from codx.models.speech.weights import default_speech_model
from codx.tools.call import MAX_OUTPUT_CHARS
from codx.tools.registry import ToolContext
from codx.tools.sandbox import resolve_in_workdir

NAME = "transcribe_audio"


class TranscribeArgs(BaseModel):
    """Arguments of `transcribe_audio`."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(min_length=1, max_length=255, description="Recording inside the tool folder, e.g. 'audio/a.wav'.")
    language: str | None = Field(
        None, pattern=r"^[a-z]{2}$", description="Spoken language (en, zh, es, fr, ar, hi) if known; else detected."
    )


def compact(transcript: Transcript, transcript_file: str, limit: int = MAX_OUTPUT_CHARS) -> str:
    """The transcript as JSON that fits `limit` characters: drop segments, then shorten the text."""
    body: dict = {
        "text": transcript.text,
        "language": transcript.language,
        "confidence": round(transcript.confidence, 3),
        "duration_s": round(transcript.duration_s, 2),
        "model": transcript.model,
        "segments": [{"start": round(s.start, 2), "end": round(s.end, 2), "text": s.text} for s in transcript.segments],
        "transcript_file": transcript_file,
    }
    out = json.dumps(body, ensure_ascii=False)
    if len(out) <= limit:
        return out
    body["segments"], body["truncated"] = [], True
    out = json.dumps(body, ensure_ascii=False)
    while len(out) > limit and body["text"]:
        body["text"] = body["text"][: max(0, len(body["text"]) - (len(out) - limit) - 16)].rstrip() + " …"
        out = json.dumps(body, ensure_ascii=False)
    return out


def make_tool(ctx: ToolContext) -> BaseTool:
    """Entry point `codx.tools: transcribe_audio`. Not offered (the registry skips it, saying why) when the
    context names no models folder: without one there are no weights to transcribe with."""
    models_dir = ctx.models_dir
    if models_dir is None:
        raise ToolError("no models folder is configured for tools, so there is no speech model to transcribe with")
    loaded: list[Transcriber] = []
    lock = threading.Lock()  # one model, one transcription at a time

    def transcriber() -> Transcriber:
        if not loaded:
            try:
                loaded.append(Transcriber.load(models_dir, default_speech_model(models_dir)))
            except SpeechModelError as exc:
                raise ToolError(str(exc)) from exc
        return loaded[0]

    def transcribe_audio(path: str, language: str | None = None) -> str:
        target = resolve_in_workdir(ctx.workdir, path)
        try:
            audio = decode_audio(target)
        except AudioError as exc:
            raise ToolError(str(exc).replace(str(target), path)) from exc
        with lock:
            try:
                result = transcriber().transcribe(audio, language=language)
            except AudioError as exc:
                raise ToolError(str(exc)) from exc
        out = target.relative_to(ctx.workdir).with_suffix(".json")
        saved = ctx.workdir / "transcripts" / out.name
        saved.parent.mkdir(parents=True, exist_ok=True)
        saved.write_text(result.model_dump_json(indent=2))
        return compact(result, str(saved.relative_to(ctx.workdir)))

    return StructuredTool.from_function(
        func=transcribe_audio,
        name=NAME,
        description=(
            "Transcribe a speech recording (WAV, FLAC, OGG, MP3 or AIFF, up to 10 minutes) from the tool folder. "
            "Returns JSON: text, language, confidence (0-1), duration_s, segments with start/end seconds."
        ),
        args_schema=TranscribeArgs,
    )
