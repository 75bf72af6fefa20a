"""`codx bench lm-speed`: how fast each language-model base reads and writes tokens on this machine."""

from __future__ import annotations

from pathlib import Path

import click

from codx.settings import Settings


@click.command("lm-speed")
@click.option(
    "--models",
    default="smollm2-135m-instruct,gemma-3-270m",
    show_default=True,
    help="Comma-separated codx language model names (converted first when needed) or converted folders.",
)
@click.option("--prompt-tokens", default=128, show_default=True, type=click.IntRange(min=1), help="Prompt length.")
@click.option("--new-tokens", default=64, show_default=True, type=click.IntRange(min=1), help="Tokens generated.")
@click.option("--repeats", default=3, show_default=True, type=click.IntRange(min=1), help="Timed runs (median).")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="JSON report to write.")
@click.pass_obj
def bench_lm_speed(
    settings: Settings, models: str, prompt_tokens: int, new_tokens: int, repeats: int, out: Path
) -> None:
    """Tokens per second of prompt processing and of generation (greedy, KV cache, float32, CPU), separately,
    with `CODX_THREADS` threads (default 1); plus load time and an end-to-end chat answer."""
    from codx.bench.lm_speed import run_lm_speed
    from codx.bench.report import print_table, write_report
    from codx.cli.main import progress_bar

    names = [m.strip() for m in models.split(",") if m.strip()]
    with progress_bar("lm speed") as update:
        summary, cases = run_lm_speed(
            settings.models_dir,
            names,
            prompt_tokens=prompt_tokens,
            new_tokens=new_tokens,
            repeats=repeats,
            progress=update,
        )
    write_report(out, summary, cases)
    rows: list[tuple[str, object]] = [
        ("machine", f"{summary['processor'] or summary['machine']} ({summary['cpu_count']} cores)"),
        ("torch threads", summary["torch_threads"]),
        ("torch / transformers", f"{summary['torch']} / {summary['transformers']}"),
    ]
    for name, r in summary["models"].items():
        rows += [
            (f"{name} prompt tokens/s ({r['prompt_tokens']} tokens)", f"{r['prompt_tokens_per_s']:.1f}"),
            (f"{name} generation tokens/s ({r['new_tokens']} tokens)", f"{r['generation_tokens_per_s']:.1f}"),
            (f"{name} chat answer tokens/s (end to end)", f"{r['chat_tokens_per_s'] or 0:.1f}"),
            (f"{name} load s", f"{r['load_s']:.1f}"),
            (f"{name} conversion s (once)", "-" if r["conversion_s"] is None else f"{r['conversion_s']:.0f}"),
        ]
    print_table(f"language model speed ({summary['torch_threads']} thread(s), median of {repeats})", rows)
    click.echo(f"wrote {out}")
