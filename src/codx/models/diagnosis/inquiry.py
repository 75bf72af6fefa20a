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


def _gather(by_disease, diseases: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row position, entry index) of every stored entry of the given diseases, without a Python loop."""
    starts, ends = by_disease.indptr[diseases], by_disease.indptr[diseases + 1]
    lengths = ends - starts
    total = int(lengths.sum())
    row_pos = np.repeat(np.arange(len(diseases)), lengths)
    offsets = np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
    return row_pos, offsets + np.arange(total)


def _dense_block(by_disease, diseases: np.ndarray, col_pos: np.ndarray, n_cols: int) -> np.ndarray:
    """Rows `diseases` of a by-disease sparse matrix as a dense (len(diseases), n_cols) block."""
    out = np.zeros((len(diseases), n_cols))
    row_pos, idx = _gather(by_disease, diseases)
    cols = col_pos[by_disease.rows[idx]]
    keep = cols >= 0
    out[row_pos[keep], cols[keep]] = by_disease.values[idx[keep]]
    return out


def _expected_entropy(p: np.ndarray, plogp: np.ndarray, lik: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per column: P(outcome) and P(outcome) * H(D | outcome) in nats, for outcome likelihoods `lik`."""
    pa = p @ lik
    llog = lik * np.log(np.maximum(lik, 1e-300))
    weighted = pa * np.log(np.maximum(pa, 1e-300)) - (plogp @ lik) - (p @ llog)
    return pa, weighted


def rank_questions(
    kn: Knowledge,
    ev: NormalisedEvidence,
    ranking: Ranking,
    limit: int = 5,
    top_k: int = 200,
    mass: float = 0.999,
    askable: np.ndarray | None = None,
) -> list[Question]:
    """Best questions first. Diseases beyond `mass` of the posterior (at most `top_k`, at least 20) are
    pooled into the background pseudo-disease: they cannot change which question is best. `askable`
    narrows the findings that may be asked (patients are asked only what has a lay label)."""
    prm = kn.params
    cum = np.cumsum(ranking.probabilities[ranking.order[:top_k]])
    k = int(np.searchsorted(cum, mass)) + 1
    top = ranking.order[: min(max(k, 20), top_k, kn.n_diseases)]
    p = ranking.probabilities[top].astype(np.float64)
    rest = max(0.0, 1.0 - float(p.sum()))
    # candidate findings: askable, unanswered, and shown by at least one top disease
    cand_mask = np.zeros(kn.n_findings, dtype=bool)
    cand_mask[kn.F_by_disease.rows[_gather(kn.F_by_disease, top)[1]]] = True
    cand_mask &= kn.askable if askable is None else askable
    if ev.answered:
        cand_mask[np.fromiter(ev.answered, dtype=np.int64)] = False
    cand = np.flatnonzero(cand_mask)
    if cand.size == 0:
        return []
    col_pos = np.full(kn.n_findings, -1, dtype=np.int64)
    col_pos[cand] = np.arange(cand.size)
    bg = kn.bg[cand]
    yes = (1 - prm.eps) * _dense_block(kn.F_by_disease, top, col_pos, cand.size) + prm.eps * bg
    ex = kn.excluded_by_disease
    if (ex.indptr[top + 1] - ex.indptr[top]).any():  # NOT-annotated: the same likelihood the posterior uses
        excluded = _dense_block(ex, top, col_pos, cand.size) > 0
        yes = np.where(excluded, prm.eps * prm.excluded_factor * bg, yes)
    # the remaining probability mass answers at background rates
    p_full = np.append(p, rest)
    p_full /= p_full.sum()
    yes = np.vstack([yes, bg])
    has_ab = kn.has_absent_model[cand]
    if has_ab.any():  # packs that model "no" separately leave the rest of the answers to "unsure"
        no_ab = (1 - prm.eps) * _dense_block(kn.A_by_disease, top, col_pos, cand.size) + prm.eps * kn.bg_absent[cand]
        no = np.where(has_ab, np.vstack([no_ab, kn.bg_absent[cand]]), 1.0 - yes)
        total = yes + no
        scale = np.where(total > 1.0, total, 1.0)
        yes, no = yes / scale, no / scale
    else:
        no = 1.0 - yes
    plogp = p_full * np.log(np.maximum(p_full, 1e-300))
    h0 = -float(plogp.sum())
    py, wy = _expected_entropy(p_full, plogp, yes)
    pn, wn = _expected_entropy(p_full, plogp, no)
    pu = np.clip(1.0 - py - pn, 0.0, 1.0)
    gains = np.clip((h0 - (wy + wn + pu * h0)) / np.log(2), 0.0, None)

    groups = kn.finding_group[cand]
    single = np.flatnonzero(groups < 0)
    best = single[np.argsort(-gains[single])[:limit]] if single.size > limit else single
    questions = [Question(int(cand[i]), -1, float(gains[i]), float(py[i])) for i in best]
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
