"""Opposite directions: a finding must not be read as its opposite ("wide" as "narrow")."""

from __future__ import annotations

import pytest

from codx.models.diagnosis.knowledge import Knowledge
from codx.models.diagnosis.params import DiagnosisParams
from codx.models.language.directions import PENALTY, conflicts, directions
from codx.models.language.encoder import MiniLMEncoder
from codx.models.language.retrieval import FindingIndex
from codx.models.packs.schema import Annotation, Disease, Finding, Pack, PackMeta


def test_words_of_one_end_give_a_direction():
    assert directions("Wide foot") == {("width", 1)}
    assert directions("Narrow foot") == {("width", -1)}
    assert ("speed", 1) in directions("tachycardia") and ("speed", -1) in directions("Slow heartbeat")
    assert ("level", -1) in directions("Hypoglycemia")
    assert conflicts(directions("Sweating profusely"), directions("Hypohidrosis")) == 1
    assert directions("Cough") == frozenset()
    assert directions("wide and narrow spots") == frozenset()  # both ends: no direction


def test_fixed_names_are_not_directions():
    assert directions("Curved big toe") == frozenset()  # the hallux, not a large toe
    assert directions("Bent little finger") == frozenset()
    assert ("thickness", -1) in directions("Thin long bones") and ("length", 1) not in directions("Thin long bones")


def test_conflicts_count_opposite_axes_only():
    assert conflicts(directions("Wide foot"), directions("Narrow foot")) == 1
    assert conflicts(directions("Wide foot"), directions("Broad foot")) == 0
    assert conflicts(directions("Early fast growth"), directions("Delayed slow growth")) == 2
    assert conflicts(directions("Wide foot"), directions("Long foot")) == 0  # another axis


@pytest.fixture(scope="module")
def feet() -> Knowledge:
    labels = {"F:root": "Abnormal foot", "F:broad": "Broad foot", "F:narrow": "Narrow foot", "F:long": "Long foot"}
    findings = [
        Finding(id=fid, label=label, parents=[] if fid == "F:root" else ["F:root"], askable=fid != "F:root")
        for fid, label in labels.items()
    ]
    pack = Pack.from_records(
        PackMeta(name="feet", version="test"),
        [Disease(id="D:1", name="A foot disease")],
        findings,
        [Annotation(disease="D:1", finding="F:broad", frequency=0.5)],
    )
    return Knowledge([pack], DiagnosisParams())


def test_retrieval_does_not_read_a_finding_as_its_opposite(feet, tmp_path):
    index = FindingIndex.build(feet, MiniLMEncoder(), tmp_path)
    (hits,) = index.search(["Wide foot"], k=3)
    assert feet.finding_ids[hits[0].finding] == "F:broad"
    encoder = MiniLMEncoder()
    raw = encoder.encode(["Wide foot"]) @ encoder.encode(["Narrow foot", "Broad foot"], "passage").T
    assert raw[0, 0] > raw[0, 1]  # MiniLM alone prefers the opposite
    narrow = next(h for h in hits if feet.finding_ids[h.finding] == "F:narrow")
    assert narrow.score == pytest.approx(float(raw[0, 0]) - PENALTY, abs=1e-4)
