import numpy as np
import pytest

from codx.models.diagnosis.scoring import GoldRank, rank_of


def test_a_tie_is_never_resolved_in_the_golds_favour():
    r = rank_of(np.array([0.0, 1.0, 1.0, 1.0, -2.0]), 1)
    assert (r.above, r.tied) == (0, 2)
    assert r.within(1) == pytest.approx(1 / 3)
    assert r.within(3) == 1.0
    assert r.expected == 2.0
    assert r.reciprocal() == pytest.approx((1 + 1 / 2 + 1 / 3) / 3)


def test_strict_order_without_ties():
    r = rank_of(np.array([3.0, 1.0, 2.0]), 1)
    assert (r.above, r.tied) == (2, 0)
    assert r.within(1) == 0.0 and r.within(3) == 1.0
    assert r.expected == 3.0 and r.reciprocal() == pytest.approx(1 / 3)


def test_within_is_a_probability():
    r = GoldRank(above=5, tied=9)
    assert [r.within(k) for k in (1, 5, 6, 10, 15, 20)] == pytest.approx([0, 0, 0.1, 0.5, 1.0, 1.0])
