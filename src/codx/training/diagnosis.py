"""`codx train diagnosis`: fit the model's few parameters and its calibration temperature.

Parameters are chosen by grid search on training cases (synthetic patients sampled from the pack, or a
dataset's train split), the temperature by likelihood on a separate part, and the metrics are reported
on a third part. Benchmark test cases are never seen here.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import numpy as np

from codx.models.diagnosis.calibration import fit_temperature, reliability
from codx.models.diagnosis.inquiry import StopRule
from codx.models.diagnosis.model import DiagnosisModel, ModelCard, PackRef
from codx.models.diagnosis.params import DiagnosisParams
from codx.models.diagnosis.posterior import log_joint
from codx.models.packs.schema import Pack
from codx.training.simulate import SimCase, full_evidence, run_dialog, sample_cases

Progress = Callable[[str, float], None]  # (stage description, fraction done)

#: Grids for packs with a hierarchy (hpo-like) and for flat packs (goal sets, DDXPlus).
HIERARCHY_GRID: dict[str, list[float]] = {"alpha": [0.0, 0.02], "delta": [0.3, 1.0], "default_frequency": [0.5, 1.0]}
FLAT_GRID: dict[str, list[float]] = {"eps": [0.001, 0.01, 0.05], "delta": [0.05, 0.2, 0.5]}


def _gold_rank_stats(model: DiagnosisModel, cases: Sequence[SimCase]) -> tuple[float, float]:
    """(top-1 accuracy, mean reciprocal rank) with full information."""
    kn = model.knowledge
    top1, rr = [], []
    for c in cases:
        g = kn.disease_index.get(c.gold or "")
        if g is None:
            continue
        lj = log_joint(kn, model.normalise(full_evidence(c)))
        r = int((lj > lj[g]).sum()) + 1
        top1.append(r == 1)
        rr.append(1.0 / r)
    return float(np.mean(top1)) if top1 else 0.0, float(np.mean(rr)) if rr else 0.0


def fit_params(
    packs: list[Pack],
    cases: Sequence[SimCase],
    grid: dict[str, list[float]],
    base: DiagnosisParams,
    pack_weights: dict[str, float] | None = None,
    progress: Progress | None = None,
) -> tuple[DiagnosisParams, dict[str, float]]:
    keys = list(grid)
    combos = list(itertools.product(*(grid[k] for k in keys)))
    best: tuple[float, DiagnosisParams, dict[str, float]] | None = None
    for i, values in enumerate(combos):
        params = base.model_copy(update=dict(zip(keys, values, strict=True)))
        card = ModelCard(name="fit", packs=[], params=params, pack_weights=pack_weights or {}, training_data="")
        acc, mrr = _gold_rank_stats(DiagnosisModel(packs, card), cases)
        if best is None or mrr > best[0]:
            best = (mrr, params, {"fit_top1": acc, "fit_mrr": mrr})
        if progress:
            progress(f"parameter search {i + 1}/{len(combos)}", (i + 1) / len(combos))
    assert best is not None
    return best[1], best[2]


def calibrate(
    model: DiagnosisModel, cases: Sequence[SimCase], rule: StopRule | None
) -> tuple[float, list[np.ndarray], list[int]]:
    """Fit the temperature on where consultations end (after the dialog when a rule is given)."""
    kn = model.knowledge
    joints, gold = [], []
    for c in cases:
        g = kn.disease_index.get(c.gold or "")
        if g is None:
            continue
        if rule is None:
            lj = log_joint(kn, model.normalise(full_evidence(c)))
        else:
            lj = run_dialog(model, c, rule).ranking.log_scores
        joints.append(lj)
        gold.append(g)
    return fit_temperature(joints, gold), joints, gold


def evaluate(joints: list[np.ndarray], gold: list[int], temperature: float) -> tuple[dict[str, float], object]:
    conf, correct, top3 = [], [], []
    for lj, g in zip(joints, gold, strict=True):
        z = lj / temperature
        p = np.exp(z - z.max())
        p /= p.sum()
        order = np.argsort(-p)
        conf.append(float(p[order[0]]))
        correct.append(order[0] == g)
        top3.append(g in order[:3])
    rel = reliability(np.array(conf), np.array(correct))
    return {"top1": float(np.mean(correct)), "top3": float(np.mean(top3)), "ece": rel.ece}, rel


def train_model(
    packs: list[Pack],
    name: str,
    train_cases: Sequence[SimCase] | None = None,
    n_synthetic: int = 600,
    seed: int = 0,
    rule: StopRule | None = None,
    pack_weights: dict[str, float] | None = None,
    progress: Progress | None = None,
) -> DiagnosisModel:
    """Fit on `train_cases` (a dataset's train split) or, when None, on synthetic patients from the packs.

    With a stop rule the temperature is calibrated on where simulated dialogs end, which is the
    probability a consultation actually reports."""
    rng = np.random.default_rng(seed)
    hierarchical = any(f.parents for p in packs for f in p.findings[:2000])
    base = DiagnosisParams()
    grid = HIERARCHY_GRID if hierarchical else FLAT_GRID
    probe = DiagnosisModel(packs, ModelCard(name=name, packs=[], params=base, training_data=""))
    if train_cases is None:
        cases = sample_cases(probe, n_synthetic, rng)
        source = f"{n_synthetic} synthetic patients sampled from the packs (seed {seed})"
    else:
        cases = list(train_cases)
        rng.shuffle(cases)  # type: ignore[arg-type]
        source = f"{len(cases)} training-split cases"
    n = len(cases)
    fit_part, cal_part, test_part = cases[: n // 2], cases[n // 2 : (3 * n) // 4], cases[(3 * n) // 4 :]
    params, fit_metrics = fit_params(packs, fit_part, grid, base, pack_weights, progress)
    card = ModelCard(
        name=name,
        packs=[PackRef(name=p.meta.name, version=p.meta.version) for p in packs],
        params=params,
        pack_weights=pack_weights or {},
        training_data=source,
        n_training_cases=n,
    )
    model = DiagnosisModel(packs, card)
    if progress:
        progress("calibrating", 0.0)
    temperature, _, _ = calibrate(model, cal_part, rule)
    card.params = params.model_copy(update={"temperature": temperature})
    model = DiagnosisModel(packs, card)
    _, joints, gold = calibrate(model, test_part, rule)
    metrics, rel = evaluate(joints, gold, temperature)
    card.metrics = {**fit_metrics, **{f"heldout_{k}": v for k, v in metrics.items()}}
    card.reliability = rel  # type: ignore[assignment]
    if progress:
        progress("done", 1.0)
    return model
