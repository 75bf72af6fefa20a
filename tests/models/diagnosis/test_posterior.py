"""The posterior of DESIGN section 3 against hand computations on the tiny pack (tests/conftest.py).

Every expected value below is written out with plain arithmetic. With eps = 0.1, delta = 0.2, alpha = 0,
default_frequency = 0.5 and excluded_factor = 0.1, the tiny pack compiles to:

    true-path F        root   A     A1    A2    B     C
    D:1               0.8    0.8   0.8   0.3   0.5   0
    D:2               0.6    0.4   0     0     0     0.6
    D:3               0.9    -     -     -     0     0.9     (A, A1, A2 excluded by NOT A)

    bg = column sum / 3 diseases, floored at 0.5 / 3:
    bg(root) = 2.3/3, bg(A) = 1.2/3 = 0.4, bg(A1) = 0.8/3, bg(A2) = max(0.3/3, 1/6) = 1/6,
    bg(B) = 0.5/3 = 1/6, bg(C) = 1.5/3 = 0.5

    priors 1 : 1 : 2 -> 0.25, 0.25, 0.5
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from codx.models.diagnosis.evidence import CaseEvidence, Observation
from codx.models.diagnosis.posterior import absent_likelihood, finding_contributions, present_likelihood

EPS, DELTA, XF = 0.1, 0.2, 0.1
BG = {"root": 2.3 / 3, "A": 0.4, "A1": 0.8 / 3, "A2": 1 / 6, "B": 1 / 6, "C": 0.5}
PRIOR = [0.25, 0.25, 0.5]


def ev(*obs: tuple[str, str], age: float | None = None, sex: str | None = None) -> CaseEvidence:
    return CaseEvidence(
        observations=[Observation(finding=f, status=s) for f, s in obs],  # type: ignore[arg-type]
        age_years=age,
        sex=sex,  # type: ignore[arg-type]
    )


def normalised(joint: list[float], temperature: float = 1.0) -> list[float]:
    w = [j ** (1 / temperature) for j in joint]
    return [x / sum(w) for x in w]


def probs(model, evidence) -> list[float]:
    return [float(p) for p in model.rank(evidence).probabilities]


def test_compiled_background_rates(tiny_model):
    kn = tiny_model.knowledge
    expected = [BG[f.removeprefix("T:")] for f in kn.finding_ids]
    assert kn.bg == pytest.approx(expected, rel=1e-6)


def test_no_evidence_gives_the_priors(tiny_model):
    assert probs(tiny_model, ev()) == pytest.approx(PRIOR, rel=1e-9)


def test_general_term_matches_most_frequent_descendant(tiny_model):
    # present A: D1 is annotated only with A1 (0.8) and A2 (0.3) -> true path gives max = 0.8;
    # D2 is annotated with A itself (0.4); D3 has NOT A -> eps * excluded_factor * bg(A)
    lik = [
        (1 - EPS) * 0.8 + EPS * BG["A"],  # 0.76
        (1 - EPS) * 0.4 + EPS * BG["A"],  # 0.40
        EPS * XF * BG["A"],  # 0.004
    ]
    assert present_likelihood(tiny_model.knowledge, tiny_model.knowledge.resolve("T:A")) == pytest.approx(lik, rel=1e-6)
    expected = normalised([PRIOR[d] * lik[d] for d in range(3)])
    assert probs(tiny_model, ev(("T:A", "present"))) == pytest.approx(expected, rel=1e-6)
    assert expected[0] == pytest.approx(0.19 / 0.292)  # the arithmetic above, spelled out once


def test_root_term_takes_max_over_all_annotations(tiny_model):
    lik = [(1 - EPS) * 0.8 + EPS * BG["root"], (1 - EPS) * 0.6 + EPS * BG["root"], (1 - EPS) * 0.9 + EPS * BG["root"]]
    expected = normalised([PRIOR[d] * lik[d] for d in range(3)])
    assert probs(tiny_model, ev(("T:root", "present"))) == pytest.approx(expected, rel=1e-6)


def test_specific_term_uses_its_own_frequency(tiny_model):
    # present A2: D1 0.3; D2 only has the more general A, which does not imply A2 -> noise only
    lik = [(1 - EPS) * 0.3 + EPS * BG["A2"], EPS * BG["A2"], EPS * XF * BG["A2"]]
    expected = normalised([PRIOR[d] * lik[d] for d in range(3)])
    assert probs(tiny_model, ev(("T:A2", "present"))) == pytest.approx(expected, rel=1e-6)


def test_annotation_without_frequency_uses_default(tiny_model, make_model, tiny_pack):
    lik = [(1 - EPS) * 0.5 + EPS * BG["B"], EPS * BG["B"], EPS * BG["B"]]
    expected = normalised([PRIOR[d] * lik[d] for d in range(3)])
    assert probs(tiny_model, ev(("T:B", "present"))) == pytest.approx(expected, rel=1e-6)
    # a different default changes D1's likelihood and bg(B) = max(0.9/3, 1/6) = 0.3
    m = make_model(tiny_pack, default_frequency=0.9)
    lik = [(1 - EPS) * 0.9 + EPS * 0.3, EPS * 0.3, EPS * 0.3]
    expected = normalised([PRIOR[d] * lik[d] for d in range(3)])
    assert probs(m, ev(("T:B", "present"))) == pytest.approx(expected, rel=1e-6)


def test_absent_findings(tiny_model):
    kn = tiny_model.knowledge
    # absent C: 1 - (1 - delta) F
    lik_c = [1 - (1 - DELTA) * 0.0, 1 - (1 - DELTA) * 0.6, 1 - (1 - DELTA) * 0.9]  # 1, 0.52, 0.28
    assert absent_likelihood(kn, kn.resolve("T:C")) == pytest.approx(lik_c, rel=1e-6)
    expected = normalised([PRIOR[d] * lik_c[d] for d in range(3)])
    assert probs(tiny_model, ev(("T:C", "absent"))) == pytest.approx(expected, rel=1e-6)
    # absent A uses the true-path frequency too (D1: 0.8); the NOT-annotated D3 is unaffected
    lik_a = [1 - (1 - DELTA) * 0.8, 1 - (1 - DELTA) * 0.4, 1.0]  # 0.36, 0.68, 1
    expected = normalised([PRIOR[d] * lik_a[d] for d in range(3)])
    assert probs(tiny_model, ev(("T:A", "absent"))) == pytest.approx(expected, rel=1e-6)


def test_present_and_absent_multiply(tiny_model):
    pres = [(1 - EPS) * 0.8 + EPS * BG["A1"], EPS * BG["A1"], EPS * XF * BG["A1"]]
    absn = [1.0, 1 - (1 - DELTA) * 0.6, 1 - (1 - DELTA) * 0.9]
    expected = normalised([PRIOR[d] * pres[d] * absn[d] for d in range(3)])
    got = probs(tiny_model, ev(("T:A1", "present"), ("T:C", "absent")))
    assert got == pytest.approx(expected, rel=1e-6)


def test_not_annotation_excludes_descendants(tiny_model):
    kn = tiny_model.knowledge
    d3 = kn.disease_index["D:3"]
    for term in ("T:A", "T:A1", "T:A2"):
        j = kn.resolve(term)
        assert present_likelihood(kn, j)[d3] == pytest.approx(EPS * XF * BG[term[2:]], rel=1e-6)
    # terms outside the excluded subtree are untouched: C is annotated, B is plain noise
    assert present_likelihood(kn, kn.resolve("T:C"))[d3] == pytest.approx((1 - EPS) * 0.9 + EPS * 0.5)
    assert present_likelihood(kn, kn.resolve("T:B"))[d3] == pytest.approx(EPS * BG["B"], rel=1e-6)


def test_excluded_factor_scales_the_excluded_likelihood(make_model, tiny_pack):
    m = make_model(tiny_pack, excluded_factor=0.5)
    kn = m.knowledge
    lik = present_likelihood(kn, kn.resolve("T:A"))
    assert lik[kn.disease_index["D:3"]] == pytest.approx(EPS * 0.5 * BG["A"], rel=1e-6)


def test_priors_weight_the_posterior(tiny_model):
    # present C: D1 noise only, D2 0.6, D3 0.9 with D3 twice as prevalent
    lik = [EPS * BG["C"], (1 - EPS) * 0.6 + EPS * BG["C"], (1 - EPS) * 0.9 + EPS * BG["C"]]
    expected = normalised([PRIOR[d] * lik[d] for d in range(3)])
    assert probs(tiny_model, ev(("T:C", "present"))) == pytest.approx(expected, rel=1e-6)


def test_prior_strength_zero_ignores_pack_priors(make_model, tiny_pack):
    m = make_model(tiny_pack, prior_strength=0.0)
    assert probs(m, ev()) == pytest.approx([1 / 3] * 3)


def test_unsure_changes_nothing(tiny_model):
    base = probs(tiny_model, ev(("T:A", "present")))
    with_unsure = probs(tiny_model, ev(("T:A", "present"), ("T:C", "unsure"), ("T:B", "unsure")))
    assert with_unsure == pytest.approx(base, rel=1e-12)
    assert probs(tiny_model, ev(("T:C", "unsure"))) == pytest.approx(PRIOR, rel=1e-9)


def test_partial_credit_for_more_specific_patient_term(make_model, tiny_pack):
    alpha = 0.5
    m = make_model(tiny_pack, alpha=alpha)
    # present A1; D2 is annotated only with the more general A (0.4) and, by true path, root (0.6):
    # G = max over ancestors a of alpha * F(d, a) * bg(A1) / bg(a)
    g2 = max(alpha * 0.4 * BG["A1"] / BG["A"], alpha * 0.6 * BG["A1"] / BG["root"])  # 0.1333 via A
    # D1 has A1 itself (0.8), larger than any discounted ancestor credit
    g1 = max(0.8, alpha * 0.8 * BG["A1"] / BG["A"], alpha * 0.8 * BG["A1"] / BG["root"])
    lik = [(1 - EPS) * g1 + EPS * BG["A1"], (1 - EPS) * g2 + EPS * BG["A1"], EPS * XF * BG["A1"]]
    kn = m.knowledge
    assert present_likelihood(kn, kn.resolve("T:A1")) == pytest.approx(lik, rel=1e-6)
    expected = normalised([PRIOR[d] * lik[d] for d in range(3)])
    assert probs(m, ev(("T:A1", "present"))) == pytest.approx(expected, rel=1e-6)
    # with alpha = 0 the general annotation earns nothing
    no_credit = present_likelihood(make_model(tiny_pack).knowledge, kn.resolve("T:A1"))
    assert no_credit[1] == pytest.approx(EPS * BG["A1"], rel=1e-6)


def test_partial_credit_through_the_root(make_model, tiny_pack):
    alpha = 0.5
    m = make_model(tiny_pack, alpha=alpha)
    # present C; D1 lacks C and only reaches it through root (F = 0.8)
    g1 = alpha * 0.8 * BG["C"] / BG["root"]
    lik = [(1 - EPS) * g1 + EPS * BG["C"], (1 - EPS) * 0.6 + EPS * BG["C"], (1 - EPS) * 0.9 + EPS * BG["C"]]
    kn = m.knowledge
    assert present_likelihood(kn, kn.resolve("T:C")) == pytest.approx(lik, rel=1e-6)


def test_similarity_credits_the_most_specific_shared_ancestor(make_model, tiny_pack):
    w = 0.7
    m = make_model(tiny_pack, similarity_weight=w)
    kn = m.knowledge
    # present A1: D1 shows A1 itself, D2 only its parent A, D3 only the root (its A subtree is NOT-annotated)
    ic = [-math.log(BG["A1"]), -math.log(BG["A"]), -math.log(BG["root"])]
    assert kn.shared_information(kn.resolve("T:A1")) == pytest.approx(ic, rel=1e-6)
    lik = present_likelihood(kn, kn.resolve("T:A1"))  # the answer model is untouched: still probabilities
    assert lik == pytest.approx(present_likelihood(make_model(tiny_pack).knowledge, kn.resolve("T:A1")), rel=1e-12)
    joint = [math.log(PRIOR[d] * lik[d]) + w * ic[d] for d in range(3)]
    assert m.rank(ev(("T:A1", "present"))).log_scores == pytest.approx(joint, rel=1e-6)
    # two present findings add up; without the weight nothing changes
    both = m.rank(ev(("T:A1", "present"), ("T:C", "present"))).log_scores
    plain = make_model(tiny_pack).rank(ev(("T:A1", "present"), ("T:C", "present"))).log_scores
    ic_c = kn.shared_information(kn.resolve("T:C"))
    assert ic_c == pytest.approx([-math.log(BG["root"]), -math.log(BG["C"]), -math.log(BG["C"])], rel=1e-6)
    assert both == pytest.approx(plain + w * (np.array(ic) + ic_c), rel=1e-6)


def test_coverage_scores_how_much_of_each_disease_the_patient_shares(make_model, tiny_pack):
    w = 0.5
    ic = {k: -math.log(v) for k, v in BG.items()}
    # present A1 shares A1, A and the root. D1's annotations A1 (0.8), A2 (0.3: shares A), B (0.5 by default:
    # shares the root); D2's A (0.4) and C (0.6: the root); D3's only positive annotation C (the root)
    cov = [
        (0.8 * ic["A1"] + 0.3 * ic["A"] + 0.5 * ic["root"]) / 1.6,
        0.4 * ic["A"] + 0.6 * ic["root"],
        ic["root"],
    ]
    m = make_model(tiny_pack, coverage_weight=w)
    kn = m.knowledge
    assert kn.coverage([kn.resolve("T:A1")]) == pytest.approx(cov, rel=1e-6)
    plain = make_model(tiny_pack).rank(ev(("T:A1", "present"))).log_scores
    assert m.rank(ev(("T:A1", "present"))).log_scores == pytest.approx(plain + w * np.array(cov), rel=1e-6)
    # two present findings: each annotation keeps its best match (C now matches itself), times two findings
    both = [
        (0.8 * ic["A1"] + 0.3 * ic["A"] + 0.5 * ic["root"]) / 1.6,
        0.4 * ic["A"] + 0.6 * ic["C"],
        ic["C"],
    ]
    two = ev(("T:A1", "present"), ("T:C", "present"))
    expected = make_model(tiny_pack).rank(two).log_scores + w * 2 * np.array(both)
    assert m.rank(two).log_scores == pytest.approx(expected, rel=1e-6)
    # absent findings share nothing
    assert m.rank(ev(("T:B", "absent"))).log_scores == pytest.approx(
        make_model(tiny_pack).rank(ev(("T:B", "absent"))).log_scores, rel=1e-12
    )


def test_temperature_flattens_the_posterior(make_model, tiny_pack, tiny_model):
    joint = [0.25 * 0.76, 0.25 * 0.40, 0.5 * 0.004]
    hot = make_model(tiny_pack, temperature=2.0)
    assert probs(hot, ev(("T:A", "present"))) == pytest.approx(normalised(joint, 2.0), rel=1e-6)
    cold = make_model(tiny_pack, temperature=0.5)
    assert probs(cold, ev(("T:A", "present"))) == pytest.approx(normalised(joint, 0.5), rel=1e-6)
    # the order and the uncalibrated log scores do not depend on the temperature
    r1, r2 = tiny_model.rank(ev(("T:A", "present"))), hot.rank(ev(("T:A", "present")))
    assert list(r1.order) == list(r2.order) == [0, 1, 2]
    np.testing.assert_allclose(r1.log_scores, r2.log_scores)
    assert r1.log_scores == pytest.approx([math.log(j) for j in joint], rel=1e-6)


@pytest.mark.parametrize(
    ("age", "sex", "factor"),
    [
        (10.0, "female", 3.0 * 2.0),  # both modifiers
        (30.0, "female", 3.0),
        (18.0, "male", 1.0),  # the age band is [0, 18): 18 is outside; no male modifier
        (17.9, None, 2.0),
        (None, None, 1.0),
    ],
)
def test_age_and_sex_modifiers(tiny_model, age, sex, factor):
    lik = [(1 - EPS) * 0.8 + EPS * BG["A"], (1 - EPS) * 0.4 + EPS * BG["A"], EPS * XF * BG["A"]]
    prior = [1.0, 1.0 * factor, 2.0]
    expected = normalised([prior[d] * lik[d] for d in range(3)])
    got = probs(tiny_model, ev(("T:A", "present"), age=age, sex=sex))
    assert got == pytest.approx(expected, rel=1e-6)


def test_obsolete_alias_scores_like_the_current_term(tiny_model):
    assert probs(tiny_model, ev(("T:OLD", "present"))) == pytest.approx(
        probs(tiny_model, ev(("T:A1", "present"))), rel=1e-12
    )


def test_ranking_order_and_top(tiny_model):
    r = tiny_model.rank(ev(("T:C", "present")))
    assert [i for i, _ in r.top(3)] == [2, 1, 0]
    assert sum(p for _, p in r.top(3)) == pytest.approx(1.0)
    assert r.top(1)[0][1] == pytest.approx(float(r.probabilities.max()))


def test_finding_contributions_signs(tiny_model):
    n = tiny_model.normalise(ev(("T:A1", "present"), ("T:C", "absent")))
    contrib = finding_contributions(tiny_model.knowledge, n, [0, 1, 2])
    a1, c = tiny_model.knowledge.resolve("T:A1"), tiny_model.knowledge.resolve("T:C")
    # log LR of present A1 against bg(A1)
    assert contrib[0][a1] == pytest.approx(math.log((0.72 + EPS * BG["A1"]) / BG["A1"]), rel=1e-6)
    assert contrib[0][a1] > 0 > contrib[2][a1]
    # absent C (negative key) lowers D3 (F = 0.9) and raises D1 (F = 0)
    assert contrib[2][-c - 1] < 0 < contrib[0][-c - 1]


def _gene_pack():
    from codx.models.packs.schema import Annotation, Disease, Finding, Pack, PackMeta

    diseases = [
        Disease(id="OMIM:1", name="o1", genes=["G1"]),
        Disease(id="ORPHA:1", name="r1", genes=["G1"]),
        Disease(id="OMIM:2", name="o2", genes=["G2"]),
        Disease(id="OMIM:3", name="o3", genes=["G1"]),
        Disease(id="ORPHA:9", name="r9", genes=["G1", "G2"]),  # two genes: borrows, but lends nothing
    ]
    anns = [
        ("OMIM:1", "F:X", 0.8),
        ("ORPHA:1", "F:X", 0.4),
        ("ORPHA:1", "F:Y", 0.5),
        ("OMIM:2", "F:Z", 0.6),
        ("OMIM:3", "F:W", 0.9),
        ("ORPHA:9", "F:V", 1.0),
    ]
    findings = [Finding(id=f, label=f) for f in ("F:X", "F:Y", "F:Z", "F:W", "F:V")]
    return Pack.from_records(
        PackMeta(name="genes", version="1"),
        diseases,
        findings,
        [Annotation(disease=d, finding=f, frequency=fr) for d, f, fr in anns],
    )


def test_related_weight_borrows_from_single_gene_entries_of_other_databases(make_model):
    w = 0.3
    kn = make_model(_gene_pack(), related_weight=w).knowledge
    order = ["OMIM:1", "ORPHA:1", "OMIM:2", "OMIM:3", "ORPHA:9"]
    assert kn.disease_ids == order

    def col(f):
        return dict(zip(order, kn.column(kn.resolve(f)).tolist(), strict=True))

    # OMIM:1 keeps its own X and borrows Y from ORPHA:1 (same gene G1, other namespace), not W from OMIM:3
    # OMIM:3 borrows X and Y from ORPHA:1; ORPHA:1 borrows W from OMIM:3 (its X is its own);
    # ORPHA:9 (G1 and G2) borrows from every single-gene entry in the other namespace; nobody borrows V
    want = {
        "F:X": {"OMIM:1": 0.8, "ORPHA:1": 0.4, "OMIM:2": 0.0, "OMIM:3": 0.4 * w, "ORPHA:9": 0.8 * w},
        "F:Y": {"OMIM:1": 0.5 * w, "ORPHA:1": 0.5, "OMIM:2": 0.0, "OMIM:3": 0.5 * w, "ORPHA:9": 0.0},
        "F:Z": {"OMIM:1": 0.0, "ORPHA:1": 0.0, "OMIM:2": 0.6, "OMIM:3": 0.0, "ORPHA:9": 0.6 * w},
        "F:W": {"OMIM:1": 0.0, "ORPHA:1": 0.9 * w, "OMIM:2": 0.0, "OMIM:3": 0.9, "ORPHA:9": 0.9 * w},
        "F:V": {"OMIM:1": 0.0, "ORPHA:1": 0.0, "OMIM:2": 0.0, "OMIM:3": 0.0, "ORPHA:9": 1.0},
    }
    for f, expected in want.items():
        assert col(f) == pytest.approx(expected, rel=1e-6), f
    # the background rate counts borrowed frequencies too
    assert kn.bg[kn.resolve("F:Y")] == pytest.approx((0.5 * w + 0.5 + 0.5 * w) / 5, rel=1e-6)


def test_related_weight_zero_borrows_nothing(make_model):
    kn = make_model(_gene_pack(), related_weight=0.0).knowledge
    y = kn.column(kn.resolve("F:Y"))
    assert y.tolist() == pytest.approx([0.0, 0.5, 0.0, 0.0, 0.0])


def _other_pack():
    from codx.models.packs.schema import Annotation, Disease, Finding, Pack, PackMeta

    return Pack.from_records(
        PackMeta(name="other", version="1"),
        [Disease(id="X:9", name="nine", prior=5.0)],
        [Finding(id="T:C", label="C"), Finding(id="X:only", label="only here")],
        [Annotation(disease="X:9", finding="T:C", frequency=0.5), Annotation(disease="X:9", finding="X:only")],
    )


def test_several_packs_priors_and_weights(tiny_pack):
    from codx.models.diagnosis.model import DiagnosisModel, ModelCard
    from codx.models.diagnosis.params import DiagnosisParams

    def model(weights):
        card = ModelCard(name="m", packs=[], params=DiagnosisParams(), pack_weights=weights, training_data="t")
        return DiagnosisModel([tiny_pack, _other_pack()], card)

    # each pack's priors are normalised within the pack, then the packs are weighted
    equal = model({})
    assert equal.knowledge.disease_ids == ["D:1", "D:2", "D:3", "X:9"]
    assert probs(equal, ev()) == pytest.approx([0.5 * 0.25, 0.5 * 0.25, 0.5 * 0.5, 0.5], rel=1e-9)
    weighted = model({"tiny": 3.0, "other": 1.0})
    assert probs(weighted, ev()) == pytest.approx([0.75 * 0.25, 0.75 * 0.25, 0.75 * 0.5, 0.25], rel=1e-9)
    # findings are unified by id: T:C is one column shared by both packs
    kn = equal.knowledge
    assert kn.finding_ids.count("T:C") == 1
    assert kn.column(kn.resolve("T:C")).tolist() == pytest.approx([0.0, 0.6, 0.9, 0.5])


def test_packs_sharing_disease_ids_are_rejected(tiny_pack, make_model):
    from codx.errors import PackError

    with pytest.raises(PackError, match="share disease ids"):
        make_model([tiny_pack, tiny_pack])


def test_cyclic_hierarchy_is_rejected(pack_builder, make_model):
    from codx.errors import PackError

    pack = pack_builder([("D:1", "F:a", 0.5)], parents={"F:a": ["F:b"], "F:b": ["F:a"]})
    with pytest.raises(PackError, match="codx pack validate"):
        make_model(pack)


def test_shared_information_is_safe_across_threads(make_model, tiny_pack, monkeypatch):
    """The app's threads share one model: the small cache of columns must not break under concurrent use."""
    from concurrent.futures import ThreadPoolExecutor

    import codx.models.diagnosis.knowledge as knowledge

    monkeypatch.setattr(knowledge, "SHARED_CACHE", 2)  # constant eviction
    kn = make_model(tiny_pack, similarity_weight=1.0).knowledge
    expected = {j: kn.shared_information(j).copy() for j in range(kn.n_findings)}
    jobs = [j for _ in range(200) for j in range(kn.n_findings)]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(kn.shared_information, jobs))
    for j, got in zip(jobs, results, strict=True):
        np.testing.assert_array_equal(got, expected[j])
    assert not kn.shared_information(0).flags.writeable  # callers cannot corrupt the cache
