"""`run_phenopackets` on the tiny pack: bad cases become per-case errors and the run goes on."""

from __future__ import annotations

import dataclasses
import gzip
import json
from pathlib import Path

import pytest

from codx.bench.phenopackets import iso_duration_years, parse_phenopacket, read_phenopackets, run_phenopackets
from codx.errors import CaseError, InputFileError
from codx.models.diagnosis.evidence import CaseEvidence, Observation


def feature(fid: str, excluded: bool = False) -> dict:
    return {"type": {"id": fid, "label": fid}, **({"excluded": True} if excluded else {})}


def packet(cid: str, features: list[str], gold: str | None = None, **extra) -> dict:
    obj: dict = {"id": cid, "phenotypicFeatures": [feature(f) for f in features], **extra}
    if gold:
        obj["interpretations"] = [{"id": "i", "diagnosis": {"disease": {"id": gold, "label": gold}}}]
    return obj


GOOD = {
    "id": "good",
    "subject": {"id": "p1", "sex": "FEMALE", "timeAtLastEncounter": {"age": {"iso8601duration": "P10Y"}}},
    "phenotypicFeatures": [feature("T:A1"), feature("T:C", excluded=True)],
    "interpretations": [{"id": "i", "diagnosis": {"disease": {"id": "D:1", "label": "one"}}}],
    "metaData": {"externalReferences": [{"id": "PMID:1"}]},
}

LINES = [
    json.dumps(GOOD),
    "{not json",
    json.dumps(packet("unknown", ["T:NOPE", "T:NOPE2"], diseases=[{"term": {"id": "D:2"}}])),
    json.dumps(packet("obsolete", ["T:OLD"], diseases=[{"term": {"id": "D:1"}}])),
    "",  # blank lines are skipped
    json.dumps(packet("dup", ["T:C", "T:C"], gold="D:3")),
    json.dumps(packet("empty", [])),
    json.dumps(packet("nogold", ["T:C"])),
    json.dumps(packet("missing", ["T:A"], gold="D:999")),
    json.dumps({"id": "notype", "phenotypicFeatures": [{"excluded": False}]}),
]


@pytest.fixture
def model(tiny_pack, make_model):
    # D:1 cites PMID:1, so the "good" case (same paper) is leaky
    diseases = [d.model_copy(update={"references": ["PMID:1"]}) if d.id == "D:1" else d for d in tiny_pack.diseases]
    return make_model(dataclasses.replace(tiny_pack, diseases=diseases))


@pytest.fixture
def jsonl(tmp_path) -> Path:
    path = tmp_path / "cases.jsonl"
    path.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    return path


def test_run_continues_past_bad_cases(model, jsonl):
    summary, cases = run_phenopackets(model, jsonl)
    by_id = {c["id"]: c for c in cases}
    assert list(by_id) == ["good", "line-2", "unknown", "obsolete", "dup", "empty", "nogold", "missing", "notype"]
    assert summary["n"] == 9
    assert summary["errors"] == 4  # malformed JSON, all-unknown features, empty, feature without type.id
    assert summary["input_messages"] == 3  # two unknown ids + one duplicate
    assert summary["with_gold"] == 4  # good, obsolete, dup, missing (errored cases are not scored)
    assert summary["gold_missing_from_pack"] == 1
    assert summary["coverage"] == 0.75
    assert summary["inkb_n"] == 3 and summary["inkb_top1"] == 1.0 and summary["inkb_mrr"] == 1.0
    assert summary["nonleaky_n"] == 2
    assert summary["model"] == "test" and summary["namespaces"] == "all"
    assert summary["excluded_features"] == "ignore"

    assert "not valid JSON" in by_id["line-2"]["error"] and by_id["line-2"]["predictions"] == []
    unknown = by_id["unknown"]
    assert "no usable present phenotype" in unknown["error"] and unknown["predictions"] == []
    assert len(unknown["messages"]) == 2 and "T:NOPE" in unknown["messages"][0]
    assert "no usable present phenotype" in by_id["empty"]["error"]
    assert "type.id" in by_id["notype"]["error"]
    assert by_id["notype"]["gold"] is None

    good = by_id["good"]
    assert good["gold_rank"] == 1 and good["leaky"] is True and "error" not in good
    assert [p["id"] for p in good["predictions"]] == ["D:1", "D:2", "D:3"]
    assert sum(p["probability"] for p in good["predictions"]) == pytest.approx(1.0, abs=1e-5)
    assert good["predictions"][0]["label"] == "Disease one"

    assert by_id["obsolete"]["gold_rank"] == 1 and by_id["obsolete"]["leaky"] is False
    assert "messages" not in by_id["obsolete"]  # an obsolete id is mapped silently
    dup = by_id["dup"]
    assert dup["gold_rank"] == 1 and len(dup["messages"]) == 1 and "duplicate" in dup["messages"][0]
    nogold = by_id["nogold"]
    assert nogold["gold"] is None and "gold_rank" not in nogold
    assert [p["id"] for p in nogold["predictions"]] == ["D:3", "D:2", "D:1"]
    assert by_id["missing"]["gold_rank"] is None and by_id["missing"]["predictions"]


