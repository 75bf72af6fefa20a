"""Simulated patients, dialogs and `train_model` on the tiny pack."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from codx.errors import ModelNotTrainedError
from codx.models.diagnosis.inquiry import StopRule
from codx.models.diagnosis.model import DiagnosisModel, ModelCard
from codx.models.diagnosis.params import DiagnosisParams
from codx.training.diagnosis import LITERATURE_COVERAGE, LITERATURE_GRID, LITERATURE_SIMILARITY, RECIPE, train_model
from codx.training.simulate import InteractiveCase, Noise, full_evidence, run_dialog, sample_cases


def test_sample_cases_are_drawn_from_the_pack(tiny_model):
    kn = tiny_model.knowledge
    cases = sample_cases(tiny_model, 200, np.random.default_rng(0))
    assert len(cases) == 200
    assert len({c.id for c in cases}) == 200
    golds = [c.gold for c in cases]
    assert set(golds) <= set(kn.disease_ids)
    # D:3 has twice the prior of D:1 and D:2 (and always shows a finding with p 0.9)
    counts = {d: golds.count(d) for d in kn.disease_ids}
    assert counts["D:3"] > counts["D:1"] and counts["D:3"] > counts["D:2"]
    for c in cases:
        assert len(c.initial) == 1 and set(c.initial.values()) == {"present"}
        assert set(c.initial).isdisjoint(c.answers)
        for fid in [*c.initial, *c.answers]:
            assert fid in kn.finding_index
        assert set(c.answers.values()) <= {"present", "absent"}


def test_sample_cases_are_reproducible(tiny_model):
    a = sample_cases(tiny_model, 30, np.random.default_rng(7))
    b = sample_cases(tiny_model, 30, np.random.default_rng(7))
    assert [c.model_dump() for c in a] == [c.model_dump() for c in b]


def test_sample_cases_without_noise_follow_annotations(tiny_model):
    kn = tiny_model.knowledge
    quiet = Noise(generalise=0.0, extra_rate=0.0, checked=0)
    shown = {
        "D:1": {"T:A1", "T:A2", "T:B"},
        "D:2": {"T:A", "T:C"},
        "D:3": {"T:C"},
    }
    for c in sample_cases(tiny_model, 100, np.random.default_rng(1), quiet):
        present = {f for f, a in {**c.initial, **c.answers}.items() if a == "present"}
        assert present and present <= shown[c.gold], c
        assert all(a == "present" for a in c.answers.values())
    assert kn.n_diseases == 3


def test_checked_absent_findings_come_from_the_differential_not_the_patient(tiny_model):
    noisy = Noise(generalise=0.0, extra_rate=0.0, checked=3)
    for c in sample_cases(tiny_model, 60, np.random.default_rng(2), noisy):
        present = {f for f, a in {**c.initial, **c.answers}.items() if a == "present"}
        absent = {f for f, a in c.answers.items() if a == "absent"}
        assert not present & absent
        kn = tiny_model.knowledge
        implied = {kn.finding_ids[a] for f in present for a in kn.ancestors[kn.finding_index[f]]}
        assert not absent & implied  # a finding implied by what the patient has is never "absent"


def test_run_dialog_reaches_a_diagnosis_without_repeats(tiny_model):
    case = InteractiveCase(
        id="c1",
        gold="D:1",
        initial={"T:A1": "present"},
        answers={"T:B": "present", "T:C": "absent", "T:A2": "present"},
    )
    asked: list[tuple[str, str]] = []
    rule = StopRule(tau=0.99, max_questions=10, min_gain=0.0)
    result = run_dialog(tiny_model, case, rule, on_question=lambda f, a: asked.append((f, a)))
    labels = [f for f, _ in result.questions]
    assert len(labels) == len(set(labels))  # no question twice
    assert "T:A1" not in labels and "T:A" not in labels  # said / implied at the start
    assert asked == result.questions
    for f, a in result.questions:
        assert a == case.answers.get(f, "unsure")
    top = int(result.ranking.order[0])
    assert tiny_model.knowledge.disease_ids[top] == "D:1"
    assert len(labels) <= rule.max_questions


def test_run_dialog_respects_budget_and_tau(tiny_model):
    case = InteractiveCase(id="c", gold="D:3", initial={"T:C": "present"}, answers={"T:A": "absent"})
    none = run_dialog(tiny_model, case, StopRule(tau=0.99, max_questions=0))
    assert none.questions == []
    # tau already reached by the prior-weighted initial finding: nothing asked
    easy = run_dialog(tiny_model, case, StopRule(tau=0.1, max_questions=10))
    assert easy.questions == []
    one = run_dialog(tiny_model, case, StopRule(tau=0.999, max_questions=1, min_gain=0.0))
    assert len(one.questions) == 1


def test_run_dialog_with_group_question(pack_builder, make_model):
    pack = pack_builder(
        [("D:1", "G:l1", 0.9), ("D:2", "G:l2", 0.9), ("D:1", "F:X", 0.5), ("D:2", "F:X", 0.5)],
        groups={"G:where": "categorical"},
        group_of={"G:l1": "G:where", "G:l2": "G:where"},
    )
    m = make_model(pack, eps=0.01)
    case = InteractiveCase(id="g", gold="D:2", initial={"F:X": "present"}, answers={"G:l2": "present"})
    result = run_dialog(m, case, StopRule(tau=0.9, max_questions=5, min_gain=0.0))
    assert result.questions[0] == ("G:where", "present")
    assert m.knowledge.disease_ids[int(result.ranking.order[0])] == "D:2"
    assert len(result.questions) == 1


def test_run_dialog_reports_input_messages(tiny_model):
    case = InteractiveCase(id="m", gold="D:1", initial={"T:A1": "present", "T:NOPE": "present"}, answers={})
    result = run_dialog(tiny_model, case, StopRule(tau=0.1))
    assert any("T:NOPE" in m for m in result.messages)


def test_full_evidence_merges_initial_and_answers():
    case = InteractiveCase(
        id="x", gold=None, age=3.0, sex="male", initial={"T:A": "present"}, answers={"T:C": "absent"}
    )
    ev = full_evidence(case)
    assert {(o.finding, o.status) for o in ev.observations} == {("T:A", "present"), ("T:C", "absent")}
    assert ev.age_years == 3.0 and ev.sex == "male"


@pytest.fixture(scope="module")
def trained(tiny_pack_factory):
    return train_model(
        [tiny_pack_factory()], "tiny-model", n_synthetic=80, seed=3, rule=StopRule(tau=0.8, max_questions=3)
    )


def test_train_model_fills_the_card(trained):
    card = trained.card
    assert card.name == "tiny-model"
    assert [(p.name, p.version) for p in card.packs] == [("tiny", "1")]
    assert isinstance(card.params, DiagnosisParams)
    assert card.params.temperature > 0 and card.params.temperature != 1.0
    # the tiny pack has a hierarchy: its grid was searched, and shared information counts
    for key, values in LITERATURE_GRID.items():
        assert getattr(card.params, key) in values, key
    assert card.params.similarity_weight == LITERATURE_SIMILARITY and card.recipe == RECIPE
    assert card.params.coverage_weight == LITERATURE_COVERAGE
    assert card.reliability is not None and card.reliability.n > 0
    assert 0.0 <= card.reliability.ece <= 1.0
    assert sum(b.count for b in card.reliability.bins) == card.reliability.n
    for key in ("fit_top1", "fit_mrr", "heldout_top1", "heldout_top3", "heldout_ece"):
        assert 0.0 <= card.metrics[key] <= 1.0, key
    assert card.metrics["heldout_top3"] == 1.0  # three diseases
    assert card.n_training_cases == 80 and "80 synthetic" in card.training_data
    assert trained.knowledge.params == card.params


def test_train_model_reports_progress(tiny_pack):
    stages: list[tuple[str, float]] = []
    train_model([tiny_pack], "p", n_synthetic=40, seed=0, progress=lambda s, f: stages.append((s, f)))
    assert stages[-1] == ("done", 1.0)
    assert any(s.startswith("parameter search") for s, _ in stages)
    assert all(0.0 <= f <= 1.0 for _, f in stages)


def test_model_save_and_load_card(trained, tmp_path):
    folder = trained.save(tmp_path / "m")
    assert (folder / "card.json").exists() and (folder / "MODEL_CARD.md").exists()
    assert not list(folder.glob("*.tmp"))
    card = DiagnosisModel.load_card(folder)
    assert card == trained.card
    md = (folder / "MODEL_CARD.md").read_text()
    assert "tiny-model" in md and "temperature" in md and "ECE" in md
    # a model rebuilt from the card ranks exactly like the trained one
    again = DiagnosisModel(trained.packs, card)
    ev = full_evidence(InteractiveCase(id="x", gold=None, initial={"T:A1": "present"}, answers={}))
    np.testing.assert_allclose(again.rank(ev).probabilities, trained.rank(ev).probabilities)


def test_load_card_missing(tmp_path):
    with pytest.raises(ModelNotTrainedError, match="codx train diagnosis"):
        DiagnosisModel.load_card(tmp_path / "none")


def test_card_markdown_lists_params_and_metrics():
    card = ModelCard(name="m", packs=[], params=DiagnosisParams(eps=0.05), training_data="t", metrics={"top1": 0.5})
    md = card.to_markdown()
    assert "`eps` = 0.05" in md and "- top1: 0.5000" in md and "Reliability" not in md


def test_a_flat_pack_gets_no_shared_information_credit(tiny_pack):
    """Without a hierarchy a finding shares nothing with a disease but itself: the credit would only double
    the weight of exact matches."""
    flat = dataclasses.replace(tiny_pack, findings=[f.model_copy(update={"parents": []}) for f in tiny_pack.findings])
    params = train_model([flat], "flat", n_synthetic=40, seed=0).card.params
    assert params.similarity_weight == params.coverage_weight == 0.0
