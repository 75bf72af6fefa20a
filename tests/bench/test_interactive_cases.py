"""Loaders of interactive benchmark cases: one case or one CaseError per input case."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from codx.bench.interactive_cases import (
    InteractiveCase,
    load_ddxplus_cases,
    load_expimp_cases,
    load_goalset_cases,
)
from codx.errors import CaseError, InputFileError
from codx.models.packs.ddxplus import build_ddxplus_pack
from codx.models.packs.expimp import build_expimp_pack
from codx.models.packs.goalset import build_goalset_pack
from codx.models.packs.schema import Annotation, Disease, Finding, FindingGroup, Pack, PackMeta

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "interactive"


def _split(results: list) -> tuple[dict[str, InteractiveCase], list[CaseError]]:
    cases = {r.id: r for r in results if isinstance(r, InteractiveCase)}
    errors = [r for r in results if isinstance(r, CaseError)]
    assert len(cases) + len(errors) == len(results)
    return cases, errors


# ---- DDXPlus ----------------------------------------------------------------------------------------------


def _ddx_pack() -> Pack:
    return Pack.from_records(
        PackMeta(name="ddxplus", version="test"),
        [
            Disease(id="ddx:flu", name="Flu", synonyms=["Grippe"]),
            Disease(id="ddx:common_cold", name="Common cold", synonyms=["Rhume"]),
        ],
        [
            Finding(id="ddx:E_1", label="fever"),
            Finding(id="ddx:E_2", label="pain"),
            Finding(id="ddx:E_3=V_1", label="pain: forehead", group="ddx:E_3", parents=["ddx:E_2"]),
            Finding(id="ddx:E_3=V_2", label="pain: nose", group="ddx:E_3", parents=["ddx:E_2"]),
            Finding(id="ddx:E_4=1", label="intensity 1", group="ddx:E_4", parents=["ddx:E_2"]),
        ],
        [
            Annotation(disease="ddx:flu", finding="ddx:E_1", frequency=0.9),
            Annotation(disease="ddx:common_cold", finding="ddx:E_2"),
        ],
        [
            FindingGroup(id="ddx:E_3", label="where", kind="multi"),
            FindingGroup(id="ddx:E_4", label="intensity", kind="categorical"),
        ],
    )


def _ddx_file(tmp_path: Path) -> Path:
    good = {
        "ID": "p1",
        "AGE": 30,
        "SEX": "F",
        "EVIDENCES": ["E_1", "E_2", "E_3_@_V_2", "E_3_@_V_1", "E_4_@_0"],
        "INITIAL_EVIDENCE": "E_1",
        "PATHOLOGY": "Grippe",
        "DIFFERENTIAL_DIAGNOSIS": [["Flu", 0.7], ["Rhume", 0.2], ["Martian flu", 0.1]],
    }
    csv_style = {"AGE": 5, "SEX": "M", "EVIDENCES": "['E_2']", "INITIAL_EVIDENCE": "E_2"}
    unknown_code = {"ID": "p4", "AGE": 1, "SEX": "F", "EVIDENCES": ["E_99"], "INITIAL_EVIDENCE": "E_99"}
    initial_missing = {"ID": "p5", "EVIDENCES": ["E_2"], "INITIAL_EVIDENCE": "E_1"}
    no_initial = {"ID": "p6", "EVIDENCES": ["E_1"]}
    unknown_gold = {"ID": "p7", "EVIDENCES": ["E_1"], "INITIAL_EVIDENCE": "E_1", "PATHOLOGY": "Martian flu"}
    lines = [json.dumps(good), json.dumps(csv_style), "{broken", json.dumps(unknown_code)]
    lines += [json.dumps(initial_missing), json.dumps(no_initial), json.dumps(unknown_gold)]
    path = tmp_path / "patients.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    return path


def test_ddxplus_cases_definite_answers(tmp_path: Path) -> None:
    cases, _ = _split(list(load_ddxplus_cases(_ddx_file(tmp_path), _ddx_pack())))
    case = cases["p1"]
    assert (case.gold, case.age, case.sex) == ("ddx:flu", 30.0, "female")
    assert case.initial == {"ddx:E_1": "present"}
    assert case.answers == {
        "ddx:E_1": "present",
        "ddx:E_2": "present",
        "ddx:E_3=V_1": "present",
        "ddx:E_3=V_2": "present",
        "ddx:E_4=1": "absent",  # intensity 0 is the default: no value finding present
    }
    assert case.gold_differential == [("ddx:flu", 0.7), ("ddx:common_cold", 0.2), ("Martian flu", 0.1)]


def test_ddxplus_cases_without_labels_and_csv_style_lists(tmp_path: Path) -> None:
    cases, _ = _split(list(load_ddxplus_cases(_ddx_file(tmp_path), _ddx_pack())))
    case = cases["1"]  # no ID: zero-based index
    assert (case.gold, case.gold_differential, case.sex) == (None, None, "male")
    assert case.answers["ddx:E_2"] == "present" and case.answers["ddx:E_1"] == "absent"
    assert cases["p7"].gold == "Martian flu"  # kept, scored as wrong


def test_ddxplus_bad_cases_become_errors(tmp_path: Path) -> None:
    cases, errors = _split(list(load_ddxplus_cases(_ddx_file(tmp_path), _ddx_pack())))
    assert sorted(cases) == ["1", "p1", "p7"]
    messages = [str(e) for e in errors]
    assert len(messages) == 4
    assert "case 2" in messages[0] and "line 3" in messages[0]
    assert "case p4" in messages[1] and "E_99" in messages[1] and "DDXPlus release" in messages[1]
    assert "case p5" in messages[2] and "INITIAL_EVIDENCE" in messages[2]
    assert "case p6" in messages[3] and "INITIAL_EVIDENCE" in messages[3]
    assert all("fix or remove this case" in m for m in messages)


def test_missing_case_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="does not exist"):
        list(load_ddxplus_cases(tmp_path / "nope.jsonl", _ddx_pack()))


# ---- goal sets and Chain-of-Diagnosis --------------------------------------------------------------------


def _goal(tag: str, explicit: dict, implicit: dict) -> dict:
    return {
        "disease_tag": tag,
        "goal": {"explicit_inform_slots": explicit, "implicit_inform_slots": implicit},
    }


def _goal_file(tmp_path: Path) -> Path:
    path = tmp_path / "goal.json"
    doc = {
        "train": [_goal("flu", {"fever": True}, {"cough": False}), _goal("common cold", {"cough": True}, {})],
        "test": [
            _goal("flu", {"fever": True}, {"cough": "False", "rash": True}),
            {"disease_tag": "flu", "goal": "not a dict"},
            _goal("measles", {"fever": "True"}, {}),
        ],
    }
    path.write_text(json.dumps(doc))
    return path


def test_goalset_cases(tmp_path: Path) -> None:
    path = _goal_file(tmp_path)
    pack = build_goalset_pack(path, "toy")
    cases, errors = _split(list(load_goalset_cases(path, pack)))
    first = cases["0"]
    assert first.gold == "toy:flu"
    assert first.initial == {"toy:fever": "present"}
    assert first.answers == {"toy:cough": "absent", "toy:fever": "present"}
    assert first.unmapped == ["rash"]
    assert cases["2"].gold == "measles"  # not in the pack: kept raw, scored as wrong
    assert len(errors) == 1 and "case 1" in str(errors[0]) and "goal" in str(errors[0])
    train_cases, _ = _split(list(load_goalset_cases(path, pack, split="train")))
    assert train_cases["1"].gold == "toy:common_cold"


def test_goalset_missing_split(tmp_path: Path) -> None:
    path = _goal_file(tmp_path)
    with pytest.raises(InputFileError, match="no 'validate' split"):
        list(load_goalset_cases(path, build_goalset_pack(path, "toy"), split="validate"))


def test_cod_eval_false_means_absent(tmp_path: Path) -> None:
    pack = build_goalset_pack(_goal_file(tmp_path), "toy")
    cod = tmp_path / "cod.json"
    cod.write_text(
        json.dumps(
            [
                {
                    "id": "Dxy_1",
                    "explicit_symptoms": [["fever", "True"]],
                    "implicit_symptoms": [["cough", "False"]],
                    "candidate_diseases": ["flu", "common cold"],
                    "disease": "flu",
                },
                {"id": "Dxy_2", "explicit_symptoms": [["fever"]], "disease": "flu"},
            ]
        )
    )
    cases, errors = _split(list(load_goalset_cases(cod, pack)))
    assert cases["Dxy_1"].answers["toy:cough"] == "absent"
    assert cases["Dxy_1"].initial == {"toy:fever": "present"} and cases["Dxy_1"].gold == "toy:flu"
    assert len(errors) == 1 and "Dxy_2" in str(errors[0])


# ---- exp/imp ---------------------------------------------------------------------------------------------


def test_expimp_cases(tmp_path: Path) -> None:
    train = tmp_path / "train.json"
    train.write_text(json.dumps([{"exp_sxs": {"fever": "1"}, "imp_sxs": {"cough": "0"}, "label": "flu"}]))
    pack = build_expimp_pack(train, "mz")
    test = tmp_path / "test.jsonl"
    records = [
        {"pid": "p1", "exp_sxs": {"fever": "1"}, "imp_sxs": {"cough": "2", "rash": "0"}, "label": "flu"},
        {"exp_sxs": {"fever": "3"}, "imp_sxs": {}},
        {"exp_sxs": {}, "imp_sxs": {"cough": "0"}},
    ]
    test.write_text("\n".join(json.dumps(r) for r in records))
    cases, errors = _split(list(load_expimp_cases(test, pack)))
    p1 = cases["p1"]
    assert p1.gold == "mz:flu" and p1.initial == {"mz:fever": "present"}
    assert p1.answers == {"mz:cough": "unsure", "mz:fever": "present"} and p1.unmapped == ["rash"]
    assert cases["2"].gold is None and cases["2"].initial == {} and cases["2"].answers == {"mz:cough": "absent"}
    assert len(errors) == 1 and "case 1" in str(errors[0]) and "'2' (unsure)" in str(errors[0])


# ---- the real development files ------------------------------------------------------------------------


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} not present (development data lives in ../shared/data)")
    return path


@pytest.mark.data
def test_real_ddxplus_dev_cases() -> None:
    kb = _need(DATA / "ddxplus")
    pack = build_ddxplus_pack(kb)
    cases, errors = _split(list(load_ddxplus_cases(kb / "patients_dev.jsonl.gz", pack)))
    assert errors == [] and len(cases) == 1347
    assert all(c.gold in pack.disease_index for c in cases.values())
    assert all(d in pack.disease_index for c in cases.values() for d, _ in c.gold_differential or [])
    assert all(len(c.answers) == len(pack.findings) and len(c.initial) == 1 for c in cases.values())


@pytest.mark.data
@pytest.mark.parametrize(("name", "cod", "n"), [("dxy", "Dxy", 104), ("muzhi", "Muzhi", 142)])
def test_real_goal_set_cases(name: str, cod: str, n: int) -> None:
    goal_set = _need(DATA / "goal_sets" / f"{name}_goal_set.json")
    pack = build_goalset_pack(goal_set, name)
    for path in (goal_set, _need(DATA / "cod_eval" / f"{cod}_zh.json")):
        cases, errors = _split(list(load_goalset_cases(path, pack)))
        assert errors == [] and len(cases) == n
        assert all(c.gold in pack.disease_index and not c.unmapped for c in cases.values())
    # The English CoD files do not share names with the Chinese goal-set packs.
    english, _ = _split(list(load_goalset_cases(_need(DATA / "cod_eval" / f"{cod}_en.json"), pack)))
    assert all(c.answers == {} and c.gold not in pack.disease_index for c in english.values())


@pytest.mark.data
def test_real_mz10_cases() -> None:
    pack = build_expimp_pack(_need(DATA / "mz10" / "train_set.json"), "mz10")
    cases, errors = _split(list(load_expimp_cases(_need(DATA / "mz10" / "test_set.json"), pack)))
    assert errors == [] and len(cases) == 811
    assert all(c.gold in pack.disease_index for c in cases.values())
    assert sum(len(c.unmapped) for c in cases.values()) == 15  # test symptoms never seen in train
