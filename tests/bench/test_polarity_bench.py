"""`run_polarity`: the committed six-language set, its accuracy, and bad lines as per-case errors."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from codx.bench.polarity import DEFAULT_SET, run_polarity
from codx.errors import InputFileError
from codx.models.language.polarity import LANGUAGES


def _rows() -> list[dict]:
    return [json.loads(line) for line in DEFAULT_SET.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_the_set_is_well_formed_and_balanced():
    rows = _rows()
    assert len(rows) >= 240
    assert len({r["id"] for r in rows}) == len(rows)
    per_lang = Counter(r["language"] for r in rows)
    assert set(per_lang) == set(LANGUAGES) and min(per_lang.values()) >= 40
    for r in rows:
        assert set(r) == {"id", "language", "text", "term", "polarity"}
        assert r["id"].startswith(r["language"] + "-")
        assert r["term"] in r["text"]
        assert r["polarity"] in ("present", "absent", "unsure")
    share = {k: v / len(rows) for k, v in Counter(r["polarity"] for r in rows).items()}
    assert share["absent"] >= 0.2 and share["unsure"] >= 0.15 and share["present"] >= 0.2
    for lang in LANGUAGES:
        assert {r["polarity"] for r in rows if r["language"] == lang} == {"present", "absent", "unsure"}


def test_accuracy_on_the_committed_set():
    summary, cases = run_polarity(DEFAULT_SET)
    assert summary["errors"] == 0 and summary["scored"] == len(cases) >= 240
    wrong = [(c["id"], c["gold"], c["prediction"]) for c in cases if not c["correct"]]
    assert summary["accuracy"] >= 0.95, wrong
    for lang in LANGUAGES:
        assert summary["per_language"][lang]["accuracy"] >= 0.90, (lang, wrong)
    assert sum(sum(row.values()) for row in summary["confusion"].values()) == summary["scored"]
    case = cases[0]
    assert set(case) >= {"id", "gold", "language", "predictions", "prediction", "correct"}
    assert case["predictions"] == [{"id": case["prediction"], "label": case["prediction"], "probability": 1.0}]
    json.dumps({"summary": summary, "cases": cases})  # the bench JSON shape serialises


def test_bad_lines_become_case_errors(tmp_path: Path):
    good = {"id": "es-1", "language": "es", "text": "No tengo fiebre.", "term": "fiebre", "polarity": "absent"}
    lines = [
        json.dumps(good, ensure_ascii=False),
        "{not json",
        "[1, 2]",
        "",
        json.dumps({"id": "x1", "language": "es", "text": "No tengo fiebre."}),
        json.dumps({**good, "id": "x2", "term": "tos"}),
        json.dumps({**good, "id": "x3", "language": "de"}),
        json.dumps({**good, "id": "x4", "polarity": "maybe"}),
        json.dumps({**good, "id": "x5", "text": 5}),
        json.dumps(good, ensure_ascii=False),  # duplicate id
        json.dumps({**good, "id": "ok2", "text": "Tengo fiebre.", "polarity": "present"}, ensure_ascii=False),
    ]
    path = tmp_path / "bad.jsonl"
    path.write_bytes(("\n".join(lines) + "\n").encode("utf-8") + b"\xff\xfe broken bytes\n")
    summary, cases = run_polarity(path)
    assert summary["scored"] == 2 and summary["accuracy"] == 1.0
    assert summary["errors"] == len(cases) - 2 == 9
    errors = {c["id"]: c["error"] for c in cases if "error" in c}
    assert "line-2" in errors and "line-3" in errors
    assert "term" in errors["x2"] and "language" in errors["x3"] and "polarity" in errors["x4"]
    assert "duplicate" in errors["es-1"]
    assert all(c["predictions"] == [] for c in cases if "error" in c)


def test_missing_file(tmp_path: Path):
    with pytest.raises(InputFileError):
        run_polarity(tmp_path / "nope.jsonl")
    with pytest.raises(InputFileError):
        run_polarity(tmp_path)
