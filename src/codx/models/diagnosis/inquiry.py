"""Which question to ask next: expected information gain (entropy reduction) over askable findings.

EIG(f) = H(D) - sum_a P(a) H(D | a), with P(a) = sum_d P(d) P(a | d). It is computed exactly over the
`top_k` most probable diseases plus one pseudo-disease that holds the remaining mass and answers at the
background rate. Answers "unsure" leave the posterior unchanged, so they gain nothing; packs that model
how often patients can answer (goal sets) put that probability on the "unsure" outcome.
Approximation: the answer distribution uses the exact-match likelihood, not the partial-credit term
(alpha), which the posterior applies when a disease only shows a more general term.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from codx.models.diagnosis.evidence import NormalisedEvidence
from codx.models.diagnosis.knowledge import Knowledge
from codx.models.diagnosis.posterior import Ranking

Decision = Literal["diagnose", "ask"]


@dataclass(frozen=True)
class Question:
    """A finding (group == -1) or a whole group of values (finding == -1) to ask about."""

    finding: int
    group: int
    gain: float  # bits
    p_yes: float  # for a group: probability that any listed value is present


@dataclass(frozen=True)
class StopRule:
    tau: float = 0.5
    max_questions: int = 20
    min_gain: float = 0.01


def entropy_bits(p: np.ndarray) -> float:
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


def _dense_block(by_disease, diseases: np.ndarray, col_pos: np.ndarray, n_cols: int) -> np.ndarray:
    """Rows `diseases` of a by-disease sparse matrix as a dense (len(diseases), n_cols) block."""
    out = np.zeros((len(diseases), n_cols))
    for r, d in enumerate(diseases):
        s, e = by_disease.indptr[d], by_disease.indptr[d + 1]
        cols = col_pos[by_disease.rows[s:e]]
        keep = cols >= 0
        out[r, cols[keep]] = by_disease.values[s:e][keep]
    return out


def _expected_entropy(p: np.ndarray, plogp: np.ndarray, lik: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per column: P(outcome) and P(outcome) * H(D | outcome) in nats, for outcome likelihoods `lik`."""
    pa = p @ lik
    with np.errstate(divide="ignore", invalid="ignore"):
        llog = np.where(lik > 0, lik * np.log(np.where(lik > 0, lik, 1.0)), 0.0)
        weighted = pa * np.log(np.where(pa > 0, pa, 1.0)) - (plogp @ lik) - (p @ llog)
    return pa, weighted


def rank_questions(
    kn: Knowledge, ev: NormalisedEvidence, ranking: Ranking, limit: int = 5, top_k: int = 200, mass: float = 0.999
) -> list[Question]:
    """Best questions first. Diseases beyond `mass` of the posterior (at most `top_k`, at least 20) are
    pooled into the background pseudo-disease: they cannot change which question is best."""
    prm = kn.params
    cum = np.cumsum(ranking.probabilities[ranking.order[:top_k]])
    k = int(np.searchsorted(cum, mass)) + 1
    top = ranking.order[: min(max(k, 20), top_k, kn.n_diseases)]
    p = ranking.probabilities[top].astype(np.float64)
    rest = max(0.0, 1.0 - float(p.sum()))
    # candidate findings: askable, unanswered, and shown by at least one top disease
    cand_mask = np.zeros(kn.n_findings, dtype=bool)
    for d in top:
        s, e = kn.F_by_disease.indptr[d], kn.F_by_disease.indptr[d + 1]
        cand_mask[kn.F_by_disease.rows[s:e]] = True
    cand_mask &= kn.askable
    if ev.answered:
        cand_mask[np.fromiter(ev.answered, dtype=np.int64)] = False
    cand = np.flatnonzero(cand_mask)
    if cand.size == 0:
        return []
    col_pos = np.full(kn.n_findings, -1, dtype=np.int64)
    col_pos[cand] = np.arange(cand.size)
    F = _dense_block(kn.F_by_disease, top, col_pos, cand.size)
    bg = kn.bg[cand]
    yes = (1 - prm.eps) * F + prm.eps * bg
    excluded = _dense_block(kn.excluded_by_disease, top, col_pos, cand.size) > 0
    if excluded.any():  # NOT-annotated: the same likelihood the posterior uses
        yes = np.where(excluded, prm.eps * prm.excluded_factor * bg, yes)
    has_ab = kn.has_absent_model[cand]
    if has_ab.any():
        A = _dense_block(kn.A_by_disease, top, col_pos, cand.size)
        no_ab = (1 - prm.eps) * A + prm.eps * kn.bg_absent[cand]
        no = np.where(has_ab, no_ab, 1.0 - yes)
    else:
        no = 1.0 - yes
    no = np.clip(no, 0.0, None)
    # the remaining probability mass answers at background rates
    p_full = np.append(p, rest)
    yes = np.vstack([yes, bg])
    no = np.vstack([no, np.where(has_ab, kn.bg_absent[cand], 1.0 - bg)])
    total = yes + no
    over = total > 1.0
    yes, no = np.where(over, yes / total, yes), np.where(over, no / total, no)
    p_full = p_full / p_full.sum()
    plogp = p_full * np.log(np.where(p_full > 0, p_full, 1.0))
    h0 = -float(plogp.sum())
    py, wy = _expected_entropy(p_full, plogp, yes)
    pn, wn = _expected_entropy(p_full, plogp, no)
    pu = np.clip(1.0 - py - pn, 0.0, 1.0)
    gain_nats = h0 - (wy + wn + pu * h0)
    gains = np.clip(gain_nats / np.log(2), 0.0, None)

    questions: list[Question] = []
    groups = kn.finding_group[cand]
    for j, g, py_j in zip(cand[groups < 0], gains[groups < 0], py[groups < 0], strict=True):
        questions.append(Question(int(j), -1, float(g), float(py_j)))
    for gi in np.unique(groups[groups >= 0]):
        members = np.flatnonzero(groups == gi)
        if kn.groups[gi].kind == "categorical":
            gain = _categorical_gain(p_full, plogp, h0, yes[:, members])
        else:  # multi-choice: values treated as independent (an upper bound on the joint gain)
            gain = float(gains[members].sum())
        questions.append(Question(-1, int(gi), gain, float(min(1.0, py[members].sum()))))
    questions.sort(key=lambda q: -q.gain)
    return questions[:limit]


def _categorical_gain(p: np.ndarray, plogp: np.ndarray, h0: float, values: np.ndarray) -> float:
    """One question, one answer among the values (or none of them)."""
    s = values.sum(axis=1, keepdims=True)
    lik = np.where(s > 1.0, values / np.where(s > 0, s, 1.0), values)
    none = np.clip(1.0 - lik.sum(axis=1, keepdims=True), 0.0, None)
    lik = np.hstack([lik, none])
    _, w = _expected_entropy(p, plogp, lik)
    return max(0.0, (h0 - float(w.sum())) / np.log(2))


def decide(ranking: Ranking, questions_asked: int, best_gain: float | None, rule: StopRule) -> Decision:
    """Chain-of-Diagnosis decision: diagnose once confident, out of budget, or nothing worth asking."""
    top_p = float(ranking.probabilities[ranking.order[0]])
    if top_p >= rule.tau or questions_asked >= rule.max_questions:
        return "diagnose"
    if best_gain is None or best_gain < rule.min_gain:
        return "diagnose"
    return "ask"
