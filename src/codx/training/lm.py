"""`codx train lm`: HuatuoGPT-II's one-stage medical adaptation of a chat language model.

Why one stage: HuatuoGPT-II (Chen et al., 2023) showed that continued pre-training on domain text followed by
instruction tuning can be replaced by a single stage on a mixture of both, once every source is in the same
input -> output format and the mixture is ordered by priority sampling (domain text early, instructions and
dialogues towards the end). One stage is simpler, and the model never drifts away from its chat format.

Recipe (the data side is in `lm_data`):
- examples from the built-in sources (common pack, HPO definitions) and user JSONL files, in one format;
- each epoch: a priority-sampled order (Efraimidis-Spirakis), tokenised in the base's chat template with the
  loss on outputs only, packed into blocks of `block_size` tokens with attention kept inside each example;
- AdamW, linear warm-up then linear decay, gradient clipping; the loss of a step is the mean over all output
  tokens of the step on all ranks (token-weighted, so ranks and micro-batches count by what they hold);
- `mode="full"` trains every weight; `mode="lora"` trains LoRA adapters (`peft`) on the attention and MLP
  projections and saves the base with the adapters MERGED in (a plain transformers folder that loads with
  `AutoModelForCausalLM.from_pretrained`, no peft needed to serve it), plus the adapter alone in `adapter/`.

The same function runs on one CPU and under `torchrun` (DDP or FSDP2; `lm_dist`): rank r of W trains on the
blocks r, r+W, r+2W, ... of the one priority-ordered stream, so the curriculum is kept across ranks; only rank 0
logs and saves. CUDA is used when present (bf16 autocast), otherwise fp32 on CPU. The model card (`card.json`)
is written last: a folder without it is not a finished model.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F

from codx.errors import CodxError
from codx.models.language.encoder import _quiet_transformers
from codx.models.storage import replace_folder
from codx.progress import Progress
from codx.training import lm_dist
from codx.training.lm_data import (
    IGNORE,
    KIND_PRIORITY,
    LMExample,
    PackedBlocks,
    TokenizedExample,
    apply_priorities,
    describe,
    pack_examples,
    priority_order,
    tokenize_examples,
)
from codx.training.lm_dist import DistEnv, Parallel
from codx.training.lm_pack import has_chat_template

CARD = "card.json"
CARD_FORMAT = "codx-lm-card-1"
#: tells a trained model's card from a converted base's (`codx.models.lm.convert.LMCard`, kind "language model")
CARD_KIND = "fine-tuned language model"
ADAPTER_DIR = "adapter"
LLAMA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
RECIPE = (
    "HuatuoGPT-II one-stage adaptation (Chen et al., 2023): text passages, instructions and dialogues in one "
    "input -> output chat format; priority sampling without replacement (Efraimidis-Spirakis keys u^(1/w)); "
    "packed blocks, attention within examples, loss on outputs only; AdamW, linear warm-up and decay"
)


@dataclass(frozen=True)
class LMTrainConfig:
    """`base` is a transformers folder (weights, config, tokenizer). A step is `grad_accum` micro-batches of
    `batch_size` blocks on every rank. `steps` wins over `epochs` when given."""

    base: str
    block_size: int = 256
    batch_size: int = 4
    grad_accum: int = 1
    lr: float | None = None  # None: 2e-4 with LoRA, 2e-5 for a full fine-tune
    steps: int | None = None
    epochs: float = 1.0
    warmup: float = 0.05  # share of steps with a linearly rising learning rate
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    mode: Literal["full", "lora"] = "lora"
    lora_rank: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    lora_targets: tuple[str, ...] = LLAMA_TARGETS
    mask_examples: bool = True  # attention stays within each packed example
    system: str | None = None  # a system message in every example (None: the chat template's default)
    priorities: Mapping[str, float] = field(default_factory=dict)  # source -> priority (overrides the kind's)
    parallel: Parallel = "none"
    probe_blocks: int = 8  # blocks scored before and after training (half from each end of the first epoch)
    seed: int = 0
    name: str | None = None  # the trained model's name in its card (default: the output folder's name)
    base_license: str | None = None  # default: read from the base folder's card, manifest or README

    @property
    def learning_rate(self) -> float:
        if self.lr is not None:
            return self.lr
        return 2e-4 if self.mode == "lora" else 2e-5

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["priorities"] = dict(self.priorities)
        out["lora_targets"] = list(self.lora_targets)
        out["learning_rate"] = self.learning_rate
        return out

    def check(self) -> None:
        problems = []
        if self.block_size < 8:
            problems.append(f"block_size {self.block_size} < 8 tokens")
        if self.batch_size < 1 or self.grad_accum < 1:
            problems.append("batch_size and grad_accum must be at least 1")
        if self.steps is not None and self.steps < 1:
            problems.append(f"steps {self.steps} < 1")
        if self.steps is None and not self.epochs > 0:
            problems.append(f"epochs {self.epochs} must be positive")
        if self.mode not in ("full", "lora"):
            problems.append(f"mode {self.mode!r} is not full or lora")
        if self.parallel not in ("none", "ddp", "fsdp"):
            problems.append(f"parallel {self.parallel!r} is not none, ddp or fsdp")
        if problems:
            raise CodxError("bad training settings: " + "; ".join(problems))


@dataclass
class LMTrainResult:
    path: Path
    card: dict
    #: the trained module at rank 0 (PEFT-wrapped with LoRA, before merging), None on other ranks
    model: Any = field(default=None, repr=False)


# ---------------------------------------------------------------------------------------------- loading


def load_base(path: Path, dtype: torch.dtype = torch.float32) -> tuple[Any, Any]:
    """(model, tokenizer) of a transformers folder, from disk only."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if not (path / "config.json").is_file():
        raise CodxError(
            f"{path} is not a transformers model folder (no config.json); give a folder saved with "
            "save_pretrained, or a codx model name (codx models ...)"
        )
    try:
        with _quiet_transformers():
            tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
            model = AutoModelForCausalLM.from_pretrained(str(path), local_files_only=True, dtype=dtype)
    except Exception as e:  # noqa: BLE001 - any loading failure means an unusable folder
        raise CodxError(f"cannot load the base model from {path} ({e}); convert or download it again") from e
    return model, tokenizer


