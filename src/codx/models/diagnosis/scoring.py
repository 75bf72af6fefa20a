"""Scoring a ranking against a gold disease, with ties never resolved in the gold's favour."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from codx.models.diagnosis.knowledge import Knowledge
from codx.models.diagnosis.posterior import Ranking


@dataclass(frozen=True)
class GoldRank:
    """Where the gold disease stands. Diseases with exactly the gold's score are a tie: they are scored
    as a random order of them would be, so a tie is never resolved in the gold's favour."""

    above: int  # diseases scored strictly higher
    tied: int  # other diseases with exactly the gold's score

    @property
    def expected(self) -> float:
        return self.above + 1 + self.tied / 2

    def within(self, k: int) -> float:
        """Probability that the gold is among the first k under a random order of the tie."""
        return float(min(1.0, max(0.0, (k - self.above) / (self.tied + 1))))

    def reciprocal(self) -> float:
        return float(np.mean([1.0 / (self.above + i) for i in range(1, self.tied + 2)]))


def rank_of(scores: np.ndarray, g: int) -> GoldRank:
    return GoldRank(above=int((scores > scores[g]).sum()), tied=int((scores == scores[g]).sum()) - 1)


def gold_rank(kn: Knowledge, ranking: Ranking, gold: str, mask: np.ndarray | None = None) -> GoldRank | None:
    """None when the gold is not among the ranked diseases."""
    g = kn.disease_index.get(gold)
    if g is None or (mask is not None and not mask[g]):
        return None
    return rank_of(ranking.log_scores if mask is None else np.where(mask, ranking.log_scores, -np.inf), g)


def labelled_top(kn: Knowledge, ranking: Ranking, k: int, mask: np.ndarray | None = None) -> list[dict]:
    """Top-k diseases best first as {id, label, probability}; with a mask, probabilities are renormalised over
    the allowed diseases. The one shape shared by benchmark JSON, the agent's state and its report."""
    prob = ranking.probabilities
    order = ranking.order
    if mask is not None:
        prob = np.where(mask, prob, 0.0)
        total = prob.sum()
        prob = prob / total if total > 0 else prob
        order = order[mask[order]]
    return [
        {"id": kn.disease_ids[i], "label": kn.diseases[i].name, "probability": round(float(prob[i]), 6)}
        for i in order[:k]
    ]
