"""Temperature calibration of the posterior and the reliability report that checks it."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel
from scipy.optimize import minimize_scalar


class ReliabilityBin(BaseModel):
    lower: float
    upper: float
    count: int
    mean_confidence: float | None
    accuracy: float | None


class Reliability(BaseModel):
    n: int
    ece: float
    bins: list[ReliabilityBin]


def reliability(confidence: np.ndarray, correct: np.ndarray, n_bins: int = 10) -> Reliability:
    """Expected calibration error of the top-1 probability, with equal-width bins. `correct` may be
    fractional (a top-1 tie of k diseases counts 1/k)."""
    confidence, correct = np.asarray(confidence, float), np.asarray(correct, float)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bins: list[ReliabilityBin] = []
    ece = 0.0
    n = len(confidence)
    for k in range(n_bins):
        lo, hi = edges[k], edges[k + 1]
        m = (confidence >= lo) & ((confidence < hi) if k < n_bins - 1 else (confidence <= hi))
        c = int(m.sum())
        if c:
            conf, acc = float(confidence[m].mean()), float(correct[m].mean())
            ece += c / n * abs(conf - acc)
            bins.append(ReliabilityBin(lower=lo, upper=hi, count=c, mean_confidence=conf, accuracy=acc))
        else:
            bins.append(ReliabilityBin(lower=lo, upper=hi, count=0, mean_confidence=None, accuracy=None))
    return Reliability(n=n, ece=float(ece), bins=bins)


def fit_temperature(log_joints: list[np.ndarray], gold: list[int], bounds: tuple[float, float] = (0.05, 20.0)) -> float:
    """Temperature T minimising the negative log-likelihood of the gold disease under softmax(logp / T)."""
    if not log_joints:
        return 1.0

    def nll(t: float) -> float:
        total = 0.0
        for lj, g in zip(log_joints, gold, strict=True):
            z = lj / t
            m = z.max()
            total -= z[g] - (m + np.log(np.exp(z - m).sum()))
        return total / len(gold)

    res = minimize_scalar(nll, bounds=bounds, method="bounded", options={"xatol": 1e-3})
    return float(res.x)


def ece_noise_floor(confidence: np.ndarray, n_bins: int = 10, n_sim: int = 300, seed: int = 0) -> tuple[float, float]:
    """(mean, 95th percentile) ECE that a perfectly calibrated model with these confidences would show on
    this many cases: on a hundred cases, sampling noise alone gives an ECE of several points."""
    rng = np.random.default_rng(seed)
    confidence = np.asarray(confidence, float)
    sims = [reliability(confidence, rng.random(len(confidence)) < confidence, n_bins).ece for _ in range(n_sim)]
    return float(np.mean(sims)), float(np.percentile(sims, 95))