def add_lora(model: Any, cfg: LMTrainConfig) -> Any:
    from peft import LoraConfig, get_peft_model

    lora = LoraConfig(
        r=cfg.lora_rank,
        lora_alpha=cfg.lora_alpha,
        lora_dropout=cfg.lora_dropout,
        target_modules=list(cfg.lora_targets),
        task_type="CAUSAL_LM",
    )
    try:
        with warnings.catch_warnings():  # peft 0.21 calls a transformers 5 method that now warns it is renamed
            warnings.simplefilter("ignore", FutureWarning)
            return get_peft_model(model, lora)
    except ValueError as e:
        raise CodxError(f"LoRA cannot be added ({e}); name the model's projection layers in lora_targets") from e


def _saved_dtype(path: Path) -> str:
    """The dtype the base was saved in (its config.json), so the trained model is saved the same way."""
    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "float32"
    value = config.get("dtype") or config.get("torch_dtype") or "float32"
    return value if value in ("float32", "bfloat16", "float16") else "float32"


def _base_info(path: Path, override: str | None) -> dict[str, str]:
    """Name and licence of the base, from a card or manifest JSON in its folder, else its README front matter."""
    info = {"name": path.name, "license": override or ""}
    for fname in ("card.json", "manifest.json", "codx.json", "MODEL_CARD.json"):
        try:
            data = json.loads((path / fname).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict):
            info["name"] = str(data.get("name") or info["name"])
            lic = data.get("license")
            if not info["license"] and lic:
                info["license"] = str(lic.get("name", lic) if isinstance(lic, dict) else lic)
    readme = path / "README.md"
    if not info["license"] and readme.is_file():
        for line in readme.read_text(encoding="utf-8", errors="replace").splitlines()[:40]:
            if line.strip().lower().startswith("license:"):
                info["license"] = line.split(":", 1)[1].strip()
                break
    info["license"] = info["license"] or "unknown: see the base model's own licence"
    return info


# ---------------------------------------------------------------------------------------------- the stream


