"""Reliability / ECE on a hand example, and temperature fitting on synthetic logits."""

from __future__ import annotations

import numpy as np
import pytest

from codx.models.diagnosis.calibration import fit_temperature, reliability


def test_reliability_hand_example():
    conf = np.array([0.05, 0.15, 0.95, 0.95, 0.55, 0.45])
    correct = np.array([False, False, True, False, True, True])
    rel = reliability(conf, correct, n_bins=10)
    # bins: [0,.1) 0.05 acc 0 | [.1,.2) 0.15 acc 0 | [.4,.5) 0.45 acc 1 | [.5,.6) 0.55 acc 1 |
    #       [.9,1] 0.95 x2 acc 0.5
    want = (1 * 0.05 + 1 * 0.15 + 1 * 0.55 + 1 * 0.45 + 2 * 0.45) / 6  # = 0.35
    assert rel.ece == pytest.approx(want)
    assert rel.ece == pytest.approx(0.35)
    assert rel.n == 6
    assert len(rel.bins) == 10
    assert [b.count for b in rel.bins] == [1, 1, 0, 0, 1, 1, 0, 0, 0, 2]
    last = rel.bins[9]
    assert last.mean_confidence == pytest.approx(0.95) and last.accuracy == pytest.approx(0.5)
    assert rel.bins[2].mean_confidence is None and rel.bins[2].accuracy is None
    assert rel.bins[0].lower == 0.0 and rel.bins[9].upper == 1.0


def test_reliability_edges():
    rel = reliability(np.array([1.0, 0.1, 0.0]), np.array([True, True, False]), n_bins=10)
    # 1.0 goes into the last (closed) bin, 0.1 into the second, 0.0 into the first
    assert rel.bins[9].count == 1 and rel.bins[1].count == 1 and rel.bins[0].count == 1
    assert rel.ece == pytest.approx((0.0 + 0.9 + 0.0) / 3)


def test_perfectly_calibrated_has_zero_ece():
    conf = np.array([0.25] * 4 + [0.75] * 4)
    correct = np.array([1, 0, 0, 0, 1, 1, 1, 0], dtype=bool)
    assert reliability(conf, correct).ece == pytest.approx(0.0, abs=1e-12)


def test_fewer_bins():
    rel = reliability(np.array([0.2, 0.8]), np.array([False, True]), n_bins=2)
    assert [b.count for b in rel.bins] == [1, 1]
    assert rel.ece == pytest.approx(0.2)


@pytest.mark.parametrize("true_t", [0.5, 2.5])
def test_fit_temperature_recovers_known_temperature(true_t):
    rng = np.random.default_rng(1234)
    n, k = 3000, 6
    logits = rng.normal(0.0, 3.0, size=(n, k))
    z = logits / true_t
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    gold = [int(rng.choice(k, p=row)) for row in p]
    t = fit_temperature(list(logits), gold)
    assert t == pytest.approx(true_t, rel=0.15)


def test_fit_temperature_without_data_is_one():
    assert fit_temperature([], []) == 1.0


def test_fit_temperature_sharpens_an_underconfident_model():
    # the gold always has the top logit: the best temperature is as small as the bounds allow
    logits = [np.array([1.0, 0.0, 0.0])] * 20
    t = fit_temperature(logits, [0] * 20, bounds=(0.05, 20.0))
    assert t < 0.1
