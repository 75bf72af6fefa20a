"""`codx serve MODEL`: a language model behind an OpenAI-compatible HTTP API."""

from __future__ import annotations

import click

from codx.settings import Settings


@click.command("serve")
@click.argument("model")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every one).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on.")
@click.option(
    "--max-new-tokens",
    default=512,
    show_default=True,
    type=click.IntRange(min=1),
    help="Most tokens one answer may have (and the default when a request does not say).",
)
@click.pass_obj
def serve_cmd(settings: Settings, model: str, host: str, port: int, max_new_tokens: int) -> None:
    """Serve MODEL (a codx language model name, converted on first use, or a converted folder) at
    http://HOST:PORT/v1: GET /v1/models and POST /v1/chat/completions (streaming too), one answer at a time.
    Point any OpenAI client at it, e.g. CODX_LLM=openai:http://127.0.0.1:8000/v1. Ctrl-C stops it."""
    from codx.cli.main import console, progress_bar
    from codx.models.lm.convert import resolve_lm
    from codx.models.lm.generate import LocalLM
    from codx.models.lm.server import serve

    with progress_bar(f"loading {model}") as progress:
        path = resolve_lm(settings.models_dir, model, progress)
        progress("loading the weights", 0.97)
        lm = LocalLM.load(path)
        progress("ready", 1.0)
    for note in lm.notes:
        console.print(f"[yellow]note:[/] {note}")
    console.print(
        f"serving [bold]{lm.name}[/] at http://{host}:{port}/v1 (OpenAI-compatible; model {lm.name!r}, "
        f"at most {max_new_tokens} new tokens per answer, {settings.threads} thread(s))"
    )
    serve(lm, host, port, max_new_tokens=max_new_tokens)