class BlockStream:
    """Epoch after epoch of packed blocks in priority order. The blocks of all epochs form one global stream;
    rank r of W takes its positions r, r+W, r+2W, ... (no rank sees a block twice, the order is kept, and a
    step's blocks on all ranks are neighbours in the curriculum). Every rank computes the same orders (seeded
    by (seed, epoch)), so nothing is sent between ranks."""

    def __init__(
        self,
        examples: Sequence[LMExample],
        tokenized: Sequence[TokenizedExample],
        cfg: LMTrainConfig,
        pad_id: int,
        env: DistEnv,
    ):
        self.examples, self.tokenized, self.cfg, self.pad_id = examples, tokenized, cfg, pad_id
        self.stride = env.world
        self.epoch = 0
        self.blocks = self.epoch_blocks(0)
        self.position = env.rank
        self.blocks_per_epoch = len(self.blocks)  # the same every epoch: only the last block is padded

    def epoch_blocks(self, epoch: int) -> PackedBlocks:
        order = priority_order(self.examples, np.random.default_rng([self.cfg.seed, epoch]))
        return pack_examples(self.tokenized, order, self.cfg.block_size, self.pad_id, self.cfg.mask_examples)

    @property
    def epochs_done(self) -> float:
        return self.epoch + self.position / self.blocks_per_epoch

    def take(self, n: int) -> PackedBlocks:
        """This rank's next `n` blocks."""
        parts = []
        for _ in range(n):
            while self.position >= len(self.blocks):
                self.position -= len(self.blocks)
                self.epoch += 1
                self.blocks = self.epoch_blocks(self.epoch)
            parts.append(self.blocks.rows([self.position]))
            self.position += self.stride
        return PackedBlocks.concat(parts)


