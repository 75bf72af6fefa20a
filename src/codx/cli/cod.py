"""`codx train synth-cod` and `codx bench cod`: Chain-of-Diagnosis dialogues from the diagnosis model, a small
language model fine-tuned to phrase them, and how faithfully models do (numbers, the question's finding)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from codx.settings import Settings

if TYPE_CHECKING:
    from codx.training.cod_synth import CodDialogue

DEFAULT_FILE = Path("corpora") / "cod-synth.jsonl"  # under the data directory


def _default_file(settings: Settings) -> Path:
    return settings.data_dir / DEFAULT_FILE


@click.command("synth-cod")
@click.option("--n", "n", default=300, show_default=True, type=click.IntRange(min=1), help="Simulated patients.")
@click.option("--pack", "packs", multiple=True, help="Pack name (repeat) [default: CODX_PACKS, common + hpo].")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="JSONL to write.")
@click.option("--seed", default=0, show_default=True)
@click.option("--held-out", default=0.1, show_default=True, type=click.FloatRange(0.0, 0.9), help="Share of cases.")
@click.option(
    "--dialogues",
    "reuse",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Fine-tune on dialogues written earlier (their train split) instead of simulating new ones.",
)
@click.option("--finetune", is_flag=True, help="Then fine-tune SmolLM2-135M-Instruct (LoRA) on the train split.")
@click.option("--base", default="smollm2-135m-instruct", show_default=True, help="Language model to fine-tune.")
@click.option("--name", default="codx-cod-smollm2", show_default=True, help="Fine-tuned model's name (models/lm/).")
@click.option("--steps", default=300, show_default=True, type=click.IntRange(min=1), help="Optimizer steps.")
@click.option("--batch-size", default=4, show_default=True, type=click.IntRange(min=1), help="Blocks per step.")
@click.option("--block-size", default=None, type=int, help="Tokens per block [default: the longest example].")
@click.option("--lr", type=float, default=None, help="Peak learning rate [default: 2e-4, LoRA].")
@click.option(
    "--turns-per-dialogue",
    default=4,
    show_default=True,
    type=click.IntRange(min=1),
    help="Training turns taken from each dialogue (first, last, evenly between).",
)
@click.pass_obj
def synth_cod_cmd(
    settings: Settings,
    n: int,
    packs: tuple[str, ...],
    out: Path | None,
    seed: int,
    held_out: float,
    reuse: Path | None,
    finetune: bool,
    base: str,
    name: str,
    steps: int,
    batch_size: int,
    block_size: int | None,
    lr: float | None,
    turns_per_dialogue: int,
) -> None:
    """Simulate consultations of the diagnosis model and write every turn's five-step Chain of Diagnosis (the
    model's own numbers) to JSONL; with --finetune, teach a small language model to phrase them."""
    if reuse is not None:
        if not finetune:
            raise click.UsageError("--dialogues reuses written dialogues for --finetune; add --finetune")
        from codx.training.cod_synth import read_dialogues

        train = [d for d in read_dialogues(reuse) if d.split != "held_out"]
        click.echo(f"read {reuse}: {len(train)} train dialogues")
    else:
        train = _simulate(settings, packs, n, seed, held_out, out)
    if finetune:
        options = {"base": base, "name": name, "steps": steps, "batch_size": batch_size, "block_size": block_size}
        options |= {"lr": lr, "turns_per_dialogue": turns_per_dialogue, "seed": seed}
        _finetune(settings, train, options)


def _simulate(
    settings: Settings, packs: tuple[str, ...], n: int, seed: int, held_out: float, out: Path | None
) -> list[CodDialogue]:
    """Write the dialogues; return the train split."""
    import collections

    from codx.bootstrap import ensure_model
    from codx.cli.main import progress_bar
    from codx.models.diagnosis.inquiry import StopRule
    from codx.training.cod_synth import split_by_case, synthesize_cod, write_dialogues

    names = list(packs) or list(settings.packs)
    with progress_bar("loading the diagnosis model") as update:
        model = ensure_model(settings, names, progress=update)
    rule = StopRule(tau=settings.tau, max_questions=settings.max_questions, min_gain=settings.min_gain)
    with progress_bar("simulating consultations") as update:
        dialogues = synthesize_cod(model, n, seed=seed, progress=update, rule=rule)
    train, held = split_by_case(dialogues, held_out, seed)
    path = write_dialogues(out or _default_file(settings), train + held)
    turns = [t for d in dialogues for t in d.turns]
    reasons = collections.Counter(t.reason for t in turns)
    click.echo(
        f"wrote {path}: {len(dialogues)} dialogues ({len(train)} train, {len(held)} held out), {len(turns)} turns "
        f"({', '.join(f'{k} {v}' for k, v in sorted(reasons.items()))})"
    )
    return train


