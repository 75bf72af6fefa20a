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