def _tensors(blocks: PackedBlocks, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    as_t = lambda a: torch.from_numpy(np.ascontiguousarray(a)).to(device)  # noqa: E731
    return as_t(blocks.input_ids), as_t(blocks.labels), as_t(blocks.position_ids)


def _loss_sum(model: torch.nn.Module, blocks: PackedBlocks, env: DistEnv) -> tuple[torch.Tensor, int]:
    """Summed cross-entropy over the output tokens of `blocks` and their count (logit t predicts label t+1)."""
    ids, labels, positions = _tensors(blocks, env.device)
    with lm_dist.autocast(env):
        logits = model(input_ids=ids, position_ids=positions, use_cache=False).logits
    targets = labels[:, 1:]
    loss = F.cross_entropy(
        logits[:, :-1].float().reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=IGNORE, reduction="sum"
    )
    return loss, int((targets != IGNORE).sum())


def probe_loss(model: torch.nn.Module, blocks: PackedBlocks | None, env: DistEnv) -> float | None:
    """Mean loss per output token over fixed blocks (every rank scores the same blocks; FSDP needs them all)."""
    if blocks is None or not len(blocks):
        return None
    model.eval()
    with torch.no_grad():
        total, count = 0.0, 0
        for start in range(0, len(blocks), 4):
            s, n = _loss_sum(model, blocks.rows(slice(start, start + 4)), env)
            total, count = total + float(s), count + n
    model.train()
    return round(total / max(count, 1), 4)


def _probe_blocks(stream: BlockStream, n: int) -> PackedBlocks | None:
    """`n` blocks of the first epoch: half from its start (domain text), half from its end (instructions)."""
    if n <= 0:
        return None
    blocks = stream.epoch_blocks(0)
    k = len(blocks)
    rows = sorted(set(list(range(min(k, (n + 1) // 2))) + list(range(max(0, k - n // 2), k))))
    return blocks.rows(rows)


# ---------------------------------------------------------------------------------------------- training


def _total_steps(cfg: LMTrainConfig, blocks_per_epoch: int, world: int) -> int:
    if cfg.steps is not None:
        return cfg.steps
    per_step = cfg.batch_size * cfg.grad_accum * world
    return max(1, int(np.ceil(cfg.epochs * blocks_per_epoch / per_step)))


def _kind_share(blocks: PackedBlocks, kinds: np.ndarray) -> dict[str, float]:
    """Share of the output tokens of `blocks` by kind of example."""
    targets = blocks.labels != IGNORE
    ex = blocks.example[targets]
    if not len(ex):
        return {}
    names, counts = np.unique(kinds[ex], return_counts=True)
    return {str(k): round(float(c) / len(ex), 3) for k, c in zip(names, counts, strict=True)}


def train_lm(
    config: LMTrainConfig,
    examples: Sequence[LMExample],
    out_dir: Path,
    progress: Progress | None = None,
) -> LMTrainResult:
    """Adapt `config.base` on `examples` and save it to `out_dir` (transformers folder + tokenizer + card.json).
    Runs as one process, or as every rank of a torchrun job (then call it on every rank with the same
    arguments); the result's card is the same on every rank, its model is rank 0's."""
    config.check()
    if not examples:
        raise CodxError("no training examples; use the built-in sources or give --data FILE.jsonl")
    started = time.perf_counter()
    env = lm_dist.start(config.parallel)
    try:
        return _train(config, list(examples), Path(out_dir), progress, env, started)
    finally:
        lm_dist.stop(env)


def _train(
    cfg: LMTrainConfig,
    examples: list[LMExample],
    out_dir: Path,
    progress: Progress | None,
    env: DistEnv,
    started: float,
) -> LMTrainResult:
    report = progress if env.main else None
    base = Path(cfg.base)
    torch.manual_seed(cfg.seed)
    examples = apply_priorities(examples, cfg.priorities)
    model, tokenizer = load_base(base)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    if pad_id is None:
        raise CodxError(f"the tokenizer of {base} has neither a pad nor an end-of-sequence token; set one")
    if report:
        report("tokenising", 0.0)
    tokenized = tokenize_examples(tokenizer, examples, cfg.system)
    kinds = np.array([e.kind for e in examples])
    stream = BlockStream(examples, tokenized, cfg, int(pad_id), env)
    probe = _probe_blocks(stream, cfg.probe_blocks)
    steps = _total_steps(cfg, stream.blocks_per_epoch, env.world)

    if cfg.mode == "lora":
        model = add_lora(model, cfg)
    model.to(env.device)
    model.train()
    trainable_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    all_params = sum(p.numel() for p in model.parameters())
    wrapped = lm_dist.wrap(model, env)
    opt = torch.optim.AdamW(
        [p for p in wrapped.parameters() if p.requires_grad], lr=cfg.learning_rate, weight_decay=cfg.weight_decay
    )
    warm = max(1, int(cfg.warmup * steps))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / max(1, steps - warm)))
    )
    probe_before = probe_loss(wrapped, probe, env)

    losses: list[float] = []
    shares: list[dict[str, float]] = []
    train_started = time.perf_counter()
    for step in range(steps):
        micro = [stream.take(cfg.batch_size) for _ in range(cfg.grad_accum)]
        count = lm_dist.total(sum(int((m.labels[:, 1:] != IGNORE).sum()) for m in micro), env)
        step_sum = 0.0
        for i, blocks in enumerate(micro):
            with lm_dist.gradient_sync(wrapped, env, sync=i == len(micro) - 1):
                loss_sum, _ = _loss_sum(wrapped, blocks, env)
                # ranks' gradients are averaged by DDP/FSDP: scale so the result is the token-weighted mean
                (loss_sum * env.world / max(count, 1.0)).backward()
            step_sum += float(loss_sum.detach())
        if cfg.max_grad_norm > 0:
            torch.nn.utils.clip_grad_norm_([p for p in wrapped.parameters() if p.requires_grad], cfg.max_grad_norm)
        opt.step()
        schedule.step()
        opt.zero_grad(set_to_none=True)
        losses.append(round(lm_dist.total(step_sum, env) / max(count, 1.0), 4))
        shares.append(_kind_share(PackedBlocks.concat(micro), kinds))
        if report:
            recent = float(np.mean(losses[-10:]))
            report(f"step {step + 1}/{steps}, loss {recent:.3f}", (step + 1) / steps)
    train_seconds = time.perf_counter() - train_started
    probe_after = probe_loss(wrapped, probe, env)

    trained = _trained_copy(wrapped, model, cfg, env)
    total_tokens = sum(len(t.ids) for t in tokenized)
    output_tokens = sum(len(t.ids) - t.n_input for t in tokenized)
    info = _base_info(base, cfg.base_license)
    name = cfg.name or out_dir.name
    card: dict[str, Any] = {
        "format": CARD_FORMAT,
        "kind": CARD_KIND,
        "name": name,
        "task": "medical adaptation of a chat language model (causal LM, English)",
        "base": {"path": str(base), "name": info["name"], "license": info["license"], "dtype": _saved_dtype(base)},
        "recipe": RECIPE,
        "saved": {
            "model": "full weights, LoRA merged into the base" if cfg.mode == "lora" else "full weights",
            "adapter": f"{ADAPTER_DIR}/ (the LoRA adapter alone, peft format)" if cfg.mode == "lora" else None,
            "dtype": _saved_dtype(base),
        },
        "data": {
            "sources": describe(examples),
            "examples": len(examples),
            "tokens": total_tokens,
            "output_tokens": output_tokens,
            "blocks_per_epoch": stream.blocks_per_epoch,
            "format": "chat template" if has_chat_template(tokenizer) else "### Input / ### Output markers",
            "priority_sampling": "Efraimidis-Spirakis keys u^(1/priority), largest first, one order per epoch",
            "kind_priorities": KIND_PRIORITY,
            "attention": "within each example" if cfg.mask_examples else "across the block",
        },
        "parameters": {
            **cfg.as_dict(),
            "world_size": env.world,
            "parallel_in_effect": env.parallel,
            "device": env.device.type,
            "precision": "bf16 autocast" if env.device.type == "cuda" else "fp32",
            "steps_run": steps,
            "trainable_parameters": trainable_params,
            "parameters_with_adapters": all_params,
        },
        "metrics": {
            "loss_first": round(float(np.mean(losses[: min(5, len(losses))])), 4),
            "loss_last": round(float(np.mean(losses[-5:])), 4),
            "loss_curve": losses,
            "probe_before": probe_before,
            "probe_after": probe_after,
            "probe": f"mean loss per output token on {len(probe) if probe is not None else 0} fixed training blocks "
            "(the first and last of epoch 1), before and after training; a training-set score, not held out",
            "output_share_by_kind": shares,
            "epochs_seen": round(stream.epochs_done, 3),
            "seconds_train": round(train_seconds, 1),
            "seconds_per_step": round(train_seconds / steps, 3),
        },
        "license": info["license"],
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if env.main:
        card["seconds_total"] = round(time.perf_counter() - started, 1)
        _save(trained, tokenizer, cfg, card, out_dir)
    lm_dist.barrier(env)
    card = lm_dist.broadcast(card, env)
    if report:
        report("done", 1.0)
    return LMTrainResult(path=out_dir, card=card, model=trained if env.main else None)


def _trained_copy(wrapped: torch.nn.Module, model: Any, cfg: LMTrainConfig, env: DistEnv) -> Any:
    """The trained model, whole, on rank 0: the module itself (one process, DDP), or for FSDP a fresh copy
    of the architecture filled with the gathered weights (every rank takes part in the gathering)."""
    if env.parallel != "fsdp":
        out = lm_dist.unwrap(wrapped, env)
        out.eval()
        return out if env.main else None
    state = lm_dist.full_state_dict(wrapped, env)
    if not env.main:
        return None
    replica, _ = load_base(Path(cfg.base))
    if cfg.mode == "lora":
        replica = add_lora(replica, cfg)
    missing, unexpected = replica.load_state_dict(state, strict=False)
    tied = {k for k in missing if k.endswith("lm_head.weight")}
    if set(missing) - tied or unexpected:
        raise CodxError(f"the gathered FSDP weights do not fit the model (missing {missing}, extra {unexpected})")
    replica.eval()
    return replica


def _save(trained: Any, tokenizer: Any, cfg: LMTrainConfig, card: dict, out_dir: Path) -> None:
    """Write into a temporary folder and move it into place; the card last."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.with_name(f".{out_dir.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    dtype = getattr(torch, card["saved"]["dtype"])
    try:
        with _quiet_transformers():
            if cfg.mode == "lora":
                trained.save_pretrained(str(tmp / ADAPTER_DIR))
                merged = copy.deepcopy(trained).to("cpu").merge_and_unload()
            else:
                merged = copy.deepcopy(trained).to("cpu")
            merged.to(dtype).save_pretrained(str(tmp))
            tokenizer.save_pretrained(str(tmp))
        (tmp / CARD).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
        replace_folder(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def read_card(path: Path) -> dict[str, Any]:
    """The card of a trained model folder; a folder without one is unfinished."""
    try:
        return json.loads((Path(path) / CARD).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise CodxError(f"{path} has no readable {CARD}; it is not a finished codx train lm model") from e


def card_summary(card: dict[str, Any]) -> str:
    """One line on how a run went, from its card: what `codx train lm` and `synth-cod --finetune` print."""
    m, p = card["metrics"], card["parameters"]
    curve = m["loss_curve"]
    return (
        f"{card['data']['examples']} examples, block {p['block_size']} tokens: loss {curve[0]:.3f} at the first "
        f"step -> {curve[-1]:.3f} at step {len(curve)} (mean of the first 5 {m['loss_first']:.3f}, last 5 "
        f"{m['loss_last']:.3f}); probe {m['probe_before']} -> {m['probe_after']}; {m['seconds_per_step']} s per step"
    )


__all__ = ["LMTrainConfig", "LMTrainResult", "card_summary", "load_base", "read_card", "train_lm"]
