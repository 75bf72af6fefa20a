"""`codx bench asr`: WER, medical-term WER and real-time factor of the Whisper models codx has."""

from __future__ import annotations

from pathlib import Path

import click

from codx.settings import Settings


def _names(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


@click.command("asr")
@click.option(
    "--models",
    default="tiny.en,base,codx-medical-base",
    show_default=True,
    help="Comma-separated: tiny.en, base, codx-medical-base (skipped, with the reason, when not trained).",
)
@click.option(
    "--sets",
    default="real,medical,multilingual",
    show_default=True,
    help="Comma-separated: real (a 44 s reading), medical (held-out synthetic clinic speech), multilingual.",
)
@click.option("--limit", type=int, default=None, help="Only the first N utterances of each set (smoke runs).")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="JSON report to write.")
@click.pass_obj
def bench_asr(settings: Settings, models: str, sets: str, limit: int | None, out: Path) -> None:
    """Speech recognition with the language given: corpus WER, medical-term WER and real-time factor."""
    from codx.bench.asr import run_asr_bench
    from codx.bench.report import print_table, write_report
    from codx.cli.main import progress_bar

    with progress_bar("asr") as update:
        summary, records = run_asr_bench(
            settings.models_dir, settings.data_dir, _names(models), _names(sets), limit=limit, progress=update
        )
    write_report(out, summary, records)

    def pct(v: float | None) -> str:
        return "-" if v is None else f"{100 * v:.1f}%"

    rows: list[tuple[str, object]] = []
    for model, by_set in summary["results"].items():
        for name, r in by_set.items():
            rtf = "-" if r["rtf"] is None else f"{r['rtf']:.3f}"
            rows.append(
                (
                    f"{model} / {name}",
                    f"WER {pct(r['wer'])}  term WER {pct(r['term_wer'])}  RTF {rtf}  n {r['n']}",
                )
            )
            for lang, lr in r.get("by_language", {}).items():
                unit = "CER" if lr["unit"] == "characters" else "WER"
                rows.append((f"{model} / {name} / {lang}", f"{unit} {pct(lr['wer'])}  n {lr['n']}"))
    for key in ("term_wer_reduction_vs_base", "medical_wer_reduction_vs_base"):
        if summary.get(key) is not None:
            rows.append((f"{key.replace('_', ' ')}", pct(summary[key])))
    if summary.get("real_wer_change_points_vs_base") is not None:
        rows.append(("real WER change vs base (points)", f"{summary['real_wer_change_points_vs_base']:+.2f}"))
    rows += [(f"skipped {k}", v) for k, v in summary["skipped"].items()]
    rows.append(("machine", f"{summary['processor'] or summary['machine']} ({summary['machine']})"))
    rows.append(("torch threads", summary["torch_threads"]))
    print_table("asr (language given)", rows)
    click.echo(f"wrote {out}")
