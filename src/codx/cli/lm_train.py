"""`codx train lm`: the HuatuoGPT-II one-stage medical adaptation of a chat language model.

One process:              codx train lm --base smollm2-135m-instruct --steps 300
Several (DDP or FSDP):    torchrun --nproc_per_node 2 -m codx.cli.main train lm --base DIR --parallel ddp ...
(`torchrun` starts `python -m codx.cli.main` once per rank; every rank runs this same command, rank 0 alone
prints and saves. Under torchrun `--parallel` defaults to ddp.)
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from codx.errors import CodxError
from codx.settings import Settings


def resolve_base(base: str, models_dir: Path) -> Path:
    """A transformers folder as given, or a codx model name converted by `codx.models.lm.convert`."""
    path = Path(base).expanduser()
    if path.is_dir():
        return path
    if os.sep in base or base.startswith((".", "~")):
        raise CodxError(f"--base {base}: no such folder; give a transformers model folder or a codx model name")
    try:
        from codx.models.lm.convert import ensure_lm  # type: ignore[import-not-found]
    except ImportError as e:
        raise CodxError(
            f"--base {base}: no such folder, and this codx has no converter for named language models; "
            "give a transformers model folder"
        ) from e
    return Path(ensure_lm(models_dir, base))


def _priorities(values: tuple[str, ...]) -> dict[str, float]:
    out = {}
    for v in values:
        source, sep, weight = v.partition("=")
        try:
            out[source.strip()] = float(weight)
        except ValueError:
            sep = ""
        if not sep or not source.strip():
            raise click.BadParameter(f"{v!r}: write SOURCE=WEIGHT, e.g. common-qa=2", param_hint="--priority")
    return out


@click.command("lm")
@click.option("--base", required=True, help="A transformers model folder, or a codx name (smollm2-135m-instruct).")
@click.option(
    "--data",
    "data",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSONL training data (kinds text / instruction / dialogue, see codx/training/lm_data.py); repeatable.",
)
@click.option("--builtin/--no-builtin", default=True, show_default=True, help="Add codx's own sources.")
@click.option(
    "--hpo",
    type=click.Choice(["common", "all", "none"]),
    default="common",
    show_default=True,
    help="HPO definitions among the built-in sources: of the terms the common pack uses, all, or none.",
)
@click.option("--mode", type=click.Choice(["full", "lora"]), default="lora", show_default=True)
@click.option("--steps", type=int, default=None, help="Optimizer steps [default: --epochs over the data].")
@click.option("--epochs", type=float, default=1.0, show_default=True)
@click.option("--block-size", type=int, default=256, show_default=True, help="Tokens per packed block.")
@click.option("--batch-size", type=int, default=4, show_default=True, help="Blocks per micro-batch and rank.")
@click.option("--grad-accum", type=int, default=1, show_default=True, help="Micro-batches per step.")
@click.option("--lr", type=float, default=None, help="Peak learning rate [default: 2e-4 LoRA, 2e-5 full].")
@click.option("--lora-rank", type=int, default=16, show_default=True, help="LoRA rank (alpha is twice it).")
@click.option("--lora-dropout", type=float, default=0.05, show_default=True)
@click.option("--priority", "priority", multiple=True, help="SOURCE=WEIGHT: the priority of a source (repeatable).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None, help="Output folder.")
@click.option("--name", default=None, help="Model name [default: <base>-medical]; the default --out uses it.")
@click.option(
    "--parallel",
    type=click.Choice(["none", "ddp", "fsdp"]),
    default=None,
    help="Under torchrun: ddp (default) or fsdp; none for one process.",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.pass_obj
def train_lm_cmd(
    settings: Settings,
    base: str,
    data: tuple[Path, ...],
    builtin: bool,
    hpo: str,
    mode: str,
    steps: int | None,
    epochs: float,
    block_size: int,
    batch_size: int,
    grad_accum: int,
    lr: float | None,
    lora_rank: int,
    lora_dropout: float,
    priority: tuple[str, ...],
    out: Path | None,
    name: str | None,
    parallel: str | None,
    seed: int,
) -> None:
    """Adapt a chat language model to medicine in one stage (HuatuoGPT-II): domain text and instructions in
    one format, priority-sampled (text first), packed, loss on answers only; LoRA (merged on save) or full."""
    import torch

    from codx.cli.main import progress_bar
    from codx.training import lm_dist
    from codx.training.lm import LMTrainConfig, card_summary, train_lm
    from codx.training.lm_data import builtin_sources, load_sources

    world, _, _ = lm_dist.launched_world()
    parallel = parallel or ("ddp" if world > 1 else "none")
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", str(world)))
    threads = os.environ.get("OMP_NUM_THREADS")  # torchrun sets it (1 per rank); a user may too
    cores = (os.cpu_count() or 1) // max(1, local_world)
    torch.set_num_threads(int(threads) if threads and threads.isdigit() else max(settings.threads, cores))
    priorities = _priorities(priority)
    examples = builtin_sources(hpo) if builtin else []  # type: ignore[arg-type]
    if data:
        examples += load_sources(data, priorities)
    if not examples:
        raise CodxError("no training data: drop --no-builtin or give --data FILE.jsonl")

    env = lm_dist.start(parallel)  # type: ignore[arg-type]
    try:
        if env.main:  # a named base is converted once, by rank 0, before the others look
            base_dir = resolve_base(base, settings.models_dir)
        lm_dist.barrier(env)
        if not env.main:
            base_dir = resolve_base(base, settings.models_dir)
        model_name = name or f"{base_dir.name if Path(base).expanduser().is_dir() else base}-medical"
        out_dir = out or settings.models_dir / "lm" / model_name
        config = LMTrainConfig(
            base=str(base_dir),
            block_size=block_size,
            batch_size=batch_size,
            grad_accum=grad_accum,
            lr=lr,
            steps=steps,
            epochs=epochs,
            mode=mode,  # type: ignore[arg-type]
            lora_rank=lora_rank,
            lora_alpha=2 * lora_rank,
            lora_dropout=lora_dropout,
            priorities=priorities,
            parallel=parallel,  # type: ignore[arg-type]
            seed=seed,
            name=model_name,
        )
        if env.main:
            click.echo(f"training {model_name} on {len(examples)} examples, {env.world} process(es), {env.device}")
            with progress_bar("codx train lm") as update:
                result = train_lm(config, examples, out_dir, update)
        else:
            result = train_lm(config, examples, out_dir)
    finally:
        lm_dist.stop(env)
    if env.main:
        click.echo(card_summary(result.card))
        click.echo(f"saved {result.path} (card.json holds the loss curve, data and parameters)")
