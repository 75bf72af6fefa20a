"""Urgency from the posterior: levels by probability mass, red flags override, reasons shown."""

from __future__ import annotations

import numpy as np
import pytest

from codx.models.diagnosis.knowledge import Knowledge
from codx.models.diagnosis.params import DiagnosisParams
from codx.models.diagnosis.posterior import Ranking
from codx.models.diagnosis.triage import EMERGENCY_SEEN_TODAY, LEVELS, THRESHOLDS, triage
from codx.models.packs.schema import Annotation, Disease, Finding, Pack, PackMeta

DISEASES = [
    ("X:mi", "Heart attack", "emergency", ["F:crushing"]),
    ("X:pneumonia", "Pneumonia", "urgent", []),
    ("X:reflux", "Reflux", "routine", []),
    ("X:strain", "Muscle strain", "self_care", []),
    ("OMIM:1", "A rare disease", None, []),
]


@pytest.fixture(scope="module")
def kn() -> Knowledge:
    findings = [Finding(id=f"F:{n}", label=n, lay_label=n) for n in ("crushing", "cough", "burning", "tender")]
    diseases = [Disease(id=i, name=n, urgency=u, red_flags=r) for i, n, u, r in DISEASES]
    anns = [
        Annotation(disease=d, finding=f, frequency=0.8)
        for d, f in [
            ("X:mi", "F:crushing"),
            ("X:pneumonia", "F:cough"),
            ("X:reflux", "F:burning"),
            ("X:strain", "F:tender"),
            ("OMIM:1", "F:cough"),
        ]
    ]
    return Knowledge([Pack.from_records(PackMeta(name="t", version="1"), diseases, findings, anns)], DiagnosisParams())


def ranking(p: list[float]) -> Ranking:
    prob = np.asarray(p, dtype=np.float64)
    return Ranking(probabilities=prob, log_scores=np.log(prob + 1e-12), order=np.argsort(-prob, kind="stable"))


@pytest.mark.parametrize(
    ("p", "level"),
    [
        ([THRESHOLDS["emergency"] + 0.01, 0.0, 0.29, 0.6, 0.0], "emergency"),
        ([EMERGENCY_SEEN_TODAY + 0.005, 0.0, 0.2, 0.765, 0.0], "urgent"),
        ([0.0, 0.3, 0.2, 0.5, 0.0], "urgent"),
        ([0.0, 0.1, 0.4, 0.5, 0.0], "routine"),
        ([0.0, 0.0, 0.0, 0.7, 0.3], "self_care"),
        ([0.0, 0.0, 0.0, 0.5, 0.5], "routine"),  # a disease without urgency counts as routine
        ([0.0, 0.0, 0.05, 0.95, 0.0], "self_care"),
    ],
)
def test_level_from_probability_mass(kn, p, level):
    t = triage(kn, ranking(p), present=[])
    assert t.level == level
    assert set(t.by_level) == set(LEVELS)
    assert sum(t.by_level.values()) == pytest.approx(1.0, abs=1e-3)
    assert "%" in t.reason


def test_text_red_flag_overrides(kn):
    t = triage(kn, ranking([0.0, 0.0, 0.0, 1.0, 0.0]), present=[], text_flags=["Possible stroke"])
    assert t.level == "emergency" and "Possible stroke" in t.reason


def test_pack_red_flag_counts_only_while_its_condition_is_in_play(kn):
    crushing = kn.finding_index["F:crushing"]
    flagged = triage(kn, ranking([0.02, 0.0, 0.0, 0.98, 0.0]), present=[crushing])
    assert flagged.level == "emergency"
    assert "red flag" in flagged.reason and "Heart attack" in flagged.reason
    ruled_out = triage(kn, ranking([0.001, 0.0, 0.0, 0.999, 0.0]), present=[crushing])
    assert ruled_out.level == "self_care"


def test_never_downgrades_below_the_mass_decision(kn):
    t = triage(kn, ranking([0.5, 0.0, 0.0, 0.5, 0.0]), present=[])
    assert t.level == "emergency"