def test_prediction_uses_age_sex_and_matches_model(model, jsonl):
    _, cases = run_phenopackets(model, jsonl)
    good = next(c for c in cases if c["id"] == "good")
    ev = CaseEvidence(observations=[Observation(finding="T:A1", status="present")], age_years=10.0, sex="female")
    probs = model.rank(ev).probabilities
    got = {p["id"]: p["probability"] for p in good["predictions"]}
    assert got == pytest.approx({"D:1": probs[0], "D:2": probs[1], "D:3": probs[2]}, abs=1e-6)
    # the female, age-10 modifiers of D:2 matter: without them D:2 would be 6x less likely
    plain = model.rank(CaseEvidence(observations=[Observation(finding="T:A1", status="present")])).probabilities
    assert probs[1] > 3 * plain[1]


def test_excluded_features_used_as_absent(model, jsonl):
    _, ignore = run_phenopackets(model, jsonl, excluded="ignore")
    summary, use = run_phenopackets(model, jsonl, excluded="use")
    assert summary["excluded_features"] == "use"
    p_ignore = {p["id"]: p["probability"] for p in ignore[0]["predictions"]}
    p_use = {p["id"]: p["probability"] for p in use[0]["predictions"]}
    # C excluded (absent) lowers D:2 (F = 0.6) relative to D:1 (F = 0)
    assert p_use["D:2"] / p_use["D:1"] < p_ignore["D:2"] / p_ignore["D:1"]


def test_namespaces_mask(model, jsonl):
    summary, cases = run_phenopackets(model, jsonl, namespaces=["OMIM"])
    assert summary["namespaces"] == ["OMIM"]
    assert summary["gold_missing_from_pack"] == summary["with_gold"] == 4
    good = next(c for c in cases if c["id"] == "good")
    assert good["predictions"] == []


def test_gzipped_jsonl(model, tmp_path):
    path = tmp_path / "cases.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write(json.dumps(GOOD) + "\n")
    summary, cases = run_phenopackets(model, path)
    assert summary["n"] == 1 and cases[0]["gold_rank"] == 1


def test_folder_of_json_phenopackets(model, tmp_path):
    folder = tmp_path / "packets"
    folder.mkdir()
    (folder / "a.json").write_text(json.dumps(GOOD))
    (folder / "b.json").write_text("{oops")
    (folder / "c.json").write_text(json.dumps([1, 2]))
    (folder / "d.json").write_text(json.dumps(packet("", ["T:C"], gold="D:3")))  # no id: file stem
    (folder / "notes.txt").write_text("ignored")
    summary, cases = run_phenopackets(model, folder)
    assert [c["id"] for c in cases] == ["good", "b", "c", "d"]
    assert summary["n"] == 4 and summary["errors"] == 2
    assert "not valid JSON" in cases[1]["error"]
    assert "not a JSON object" in cases[2]["error"]
    assert cases[3]["gold_rank"] == 1


