"""`codx bench vignettes`: converters, gold matching, the report shape, and the real command on dev data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from support.clinic import clinic_pack

from codx.bench.vignettes import GoldMatcher, read_vignettes, run_vignettes
from codx.cli.main import cli
from codx.errors import InputFileError
from codx.models.diagnosis.model import DiagnosisModel, ModelCard
from codx.models.diagnosis.params import DiagnosisParams
from codx.models.diagnosis.triage import LEVELS
from codx.models.language.extract import FindingExtractor
from codx.models.language.matcher import FindingMatcher
from codx.models.packs.schema import Disease, Pack

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "vignettes"

AGENTCLINIC = {
    "OSCE_Examination": {
        "Objective_for_Doctor": "Assess the patient.",
        "Patient_Actor": {"Demographics": "30-year-old female", "History": "Fever and muscle aches for two days."},
        "Physical_Examination_Findings": {"Vital_Signs": {"Temperature": "39.1°C"}},
        "Correct_Diagnosis": "Influenza",
    }
}
MEDIQ_DX = {
    "id": 7,
    "question": "Which of the following is the most likely diagnosis?",
    "context": ["A boy has a sore throat", "He has fever"],
    "answer": "Strep throat",
    "options": {},
}
MEDIQ_OTHER = {"id": 8, "question": "Which drug was given?", "context": ["x"], "answer": "Ceftriaxone", "options": {}}
CODX = {
    "id": "c1",
    "text": "Runny nose and sneezing, no fever.",
    "age": 8,
    "sex": "male",
    "gold_diagnosis": "Common cold",
    "gold_urgency": "self_care",
}


def write(tmp_path: Path, rows: list) -> Path:
    path = tmp_path / "cases.jsonl"
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def test_reads_three_shapes(tmp_path):
    cases, counts = read_vignettes(write(tmp_path, [AGENTCLINIC, MEDIQ_DX, MEDIQ_OTHER, CODX]))
    assert counts == {"agentclinic": 1, "mediq": 1, "skipped_not_diagnosis": 1, "codx": 1}
    ac, mq, cx = cases
    assert ac.gold == "Influenza" and "Influenza" not in ac.text and "Fever and muscle aches" in ac.text
    assert mq.gold == "Strep throat" and mq.id == "7" and "sore throat" in mq.text
    assert (cx.age, cx.sex, cx.gold_urgency) == (8, "male", "self_care")


def test_reads_nejm_image_challenges(tmp_path):
    row = {
        "question": "What is it?",
        "patient_info": "I have a rash.",
        "physical_exams": "Vesicles.",
        "answers": [{"text": "Eczema", "correct": False}, {"text": "Shingles", "correct": True}],
    }
    (case,), counts = read_vignettes(write(tmp_path, [row]))
    assert counts == {"agentclinic_nejm": 1} and case.gold == "Shingles" and case.text == "I have a rash.\nVesicles."


def test_bad_line_is_named(tmp_path):
    with pytest.raises(InputFileError, match="line 2"):
        read_vignettes(write(tmp_path, [CODX, "{not json"]))
    with pytest.raises(InputFileError, match="text"):
        read_vignettes(write(tmp_path, [{"id": 1}]))


@pytest.fixture(scope="module")
def model() -> DiagnosisModel:
    pack = clinic_pack()
    urgency = {"X:flu": "routine", "X:cold": "self_care", "X:migraine": "routine", "X:strep": "urgent"}
    synonyms = {"X:strep": ["Strep throat", "Streptococcal sore throat"], "X:flu": ["flu"]}
    diseases = [
        Disease(**{**d.model_dump(), "urgency": urgency[d.id], "synonyms": synonyms.get(d.id, [])})
        for d in pack.diseases
    ]
    pack = Pack(pack.meta, diseases, pack.findings, pack.annotations)
    return DiagnosisModel([pack], ModelCard(name="t", packs=[], params=DiagnosisParams(), training_data="test"))


def test_gold_matching(model):
    golds = GoldMatcher(model.knowledge)
    ids = model.knowledge.disease_ids
    assert [ids[i] for i in golds.match("Streptococcal pharyngitis (strep throat)")] == ["X:strep"]
    assert [ids[i] for i in golds.match("common cold")] == ["X:cold"]
    assert [ids[i] for i in golds.match("Cold, common")] == ["X:cold"]
    assert golds.match("Appendicitis") == []


def test_report_shape_and_scores(model, tmp_path):
    kn = model.knowledge
    extractor = FindingExtractor(kn, lambda language: FindingMatcher(kn, language=language))
    cases, _ = read_vignettes(
        write(
            tmp_path, [AGENTCLINIC, MEDIQ_DX, CODX, {"id": "x", "text": "Headache", "gold_diagnosis": "Appendicitis"}]
        )
    )
    summary, records = run_vignettes(model, extractor, cases)
    assert summary["n"] == 4 and summary["with_gold"] == 4 and summary["covered"] == 3
    assert summary["unmatched_golds"] == ["Appendicitis"]
    assert summary["top1_covered"] == 1.0  # flu, strep and cold are each ranked first
    assert summary["urgency"]["n"] == 3
    for r in records:
        assert r["urgency"] in LEVELS and r["urgency_reason"]
        assert len(r["predictions"]) <= 50 and {"id", "label", "probability"} <= set(r["predictions"][0])
    flu = records[0]
    assert flu["age"] == 30 and flu["sex"] == "female"
    assert {"id": "C:fever", "status": "present"}.items() <= flu["findings"][0].items()
    cold = records[2]
    assert {f["id"]: f["status"] for f in cold["findings"]}["C:fever"] == "absent"


@pytest.mark.skipif(
    not (SHARED / "agentclinic").exists(), reason="../shared/data/vignettes is not beside the repository"
)
def test_command_on_agentclinic_dev_cases(tmp_path):
    out = tmp_path / "vignettes.json"
    env = {"CODX_DATA_DIR": str(tmp_path / "data"), "CODX_SEMANTIC_MATCHING": "false"}
    cases = SHARED / "agentclinic" / "agentclinic_medqa.jsonl"
    result = CliRunner().invoke(
        cli,
        ["bench", "vignettes", "--cases", str(cases), "--pack", "common", "--limit", "8", "--out", str(out)],
        env=env,
    )
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["summary"]["n"] == 8 and len(report["cases"]) == 8
    assert all(c["predictions"] and c["urgency"] in LEVELS for c in report["cases"])
    assert "top10_covered" in report["summary"] and "table_gold_to_predicted" in report["summary"]["urgency"]


def test_command_refuses_several_case_files(tmp_path):
    """Only one report is written: a second --cases must not silently replace the first."""
    cases = tmp_path / "v.jsonl"
    cases.write_text('{"id": "a", "text": "fever and cough"}\n')
    result = CliRunner().invoke(
        cli, ["bench", "vignettes", "--cases", str(cases), "--cases", str(cases), "--out", str(tmp_path / "o.json")]
    )
    assert result.exit_code == 2 and "once per file" in result.output
    assert not (tmp_path / "o.json").exists()
