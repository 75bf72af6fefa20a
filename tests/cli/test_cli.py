"""The `codx` command, run in-process with CliRunner and CODX_DATA_DIR pointing at a temp folder."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from codx.cli.main import cli


@pytest.fixture
def run(tmp_path):
    runner = CliRunner()
    env = {"CODX_DATA_DIR": str(tmp_path / "data"), "CODX_SEMANTIC_MATCHING": "false"}

    def invoke(*args: str):
        return runner.invoke(cli, list(args), env=env, catch_exceptions=False)

    return invoke


def _commands(group: click.Group, path: tuple[str, ...] = ()):
    yield path
    for name, cmd in group.commands.items():
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, (*path, name))
        else:
            yield (*path, name)


ALL_COMMANDS = list(_commands(cli))


def test_command_tree_is_complete():
    names = {" ".join(p) for p in ALL_COMMANDS}
    assert {
        "",
        "pack",
        "pack build",
        "pack info",
        "pack validate",
        "pack list",
        "train",
        "train diagnosis",
        "train encoder",
        "bench",
        "bench phenopackets",
        "bench interactive",
        "bench speed",
    } <= names


@pytest.mark.parametrize("path", ALL_COMMANDS, ids=lambda p: " ".join(p) or "codx")
def test_help(run, path):
    result = run(*path, "--help")
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    assert "--help" in result.output


def test_version(run):
    result = run("--version")
    assert result.exit_code == 0 and "0.1.0" in result.output


def test_pack_info_unknown_pack(run):
    result = run("pack", "info", "nosuchpack")
    assert result.exit_code == 2
    assert "codx pack build" in result.output
    assert "nosuchpack" in result.output
    assert "Traceback" not in result.output


def test_pack_validate_unknown_pack(run):
    result = run("pack", "validate", "nosuchpack")
    assert result.exit_code == 2 and "codx pack build" in result.output


def test_pack_build_unknown_builtin_is_usage_error(run):
    result = run("pack", "build", "nosuch")
    assert result.exit_code == 2
    assert "Usage:" in result.output and "not built in" in result.output and "--from" in result.output


def test_pack_build_from_without_format(run, tmp_path):
    src = _goalset(tmp_path / "x.json")
    result = run("pack", "build", "dxy", "--from", str(src))
    assert result.exit_code == 2 and "--format" in result.output


def _goal(tag: str, explicit: dict, implicit: dict, gid: int | None = None) -> dict:
    rec = {"disease_tag": tag, "goal": {"explicit_inform_slots": explicit, "implicit_inform_slots": implicit}}
    if gid is not None:
        rec["id"] = gid
    return rec


def _goalset(path: Path) -> Path:
    train = []
    for i in range(6):
        train.append(_goal("flu", {"fever": True}, {"cough": i % 2 == 0, "aches": True}))
        train.append(_goal("cold", {"runny nose": True}, {"cough": True, "fever": i == 0}))
        train.append(_goal("allergy", {"sneezing": True}, {"itchy eyes": True, "fever": False}))
    test = [
        _goal("flu", {"fever": True}, {"aches": True, "cough": True}, gid=101),
        _goal("cold", {"runny nose": True}, {"cough": True, "fever": False}, gid=102),
        _goal("allergy", {"sneezing": True}, {"itchy eyes": True}, gid=103),
    ]
    path.write_text(json.dumps({"train": train, "test": test}), encoding="utf-8")
    return path


def test_pack_build_info_validate_list(run, tmp_path):
    src = _goalset(tmp_path / "dxy_goal_set.json")
    built = run("pack", "build", "dxy", "--from", str(src), "--format", "goalset")
    assert built.exit_code == 0, built.output
    assert "built pack dxy (3 diseases, 6 findings)" in built.output
    assert (tmp_path / "data" / "packs" / "dxy" / "pack.json").exists()

    info = run("pack", "info", "dxy")
    assert info.exit_code == 0, info.output
    lines = dict(line.split(": ", 1) for line in info.output.strip().splitlines())
    assert lines["name"] == "dxy" and lines["diseases"] == "3" and lines["findings"] == "6"

    valid = run("pack", "validate", "dxy")
    assert valid.exit_code == 0, valid.output
    assert "is valid" in valid.output

    # a folder path works too
    by_folder = run("pack", "validate", str(tmp_path / "data" / "packs" / "dxy"))
    assert by_folder.exit_code == 0 and "is valid" in by_folder.output

    listed = run("pack", "list")
    assert listed.exit_code == 0
    rows = dict(line.split("\t") for line in listed.output.strip().splitlines())
    assert rows["dxy"] == "built" and rows["hpo"] == "not built"


def test_pack_validate_reports_problems(run, tmp_path):
    src = _goalset(tmp_path / "g.json")
    assert run("pack", "build", "dxy", "--from", str(src), "--format", "goalset").exit_code == 0
    pack_json = tmp_path / "data" / "packs" / "dxy" / "pack.json"
    doc = json.loads(pack_json.read_text())
    doc["aliases"] = {"dxy:old": "dxy:gone"}
    pack_json.write_text(json.dumps(doc))
    result = run("pack", "validate", "dxy")
    assert result.exit_code == 1
    assert "problem: alias dxy:old -> dxy:gone" in result.output


def test_pack_info_corrupt_pack(run, tmp_path):
    src = _goalset(tmp_path / "g.json")
    assert run("pack", "build", "dxy", "--from", str(src), "--format", "goalset").exit_code == 0
    (tmp_path / "data" / "packs" / "dxy" / "pack.json").write_text("{broken")
    result = run("pack", "info", "dxy")
    assert result.exit_code == 2 and "rebuild" in result.output


def test_bench_interactive_goalset(run, tmp_path):
    src = _goalset(tmp_path / "toy_goal_set.json")
    out = tmp_path / "reports" / "out.json"
    result = run(
        "bench", "interactive", "--format", "goalset", "--cases", str(src), "--out", str(out), "--max-questions", "4"
    )
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.output
    report = json.loads(out.read_text())
    assert set(report) == {"summary", "cases"}
    s = report["summary"]
    assert s["format"] == "goalset" and s["n"] == 3 and s["errors"] == 0 and s["with_gold"] == 3
    assert s["stop_rule"]["max_questions"] == 4
    assert 0 <= s["top1"] <= 1 and 0 <= s["ece"] <= 1
    assert "training-split" in s["model"]["training_data"]
    assert [c["id"] for c in report["cases"]] == ["101", "102", "103"]
    for case in report["cases"]:
        assert {"id", "gold", "predictions", "questions"} <= set(case)
        assert case["gold"].startswith("toy:")
        assert len(case["predictions"]) == 3
        assert sum(p["probability"] for p in case["predictions"]) == pytest.approx(1.0, abs=1e-4)
        assert len(case["questions"]) <= 4
        asked = [q["finding"] for q in case["questions"]]
        assert len(asked) == len(set(asked))
        assert all(q["answer"] in ("present", "absent", "unsure") for q in case["questions"])
    # the explicit symptom of each test case is what the patient says first
    assert report["cases"][0]["initial"] == ["toy:fever"]


def test_bench_interactive_missing_split(run, tmp_path):
    path = tmp_path / "only_train.json"
    path.write_text(json.dumps({"train": [_goal("flu", {"fever": True}, {})] * 4}))
    result = run("bench", "interactive", "--format", "goalset", "--cases", str(path), "--out", str(tmp_path / "o.json"))
    assert result.exit_code == 2 and "'test'" in result.output


MARFAN_LIKE = {
    "id": "marfan-like",
    "subject": {"id": "s1", "sex": "MALE", "timeAtLastEncounter": {"age": {"iso8601duration": "P17Y"}}},
    "phenotypicFeatures": [
        {"type": {"id": "HP:0001166", "label": "Arachnodactyly"}},
        {"type": {"id": "HP:0001083", "label": "Ectopia lentis"}},
        {"type": {"id": "HP:0002616", "label": "Aortic root aneurysm"}},
        {"type": {"id": "HP:0001519", "label": "Disproportionate tall stature"}},
        {"type": {"id": "HP:0000768", "label": "Pectus carinatum"}},
    ],
    "interpretations": [{"id": "i1", "diagnosis": {"disease": {"id": "OMIM:154700", "label": "Marfan syndrome"}}}],
}
NO_GOLD = {
    "id": "fever-only",
    "phenotypicFeatures": [{"type": {"id": "HP:0001945"}}, {"type": {"id": "HP:0000624"}}],  # alt_id: maps
}


@pytest.mark.slow
def test_hpo_pack_and_phenopackets_end_to_end(run, tmp_path):
    built = run("pack", "build", "hpo")
    assert built.exit_code == 0, built.output
    assert "built pack hpo" in built.output
    cases = tmp_path / "cases.jsonl"
    cases.write_text(json.dumps(MARFAN_LIKE) + "\n" + json.dumps(NO_GOLD) + "\n")
    out = tmp_path / "pp.json"
    result = run("bench", "phenopackets", "--cases", str(cases), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "data" / "models" / "hpo" / "card.json").exists()  # trained on first use
    report = json.loads(out.read_text())
    s, recs = report["summary"], report["cases"]
    assert s["n"] == 2 and s["errors"] == 0 and s["with_gold"] == 1 and s["gold_missing_from_pack"] == 0
    assert s["namespaces"] == ["OMIM"]
    marfan, fever = recs
    assert marfan["id"] == "marfan-like"
    assert marfan["gold_rank"] is not None and marfan["gold_rank"] <= 10
    assert all(p["id"].startswith("OMIM:") for p in marfan["predictions"])
    assert fever["gold"] is None and fever["predictions"] and "messages" not in fever


def test_bench_interactive_bad_test_case_is_reported_and_skipped(run, tmp_path):
    src = _goalset(tmp_path / "toy_goal_set.json")
    doc = json.loads(src.read_text())
    doc["test"].append({"id": "bad-1", "goal": {"explicit_inform_slots": {"fever": "maybe"}}})
    src.write_text(json.dumps(doc))
    out = tmp_path / "out.json"
    result = run("bench", "interactive", "--format", "goalset", "--cases", str(src), "--out", str(out))
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["summary"]["n"] == 4 and report["summary"]["errors"] == 1 and report["summary"]["with_gold"] == 3
    bad = report["cases"][3]
    assert "bad-1" in bad["error"] and "not True/False" in bad["error"] and bad["predictions"] == []


def test_bench_interactive_error_record_has_case_id(run, tmp_path):
    src = _goalset(tmp_path / "toy_goal_set.json")
    doc = json.loads(src.read_text())
    doc["test"].append({"id": "bad-1", "goal": {"explicit_inform_slots": {"fever": "maybe"}}})
    src.write_text(json.dumps(doc))
    out = tmp_path / "out.json"
    assert run("bench", "interactive", "--format", "goalset", "--cases", str(src), "--out", str(out)).exit_code == 0
    assert json.loads(out.read_text())["cases"][3]["id"] == "bad-1"