def _finetune(settings: Settings, train: list[CodDialogue], options: dict[str, Any]) -> None:
    """`finetune_cod` on the train split with the command's options, and what it did."""
    import torch

    from codx.cli.main import progress_bar
    from codx.training.cod_finetune import finetune_cod
    from codx.training.lm import card_summary

    torch.set_num_threads(max(settings.threads, os.cpu_count() or 1))
    with progress_bar(f"fine-tuning {options['name']}") as update:
        result = finetune_cod(train, settings.models_dir, progress=update, **options)
    click.echo(card_summary(result.card))
    click.echo(f"saved {result.path}; use it with CODX_LLM={options['name']}, or measure it with `codx bench cod`")


@click.command("cod")
@click.option(
    "--dialogues",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Dialogues from `codx train synth-cod` (their held-out cases are used) [default: the data directory's].",
)
@click.option(
    "--models",
    default="smollm2-135m-instruct,codx-cod-smollm2",
    show_default=True,
    help="Comma-separated language models: codx names, models in models/lm/, or folders.",
)
@click.option("--limit", default=30, show_default=True, type=click.IntRange(min=1), help="Held-out dialogues used.")
@click.option("--max-new-tokens", default=384, show_default=True, type=click.IntRange(min=16))
@click.option("--seed", default=0, show_default=True, help="Which turn of each dialogue is asked.")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="JSON report to write.")
@click.pass_obj
def bench_cod_cmd(
    settings: Settings,
    dialogues: Path | None,
    models: str,
    limit: int,
    max_new_tokens: int,
    seed: int,
    out: Path,
) -> None:
    """How faithfully language models write the Chain of Diagnosis on held-out synthetic dialogues: does the
    question name the finding the inquiry chose, are all numbers the diagnosis model's, tokens per second."""
    from codx.bench.cod import run_cod_bench
    from codx.bench.report import print_table, write_report
    from codx.cli.main import progress_bar
    from codx.training.cod_synth import read_dialogues

    loaded = read_dialogues(dialogues or _default_file(settings))
    specs = [m.strip() for m in models.split(",") if m.strip()]
    with progress_bar("bench cod") as update:
        summary, cases = run_cod_bench(
            settings.models_dir, loaded, specs, limit=limit, max_new_tokens=max_new_tokens, seed=seed, progress=update
        )
    write_report(out, summary, cases)
    scored = summary["models"]["reference"]["turns"]
    rows: list[tuple[str, object]] = [
        ("held-out dialogues (turns scored, one each)", f"{summary['dialogues']} ({scored})")
    ]
    for name, r in summary["models"].items():
        rows += [
            (f"{name}: question names the chosen finding ({r['ask_turns']} asking turns)", r["names_finding_rate"]),
            (f"{name}: numbers pass the check ({r['turns']} texts)", r["numbers_ok_rate"]),
            (f"{name}: texts that write numbers", r["numbers_written_rate"]),
            (f"{name}: all five steps", r["five_steps_rate"]),
            (f"{name}: names every finding it was given", r["findings_named_rate"]),
            (f"{name}: threshold claim agrees ({r['threshold_claims']} claims)", r["threshold_claim_ok_rate"]),
            (f"{name}: steps 1-5 equal the reference", " / ".join(f"{v:.2f}" for v in r["step_equals_reference_rate"])),
        ]
        if "tokens_per_s" in r:
            rows.append((f"{name}: tokens/s (mean {r['mean_new_tokens']} new tokens)", r["tokens_per_s"]))
    print_table(f"Chain-of-Diagnosis phrasing ({summary['torch_threads']} thread(s))", rows)
    click.echo(f"wrote {out}")
