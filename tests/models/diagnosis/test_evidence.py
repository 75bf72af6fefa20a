"""normalise(): ids resolved, bad input reported, and the hierarchy reduced so nothing counts twice."""

from __future__ import annotations

import dataclasses

import pytest
from pydantic import ValidationError

from codx.models.diagnosis.evidence import CaseEvidence, Observation, normalise


def ev(*obs: tuple[str, str], **kw) -> CaseEvidence:
    return CaseEvidence(observations=[Observation(finding=f, status=s) for f, s in obs], **kw)  # type: ignore[arg-type]


@pytest.fixture
def kn(tiny_model):
    return tiny_model.knowledge


def ids(kn, idx) -> set[str]:
    return {kn.finding_ids[j] for j in idx}


def test_obsolete_id_mapped_through_alias(kn):
    out = normalise(kn, ev(("T:OLD", "present")))
    assert ids(kn, out.present) == {"T:A1"}
    assert out.messages == []


def test_obsolete_id_mapped_through_alias_chain(tiny_pack, make_model):
    pack = dataclasses.replace(tiny_pack, aliases={"T:OLDER": "T:OLD", "T:OLD": "T:A1"})
    kn = make_model(pack).knowledge
    out = normalise(kn, ev(("T:OLDER", "present")))
    assert ids(kn, out.present) == {"T:A1"}
    assert out.messages == []


def test_alias_cycle_is_unknown(tiny_pack, make_model):
    pack = dataclasses.replace(tiny_pack, aliases={"T:X": "T:Y", "T:Y": "T:X"})
    kn = make_model(pack).knowledge
    out = normalise(kn, ev(("T:X", "present")))
    assert out.present == [] and len(out.messages) == 1 and "T:X" in out.messages[0]


def test_whitespace_around_id_is_ignored(kn):
    out = normalise(kn, ev(("  T:C ", "present")))
    assert ids(kn, out.present) == {"T:C"}


def test_unknown_id_reported_and_ignored(kn):
    out = normalise(kn, ev(("T:NOPE", "present"), ("T:C", "present")))
    assert ids(kn, out.present) == {"T:C"}
    assert len(out.messages) == 1
    assert "T:NOPE" in out.messages[0]


def test_duplicate_reported_once(kn):
    out = normalise(kn, ev(("T:C", "present"), ("T:C", "present")))
    assert ids(kn, out.present) == {"T:C"}
    assert len(out.messages) == 1 and "duplicate" in out.messages[0] and "T:C" in out.messages[0]


def test_alias_and_current_id_are_duplicates(kn):
    out = normalise(kn, ev(("T:A1", "present"), ("T:OLD", "present")))
    assert ids(kn, out.present) == {"T:A1"}
    assert len(out.messages) == 1 and "duplicate" in out.messages[0]


@pytest.mark.parametrize(("first", "second"), [("present", "absent"), ("absent", "present")])
def test_conflict_later_answer_wins(kn, first, second):
    out = normalise(kn, ev(("T:C", first), ("T:C", second)))
    assert ids(kn, out.present if second == "present" else out.absent) == {"T:C"}
    assert (out.absent if second == "present" else out.present) == []
    assert len(out.messages) == 1
    msg = out.messages[0]
    assert "T:C" in msg and first in msg and second in msg and "later" in msg


def test_conflict_with_unsure_keeps_later(kn):
    out = normalise(kn, ev(("T:C", "present"), ("T:C", "unsure")))
    assert out.present == [] and ids(kn, out.unsure) == {"T:C"}
    assert len(out.messages) == 1


def test_absent_ancestor_of_present_term_dropped(kn):
    out = normalise(kn, ev(("T:A1", "present"), ("T:A", "absent"), ("T:C", "absent")))
    assert ids(kn, out.present) == {"T:A1"}
    assert ids(kn, out.absent) == {"T:C"}
    assert len(out.messages) == 1
    assert "T:A" in out.messages[0] and "absent" in out.messages[0]


def test_absent_root_with_present_leaf_dropped(kn):
    out = normalise(kn, ev(("T:root", "absent"), ("T:B", "present")))
    assert out.absent == [] and ids(kn, out.present) == {"T:B"}
    assert any("T:root" in m for m in out.messages)


def test_most_specific_present_terms_kept(kn):
    out = normalise(kn, ev(("T:root", "present"), ("T:A", "present"), ("T:A1", "present"), ("T:C", "present")))
    assert ids(kn, out.present) == {"T:A1", "T:C"}
    assert out.messages == []


def test_siblings_both_kept(kn):
    out = normalise(kn, ev(("T:A1", "present"), ("T:A2", "present")))
    assert ids(kn, out.present) == {"T:A1", "T:A2"}


def test_most_general_absent_terms_kept(kn):
    out = normalise(kn, ev(("T:A1", "absent"), ("T:A", "absent"), ("T:A2", "absent"), ("T:B", "absent")))
    assert ids(kn, out.absent) == {"T:A", "T:B"}
    assert out.messages == []


def test_answered_includes_ancestors_of_present_and_descendants_of_absent(kn):
    out = normalise(kn, ev(("T:A1", "present"), ("T:A", "absent"), ("T:B", "unsure")))
    # A is contradicted, so only A1's ancestors count; B (unsure) is answered too
    assert ids(kn, out.answered) == {"T:A1", "T:A", "T:root", "T:B"}
    out = normalise(kn, ev(("T:A", "absent"), ("T:C", "present")))
    assert ids(kn, out.answered) == {"T:A", "T:A1", "T:A2", "T:C", "T:root"}


def test_age_and_sex_pass_through(kn):
    out = normalise(kn, ev(("T:C", "present"), age_years=42.0, sex="female"))
    assert out.age_years == 42.0 and out.sex == "female"


def test_empty_evidence(kn):
    out = normalise(kn, CaseEvidence())
    assert out.present == out.absent == out.unsure == [] and out.answered == set() and out.messages == []


@pytest.mark.parametrize(
    "bad",
    [
        {"observations": [{"finding": "", "status": "present"}]},
        {"observations": [{"finding": "T:C", "status": "maybe"}]},
        {"age_years": -1},
        {"sex": "other"},
    ],
)
def test_invalid_evidence_rejected(bad):
    with pytest.raises(ValidationError):
        CaseEvidence.model_validate(bad)