def test_missing_inputs(model, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputFileError, match="no .json phenopackets"):
        run_phenopackets(model, tmp_path / "empty")
    with pytest.raises(InputFileError, match="does not exist"):
        run_phenopackets(model, tmp_path / "nothing.jsonl")


def test_parse_phenopacket_fields():
    case = parse_phenopacket(GOOD, "fallback")
    assert case.id == "good" and case.gold == "D:1"
    assert case.present == ["T:A1"] and case.excluded == ["T:C"]
    assert case.sex == "female" and case.age_years == 10.0
    assert case.references == ["PMID:1"]
    other = parse_phenopacket({"phenotypicFeatures": [], "subject": {"sex": "UNKNOWN_SEX"}}, "fb")
    assert other.id == "fb" and other.sex is None and other.gold is None and other.age_years is None
    with pytest.raises(CaseError, match="must be a list"):
        parse_phenopacket({"id": "x", "phenotypicFeatures": {"type": {"id": "T:A"}}}, "fb")


def test_read_phenopackets_yields_errors_in_place(jsonl):
    items = list(read_phenopackets(jsonl))
    assert len(items) == 9
    assert [isinstance(i, CaseError) for i in items] == [False, True, False, False, False, False, False, False, True]


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("P6Y", 6.0),
        ("P1Y6M", 1.5),
        ("P3W", 3 / 52.18),
        ("P10D", 10 / 365.25),
        ("P2Y3M4W5D", 2 + 3 / 12 + 4 / 52.18 + 5 / 365.25),
        ("P0.5Y", 0.5),
        (" P6Y ", 6.0),
        ("garbage", None),
        ("P", None),
        ("6Y", None),
        ("", None),
        (None, None),
    ],
)
def test_iso_duration_years(text, want):
    got = iso_duration_years(text)
    if want is None:
        assert got is None
    else:
        assert got == pytest.approx(want)


MALFORMED = [
    pytest.param({"id": "m1", "phenotypicFeatures": [{"type": "T:A1"}]}, id="type-is-a-string"),
    pytest.param({"id": "m2", "phenotypicFeatures": [feature("T:A1")], "subject": "p1"}, id="subject-not-object"),
    pytest.param({"id": "m3", "phenotypicFeatures": [feature("T:A1")], "interpretations": ["D:1"]}, id="interp-str"),
    pytest.param(
        {"id": "m4", "phenotypicFeatures": [feature("T:A1")], "metaData": {"externalReferences": ["PMID:1"]}},
        id="reference-not-object",
    ),
]


@pytest.mark.parametrize("bad", MALFORMED)
def test_malformed_structure_is_a_case_error(model, tmp_path, bad):
    path = tmp_path / "cases.jsonl"
    path.write_text(json.dumps(bad) + "\n" + json.dumps(GOOD) + "\n")
    summary, cases = run_phenopackets(model, path)
    assert summary["n"] == 2 and summary["errors"] == 1
    assert cases[0]["id"] == bad["id"] and "error" in cases[0]
    assert cases[1]["gold_rank"] == 1


def test_error_record_keeps_case_id_with_colon(model, tmp_path):
    path = tmp_path / "cases.jsonl"
    path.write_text(json.dumps({"id": "PMID:123:case-1", "phenotypicFeatures": [{"excluded": False}]}) + "\n")
    _, cases = run_phenopackets(model, path)
    assert "type.id" in cases[0]["error"]
    assert cases[0]["id"] == "PMID:123:case-1"


def test_implausible_age_is_a_message_and_the_case_is_ranked(model, tmp_path):
    path = tmp_path / "cases.jsonl"
    bad = {**GOOD, "id": "old", "subject": {"timeAtLastEncounter": {"age": {"iso8601duration": "P200Y"}}}}
    path.write_text(json.dumps(bad) + "\n")
    summary, cases = run_phenopackets(model, path)
    assert summary["errors"] == 0 and summary["input_messages"] == 1
    assert "not plausible" in cases[0]["messages"][0]
    assert cases[0]["predictions"]
