"""The exact posterior over every disease of the active packs (DESIGN section 3)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from codx.models.diagnosis.evidence import NormalisedEvidence
from codx.models.diagnosis.knowledge import Knowledge


def present_likelihood(kn: Knowledge, j: int) -> np.ndarray:
    """P(patient shows finding j | d) for every disease d (float64)."""
    p = kn.params
    g = kn.column(j).astype(np.float64)
    if p.alpha > 0:
        for a in kn.ancestors[j]:
            if a == j:
                continue
            # the disease explains only the more general term a; q is one of its specialisations
            np.maximum(g, kn.column(int(a)) * (p.alpha * kn.bg[j] / kn.bg[a]), out=g)
    lik = (1.0 - p.eps) * g + p.eps * kn.bg[j]
    s, e = kn.excluded.indptr[j], kn.excluded.indptr[j + 1]
    if e > s:
        lik[kn.excluded.rows[s:e]] = p.eps * p.excluded_factor * kn.bg[j]
    return lik


def absent_likelihood(kn: Knowledge, j: int) -> np.ndarray:
    p = kn.params
    if kn.has_absent_model[j]:
        return (1.0 - p.eps) * kn.A.column(j, kn.n_diseases) + p.eps * kn.bg_absent[j]
    return 1.0 - (1.0 - p.delta) * kn.column(j).astype(np.float64)


def prior(kn: Knowledge, ev: NormalisedEvidence) -> np.ndarray:
    logp = kn.log_prior.copy()
    for i, d in kn.modified_diseases:
        m = d.modifiers
        if m is None:
            continue
        factor = 1.0
        if ev.sex is not None and ev.sex in m.sex:
            factor *= m.sex[ev.sex]
        if ev.age_years is not None:
            for band in m.age:
                if band.min_years <= ev.age_years < band.max_years:
                    factor *= band.factor
        logp[i] += np.log(max(factor, 1e-12))
    return logp


@dataclass
class Ranking:
    """Calibrated probabilities over all diseases and the order best-first."""

    probabilities: np.ndarray
    log_scores: np.ndarray  # uncalibrated log joint, for explanations
    order: np.ndarray

    def top(self, k: int) -> list[tuple[int, float]]:
        return [(int(i), float(self.probabilities[i])) for i in self.order[:k]]


def log_joint(kn: Knowledge, ev: NormalisedEvidence) -> np.ndarray:
    logp = prior(kn, ev)
    if kn.params.size_penalty and ev.present:
        logp -= kn.params.size_penalty * len(ev.present) * kn.log_size
    w = kn.params.similarity_weight
    for j in ev.present:
        logp += np.log(present_likelihood(kn, j))
        if w:
            logp += w * kn.shared_information(j)
    if kn.params.coverage_weight and ev.present:
        logp += kn.params.coverage_weight * len(ev.present) * kn.coverage(ev.present)
    for j in ev.absent:
        logp += np.log(np.clip(absent_likelihood(kn, j), 1e-12, None))
    return logp


def rank(kn: Knowledge, ev: NormalisedEvidence) -> Ranking:
    logp = log_joint(kn, ev)
    return ranking_from_log_joint(logp, kn.params.temperature)


def ranking_from_log_joint(logp: np.ndarray, temperature: float) -> Ranking:
    z = logp / temperature
    z = z - z.max()
    prob = np.exp(z)
    prob /= prob.sum()
    order = np.argsort(-prob, kind="stable")
    return Ranking(prob, logp, order)


def finding_contributions(kn: Knowledge, ev: NormalisedEvidence, diseases: list[int]) -> list[dict[int, float]]:
    """Log likelihood ratio of each finding for each given disease, against the background rate:
    positive raised the disease, negative lowered it (the Chain-of-Diagnosis reasoning step)."""
    out: list[dict[int, float]] = [{} for _ in diseases]
    idx = np.asarray(diseases, dtype=np.int64)
    for j in ev.present:
        lr = np.log(present_likelihood(kn, j)[idx] / kn.bg[j])
        for k, v in enumerate(lr):
            out[k][j] = float(v)
    for j in ev.absent:
        lik = absent_likelihood(kn, j)
        lr = np.log(np.clip(lik[idx], 1e-12, None) / max(float(np.mean(lik)), 1e-12))
        for k, v in enumerate(lr):
            out[k][-j - 1] = float(v)  # negative key marks an absent finding
    return out
