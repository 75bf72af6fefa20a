"""Exports: the JSON summary, the PDF drawn from it, and the doctor's phenopacket."""

from __future__ import annotations

import json
from io import BytesIO

import pytest
from pypdf import PdfReader

from codx.agent.session import new_thread_id
from codx.ui import export, pdf
from codx.ui.export import phenopacket, summary, summary_json
from codx.ui.pdf import render_pdf


def finished(engine, opening: str = "I have a sore throat", answers: str = "yes") -> str:
    cons, t = engine.consultations, new_thread_id()
    cons.turn(t, opening)
    for _ in range(8):
        if cons.view(t).question is None:
            break
        cons.turn(t, answers)
    return t


def summary_of(engine, t: str) -> dict:
    view = engine.consultations.view(t)
    return summary(view, engine.consultations.assess(view), engine.emergency_number)


def pdf_text(data: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(BytesIO(data)).pages)


def test_json_summary_holds_findings_differential_urgency_and_disclaimer(engine):
    data = summary_of(engine, finished(engine))
    assert {f["id"] for f in data["findings"]} >= {"C:sore_throat"}
    probs = [c["probability"] for c in data["differential"]]
    assert probs == sorted(probs, reverse=True) and 0.5 <= probs[0] <= 1
    assert data["urgency"]["level"] in ("emergency", "urgent", "routine", "self_care")
    assert data["decision"] == "diagnose" and data["questions_asked"] >= 1
    assert "not a medical device" in data["disclaimer"] and data["emergency_number"] == "112"
    assert "next_questions" not in data, "patients get no doctor columns"
    assert json.loads(summary_json(data)) == data


def test_the_summary_is_in_the_consultation_language(engine):
    data = summary_of(engine, finished(engine, "Tengo dolor de garganta", "sí"))
    assert data["language"] == "es" and "no es un dispositivo médico" in data["disclaimer"]


def test_pdf_has_the_differential_findings_and_disclaimer(engine):
    data = summary_of(engine, finished(engine))
    blob = render_pdf(data)
    assert blob.startswith(b"%PDF-")
    text = pdf_text(blob)
    assert "codx consultation summary" in text
    assert "Sore throat" in text and data["differential"][0]["label"] in text
    assert "not a medical device" in text and "Urgency" in text


def test_pdf_with_red_flags_and_a_non_latin_language_without_any_font_file(engine, monkeypatch):
    """Without DejaVu the built-in font draws Latin-1 only: other characters are dropped, never an error."""
    monkeypatch.setattr(pdf, "FONT_DIRS", ())
    cons, t = engine.consultations, new_thread_id()
    cons.turn(t, "我胸痛")  # chest pain, in Chinese: a red flag
    data = summary_of(engine, t)
    assert data["red_flags"] and data["urgency"]["level"] == "emergency"
    text = pdf_text(render_pdf(data))
    assert "EMERGENCY SIGNS" in text and "112" in text


@pytest.mark.skipif(not any((d / "DejaVuSans.ttf").exists() for d in pdf.FONT_DIRS), reason="no DejaVu font")
def test_pdf_adds_the_disclaimer_in_a_latin_script_language(engine):
    data = summary_of(engine, finished(engine, "Tengo dolor de garganta", "sí"))
    assert "no es un dispositivo médico" in pdf_text(render_pdf(data))


def test_phenopacket_of_the_findings(engine):
    cons, t = engine.consultations, new_thread_id()
    cons.edit_findings(t, add=[("C:sore_throat", "present"), ("C:fever", "absent"), ("C:nausea", "unsure")])
    packet = phenopacket(cons.view(t), {"clinic": "test"})
    assert packet["id"] == f"codx-{t}" and packet["subject"]["id"] == f"patient-{t}"
    features = {f["type"]["id"]: f for f in packet["phenotypicFeatures"]}
    assert set(features) == {"C:sore_throat", "C:fever"}, "'not sure' has no phenopacket form"
    assert features["C:fever"]["excluded"] is True and "excluded" not in features["C:sore_throat"]
    assert features["C:sore_throat"]["type"]["label"] == "Sore throat"
    meta = packet["metaData"]
    assert meta["phenopacketSchemaVersion"] == "2.0" and meta["created"].endswith("Z")
    assert [r["namespacePrefix"] for r in meta["resources"]] == ["C"]


def test_phenopacket_cites_the_hpo_release_for_hpo_terms():
    from codx.ui.consultations import ThreadView

    view = ThreadView(
        thread_id="t1",
        findings=[{"id": "HP:0001945", "label": "Fever", "status": "present", "source": "doctor", "evidence": ""}],
    )
    packet = phenopacket(view, {"hpo": "2025-01-16"})
    (resource,) = packet["metaData"]["resources"]
    assert resource == {**export.HPO_RESOURCE, "version": "2025-01-16"}
