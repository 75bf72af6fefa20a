"""`codx bench interactive`: simulated consultations on DDXPlus, goal sets and exp/imp sets.

The pack comes from the knowledge base (DDXPlus) or the training split (goal sets, exp/imp); the model's
parameters and calibration are fit on that training split (or on synthetic patients from the DDXPlus
knowledge base), never on the cases being scored. Each case starts from what the patient says first
and the model asks until its stop rule says diagnose.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np

from codx.bench.interactive_cases import load_ddxplus_cases, load_expimp_cases, load_goalset_cases
from codx.bench.report import predictions
from codx.errors import CaseError, InputFileError
from codx.models.diagnosis.calibration import ece_noise_floor, reliability
from codx.models.diagnosis.inquiry import StopRule
from codx.models.diagnosis.scoring import gold_rank
from codx.models.packs.counts import Observation as CountObservation
from codx.models.packs.counts import build_count_pack
from codx.models.packs.ddxplus import build_ddxplus_pack
from codx.models.packs.expimp import build_expimp_pack
from codx.models.packs.goalset import build_goalset_pack
from codx.models.packs.schema import Pack
from codx.training.diagnosis import Progress, Refit, train_model
from codx.training.refine import refine_pack
from codx.training.simulate import InteractiveCase, run_dialog

Format = Literal["ddxplus", "goalset", "expimp"]

#: Diseases at or above this probability form the predicted differential (DDXPlus precision/recall).
DIFFERENTIAL_MIN_P = 0.01


def pack_name_for(path: Path) -> str:
    stem = path.name.split(".")[0].lower()
    stem = re.sub(r"(_goal_set|_set|_train|_test|_dev)$", "", stem)
    stem = re.sub(r"[^a-z0-9_\-]", "_", stem).strip("_-") or "dataset"
    return stem if stem[0].isalpha() else f"d{stem}"


def build_pack(fmt: Format, cases: Path, train: Path | None, kb: Path | None) -> Pack:
    if fmt == "ddxplus":
        if kb is None:
            raise InputFileError("--format ddxplus needs --kb FOLDER with release_conditions_en.json")
        return build_ddxplus_pack(kb)
    source = train or cases
    if fmt == "goalset":
        return build_goalset_pack(source, pack_name_for(source))
    if train is None:
        raise InputFileError("--format expimp needs --train FILE (same format, with labels) to build the pack")
    return build_expimp_pack(train, pack_name_for(train))


def load_cases(fmt: Format, path: Path, pack: Pack, split: str = "test") -> Iterator[InteractiveCase | CaseError]:
    if fmt == "ddxplus":
        return load_ddxplus_cases(path, pack)
    if fmt == "goalset":
        return load_goalset_cases(path, pack, split=split)
    return load_expimp_cases(path, pack)


def training_cases(fmt: Format, pack: Pack, cases: Path, train: Path | None) -> list[InteractiveCase] | None:
    """The labelled training split, or None where only the knowledge base exists (synthetic patients)."""
    if fmt == "ddxplus":
        return None
    source = train or cases
    items = load_cases(fmt, source, pack, split="train")
    return [c for c in items if isinstance(c, InteractiveCase) and c.gold is not None]


def _refit(fmt: Format, pack: Pack) -> Refit | None:
    """Rebuild a count-based pack from a subset of its training cases (for cross-fitted calibration)."""
    if fmt == "ddxplus":
        return None

    def refit(cases: list[InteractiveCase]) -> Pack:
        observations = [
            CountObservation(
                disease=(c.gold or "").split(":", 1)[1],
                answers={f.split(":", 1)[1]: a for f, a in {**c.initial, **c.answers}.items()},
            )
            for c in cases
        ]
        return refine_pack(build_count_pack(observations, pack.meta, smoothing=1.0), cases)

    return refit


def differential_scores(pred: dict[str, float], gold: list[tuple[str, float]]) -> tuple[float, float, float]:
    predicted = {d for d, p in pred.items() if p >= DIFFERENTIAL_MIN_P}
    truth = {d for d, _ in gold}
    if not predicted or not truth:
        return 0.0, 0.0, 0.0
    tp = len(predicted & truth)
    prec, rec = tp / len(predicted), tp / len(truth)
    return prec, rec, (2 * prec * rec / (prec + rec) if tp else 0.0)


def run_interactive(
    fmt: Format,
    cases_path: Path,
    train: Path | None,
    kb: Path | None,
    rule: StopRule,
    seed: int = 0,
    limit: int | None = None,
    progress: Progress | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    pack = build_pack(fmt, cases_path, train, kb)
    train_cases = training_cases(fmt, pack, cases_path, train)
    if train_cases:
        if progress:
            progress("refining frequencies on the training split", 0.0)
        pack = refine_pack(pack, train_cases, seed=seed)
    model = train_model(
        [pack], pack.meta.name, train_cases, refit=_refit(fmt, pack), seed=seed, rule=rule, progress=progress
    )
    kn = model.knowledge
    records: list[dict[str, Any]] = []
    conf, correct, top3, n_q, diff = [], [], [], [], []
    n_errors = n_unmapped = 0
    t_start = time.perf_counter()
    items = list(load_cases(fmt, cases_path, pack))
    if limit:
        items = items[:limit]
    for k, item in enumerate(items):
        if isinstance(item, CaseError):
            n_errors += 1
            records.append({"id": item.case_id, "gold": None, "predictions": [], "error": str(item)})
            continue
        n_unmapped += len(item.unmapped)
        result = run_dialog(model, item, rule)
        preds = predictions(kn, result.ranking)
        rec: dict[str, Any] = {
            "id": item.id,
            "gold": item.gold,
            "predictions": preds,
            "questions": [{"finding": f, "answer": a} for f, a in result.questions],
            "initial": list(item.initial),
        }
        if result.messages:
            rec["messages"] = result.messages
        if item.unmapped:
            rec["unmapped"] = item.unmapped
        n_q.append(len(result.questions))
        if item.gold is not None:
            r = gold_rank(kn, result.ranking, item.gold)
            correct.append(0.0 if r is None else r.within(1))
            top3.append(0.0 if r is None else r.within(3))
            conf.append(preds[0]["probability"] if preds else 0.0)
            if item.gold_differential:
                pmap = {p["id"]: p["probability"] for p in preds}
                diff.append(differential_scores(pmap, item.gold_differential))
        records.append(rec)
        if progress and k % 20 == 0:
            progress(f"case {k + 1}/{len(items)}", (k + 1) / len(items))
    summary: dict[str, Any] = {
        "format": fmt,
        "cases": str(cases_path),
        "n": len(records),
        "errors": n_errors,
        "unmapped_symptoms": n_unmapped,
        "pack": pack.summary() | {"disease_namespaces": None},
        "model": {
            "training_data": model.card.training_data,
            "params": model.card.params.model_dump(),
            "metrics": model.card.metrics,
        },
        "stop_rule": {"tau": rule.tau, "max_questions": rule.max_questions, "min_gain": rule.min_gain},
        "mean_questions": round(float(np.mean(n_q)), 3) if n_q else None,
        "max_questions_asked": int(max(n_q)) if n_q else None,
        "seconds": round(time.perf_counter() - t_start, 2),
    }
    if correct:
        rel = reliability(np.array(conf), np.array(correct))
        floor = ece_noise_floor(np.array(conf))
        summary.update(
            with_gold=len(correct),
            top1=round(float(np.mean(correct)), 4),
            top3=round(float(np.mean(top3)), 4),
            ece=round(rel.ece, 4),
            ece_if_calibrated_mean=round(floor[0], 4),
            ece_if_calibrated_p95=round(floor[1], 4),
            reliability=[b.model_dump() for b in rel.bins],
        )
        if fmt == "ddxplus":
            summary["gtpa_at_1"] = summary["top1"]
    if diff:
        d = np.array(diff)
        summary.update(
            differential_precision=round(float(d[:, 0].mean()), 4),
            differential_recall=round(float(d[:, 1].mean()), 4),
            differential_f1=round(float(d[:, 2].mean()), 4),
        )
    return summary, records
