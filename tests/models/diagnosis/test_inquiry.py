"""Expected information gain (bits) against a direct Bayes-rule computation, and the stop rule.

The reference `eig` below works from first principles: for each answer a, P(a) = sum_d P(d) P(a | d),
P(d | a) = P(d) P(a | d) / P(a), gain = H(D) - sum_a P(a) H(D | a). The answer model of inquiry.py is
P(yes | d) = (1 - eps) F[d, f] + eps bg(f), P(no | d) = 1 - P(yes | d) (packs without absent
frequencies), and the mass outside the top_k diseases is one pseudo-disease answering yes with bg(f).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from codx.models.diagnosis.evidence import CaseEvidence, NormalisedEvidence, Observation
from codx.models.diagnosis.inquiry import StopRule, decide, entropy_bits, rank_questions
from codx.models.diagnosis.posterior import ranking_from_log_joint

EPS = 0.1


def H(p: list[float]) -> float:
    return -sum(x * math.log2(x) for x in p if x > 0)


def eig(prior: list[float], outcome_lik: list[list[float]]) -> float:
    """outcome_lik[d][a] = P(answer a | disease d)."""
    gain = H(prior)
    for a in range(len(outcome_lik[0])):
        joint = [prior[d] * outcome_lik[d][a] for d in range(len(prior))]
        pa = sum(joint)
        if pa > 0:
            gain -= pa * H([j / pa for j in joint])
    return gain


@pytest.fixture
def flat(pack_builder):
    # D1: X 0.9, Y 0.5 | D2: X 0.2 | D3 (prior 2): Y 0.7  -> bg(X) = 1.1/3, bg(Y) = 1.2/3
    return pack_builder(
        [("D:1", "F:X", 0.9), ("D:1", "F:Y", 0.5), ("D:2", "F:X", 0.2), ("D:3", "F:Y", 0.7)],
        priors={"D:3": 2.0},
    )


def questions(model, evidence: CaseEvidence | None = None, **kw):
    ev = model.normalise(evidence or CaseEvidence())
    return rank_questions(model.knowledge, ev, model.rank(ev), **kw)


def by_finding(model, qs) -> dict[str, float]:
    return {model.knowledge.finding_ids[q.finding]: q.gain for q in qs if q.finding >= 0}


def test_entropy_bits():
    assert entropy_bits(np.array([0.5, 0.5])) == pytest.approx(1.0)
    assert entropy_bits(np.array([0.25] * 4)) == pytest.approx(2.0)
    assert entropy_bits(np.array([1.0, 0.0])) == 0.0


def test_gain_matches_hand_computation(flat, make_model):
    m = make_model(flat, eps=EPS)
    prior = [0.25, 0.25, 0.5]
    bg_x, bg_y = 1.1 / 3, 1.2 / 3
    yes_x = [(1 - EPS) * 0.9 + EPS * bg_x, (1 - EPS) * 0.2 + EPS * bg_x, EPS * bg_x]
    yes_y = [(1 - EPS) * 0.5 + EPS * bg_y, EPS * bg_y, (1 - EPS) * 0.7 + EPS * bg_y]
    want_x = eig(prior, [[y, 1 - y] for y in yes_x])
    want_y = eig(prior, [[y, 1 - y] for y in yes_y])
    qs = questions(m, top_k=200)
    got = by_finding(m, qs)
    assert got["F:X"] == pytest.approx(want_x, rel=1e-5)
    assert got["F:Y"] == pytest.approx(want_y, rel=1e-5)
    # best first, and P(yes) = sum_d P(d) P(yes | d)
    assert [q.gain for q in qs] == sorted((q.gain for q in qs), reverse=True)
    q_x = next(q for q in qs if m.knowledge.finding_ids[q.finding] == "F:X")
    assert q_x.p_yes == pytest.approx(sum(p * y for p, y in zip(prior, yes_x, strict=True)), rel=1e-5)
    assert q_x.group == -1


def test_gain_after_evidence_uses_the_posterior(flat, make_model):
    m = make_model(flat, eps=EPS)
    bg_x, bg_y = 1.1 / 3, 1.2 / 3
    # after "Y present" the posterior is prior * P(Y | d); X is then asked over that posterior
    lik_y = [(1 - EPS) * 0.5 + EPS * bg_y, EPS * bg_y, (1 - EPS) * 0.7 + EPS * bg_y]
    joint = [p * lk for p, lk in zip([0.25, 0.25, 0.5], lik_y, strict=True)]
    post = [j / sum(joint) for j in joint]
    yes_x = [(1 - EPS) * 0.9 + EPS * bg_x, (1 - EPS) * 0.2 + EPS * bg_x, EPS * bg_x]
    got = by_finding(m, questions(m, CaseEvidence(observations=[Observation(finding="F:Y", status="present")])))
    assert set(got) == {"F:X"}  # Y is answered
    assert got["F:X"] == pytest.approx(eig(post, [[y, 1 - y] for y in yes_x]), rel=1e-5)


def test_rest_pseudo_disease_answers_at_background(flat, make_model):
    m = make_model(flat, eps=EPS)
    # prior order: D3 (0.5), D1 (0.25, first of the tie), D2 (0.25) -> top 2 = D3, D1; rest = 0.25
    bg_x = 1.1 / 3
    yes_x = [EPS * bg_x, (1 - EPS) * 0.9 + EPS * bg_x, bg_x]  # D3, D1, rest
    want = eig([0.5, 0.25, 0.25], [[y, 1 - y] for y in yes_x])
    got = by_finding(m, questions(m, top_k=2))
    assert got["F:X"] == pytest.approx(want, rel=1e-5)
    # with every disease in the top the rest pseudo-disease holds no mass and changes nothing
    full = by_finding(m, questions(m, top_k=3))
    assert full == pytest.approx(by_finding(m, questions(m, top_k=200)), rel=1e-9)
    assert full["F:X"] != pytest.approx(want, rel=1e-3)


def test_perfectly_discriminating_finding_gains_the_entropy(pack_builder, make_model):
    pack = pack_builder([("D:1", "F:X", 1.0), ("D:2", "F:Y", 1.0)])
    m = make_model(pack, eps=1e-9)
    got = by_finding(m, questions(m))
    assert got["F:X"] == pytest.approx(1.0, abs=1e-6)  # H(D) of two equally likely diseases
    assert got["F:Y"] == pytest.approx(1.0, abs=1e-6)
    pack3 = pack_builder([("D:1", "F:X", 1.0), ("D:2", "F:Y", 1.0), ("D:3", "F:Z", 1.0)])
    m3 = make_model(pack3, eps=1e-9)
    # a yes/no question on three equally likely diseases: H(D) - P(no) H(two left) = log2(3) - 2/3
    assert by_finding(m3, questions(m3))["F:X"] == pytest.approx(math.log2(3) - 2 / 3, abs=1e-6)


def test_non_discriminating_findings_gain_nothing(pack_builder, make_model):
    pack = pack_builder([("D:1", "F:X", 0.5), ("D:2", "F:X", 0.5)], parents={"F:X": ["F:P"]})
    m = make_model(pack)
    got = by_finding(m, questions(m))
    # F:X has the same frequency in both; F:P is shown by both through the true path, equally
    assert got["F:X"] == pytest.approx(0.0, abs=1e-9)
    assert got["F:P"] == pytest.approx(0.0, abs=1e-9)


def test_only_findings_of_top_diseases_are_candidates(pack_builder, make_model):
    pack = pack_builder([("D:1", "F:X", 0.5), ("D:2", "F:Y", 0.5)], priors={"D:1": 3.0})
    m = make_model(pack)
    assert set(by_finding(m, questions(m, top_k=1))) == {"F:X"}
    assert set(by_finding(m, questions(m, top_k=2))) == {"F:X", "F:Y"}


def test_answered_and_implied_findings_are_not_asked(tiny_model):
    def asked(*obs):
        ev = CaseEvidence(observations=[Observation(finding=f, status=s) for f, s in obs])
        return set(by_finding(tiny_model, questions(tiny_model, ev, limit=100)))

    # root is not askable; everything else some disease shows is a candidate
    assert asked() == {"T:A", "T:A1", "T:A2", "T:B", "T:C"}
    # present A1 implies A and root
    assert asked(("T:A1", "present")) == {"T:A2", "T:B", "T:C"}
    # absent A implies absent A1 and A2
    assert asked(("T:A", "absent")) == {"T:B", "T:C"}
    # unsure counts as answered
    assert asked(("T:C", "unsure")) == {"T:A", "T:A1", "T:A2", "T:B"}


def test_limit(tiny_model):
    assert len(questions(tiny_model, limit=2)) == 2
    assert len(questions(tiny_model, limit=100)) == 5


def test_nothing_left_to_ask(pack_builder, make_model):
    pack = pack_builder([("D:1", "F:X", 0.9), ("D:2", "F:X", 0.1)])
    m = make_model(pack)
    ev = CaseEvidence(observations=[Observation(finding="F:X", status="absent")])
    assert questions(m, ev) == []


@pytest.fixture
def grouped(pack_builder):
    # one categorical question "where?" with values l1, l2; an ordinary finding X
    return pack_builder(
        [("D:1", "G:l1", 0.8), ("D:2", "G:l2", 0.6), ("D:3", "G:l1", 0.3), ("D:3", "G:l2", 0.5), ("D:3", "F:X", 0.4)],
        groups={"G:where": "categorical"},
        group_of={"G:l1": "G:where", "G:l2": "G:where"},
    )


def test_categorical_group_gain(grouped, make_model):
    m = make_model(grouped, eps=EPS)
    kn = m.knowledge
    prior = [1 / 3] * 3
    bg1, bg2 = 1.1 / 3, 1.1 / 3
    l1 = [(1 - EPS) * 0.8 + EPS * bg1, EPS * bg1, (1 - EPS) * 0.3 + EPS * bg1]
    l2 = [EPS * bg2, (1 - EPS) * 0.6 + EPS * bg2, (1 - EPS) * 0.5 + EPS * bg2]
    outcomes = [[a, b, 1 - a - b] for a, b in zip(l1, l2, strict=True)]  # l1, l2 or neither
    assert all(o[2] >= 0 for o in outcomes)
    qs = questions(m, limit=10)
    group_qs = [q for q in qs if q.group >= 0]
    assert len(group_qs) == 1
    gq = group_qs[0]
    assert gq.finding == -1 and kn.groups[gq.group].id == "G:where"
    assert gq.gain == pytest.approx(eig(prior, outcomes), rel=1e-5)
    assert gq.p_yes == pytest.approx(sum(p * (a + b) for p, a, b in zip(prior, l1, l2, strict=True)), rel=1e-5)
    # the values are not asked one by one
    assert set(by_finding(m, qs)) == {"F:X"}


def test_multi_group_gain_is_sum_of_value_gains(grouped, pack_builder, make_model):
    multi = pack_builder(
        [("D:1", "G:l1", 0.8), ("D:2", "G:l2", 0.6), ("D:3", "G:l1", 0.3), ("D:3", "G:l2", 0.5), ("D:3", "F:X", 0.4)],
        groups={"G:where": "multi"},
        group_of={"G:l1": "G:where", "G:l2": "G:where"},
    )
    m = make_model(multi, eps=EPS)
    prior = [1 / 3] * 3
    bg = 1.1 / 3
    l1 = [(1 - EPS) * 0.8 + EPS * bg, EPS * bg, (1 - EPS) * 0.3 + EPS * bg]
    l2 = [EPS * bg, (1 - EPS) * 0.6 + EPS * bg, (1 - EPS) * 0.5 + EPS * bg]
    want = eig(prior, [[y, 1 - y] for y in l1]) + eig(prior, [[y, 1 - y] for y in l2])
    gq = next(q for q in questions(m, limit=10) if q.group >= 0)
    assert gq.gain == pytest.approx(want, rel=1e-5)


def _ranking(top_p: float):
    return ranking_from_log_joint(np.log(np.array([top_p, 1 - top_p])), 1.0)


@pytest.mark.parametrize(
    ("top_p", "asked", "best_gain", "rule", "want"),
    [
        (0.6, 0, 0.5, StopRule(tau=0.5), "diagnose"),  # confident enough
        (0.5, 0, 0.5, StopRule(tau=0.5), "diagnose"),  # tau is inclusive
        (0.55, 0, 0.5, StopRule(tau=0.6), "ask"),
        (0.55, 3, 0.5, StopRule(tau=0.9, max_questions=3), "diagnose"),  # budget spent
        (0.55, 2, 0.5, StopRule(tau=0.9, max_questions=3), "ask"),
        (0.55, 0, 0.005, StopRule(tau=0.9, min_gain=0.01), "diagnose"),  # nothing worth asking
        (0.55, 0, 0.01, StopRule(tau=0.9, min_gain=0.01), "ask"),
        (0.55, 0, None, StopRule(tau=0.9), "diagnose"),  # no question left
    ],
)
def test_decide(top_p, asked, best_gain, rule, want):
    assert decide(_ranking(top_p), asked, best_gain, rule) == want


def test_step_asks_until_confident(tiny_model):
    rule = StopRule(tau=0.9, max_questions=5, min_gain=0.0)
    step = tiny_model.step(CaseEvidence(), 0, rule)
    assert step.decision == "ask" and step.questions
    assert step.questions[0].gain == max(q.gain for q in step.questions)
    done = tiny_model.step(CaseEvidence(), 5, rule)
    assert done.decision == "diagnose" and done.questions == []


def test_rank_questions_with_normalised_evidence_object(tiny_model):
    ev = NormalisedEvidence()
    qs = rank_questions(tiny_model.knowledge, ev, tiny_model.rank(ev), limit=3)
    assert len(qs) == 3 and all(q.gain >= 0 for q in qs)
