"""`codx bench vignettes`: free-text cases -> findings -> ranking and urgency (DESIGN section 4, issue 5).

Input lines are read in one of four shapes, detected per line: codx (`{id, text, age?, sex?, gold_diagnosis?,
gold_urgency?}`), AgentClinic OSCE (`OSCE_Examination`: everything but `Correct_Diagnosis` is the text),
AgentClinic NEJM (`patient_info` and `physical_exams` are the text, the correct answer is the gold) and
MediQ (`context` sentences; only questions that ask for a diagnosis are cases, the others are counted as
skipped). Gold diagnoses are free text: they are matched to pack diseases by name and synonyms (see
`GoldMatcher`); unmatched golds are reported, and accuracy is given both over matched ("covered") cases and
over every case with a gold.
"""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from codx.agent.safety import screen
from codx.errors import InputFileError
from codx.models.diagnosis.evidence import CaseEvidence
from codx.models.diagnosis.knowledge import Knowledge
from codx.models.diagnosis.model import DiagnosisModel
from codx.models.diagnosis.scoring import GoldRank, gold_rank, labelled_top
from codx.models.diagnosis.triage import LEVELS, triage
from codx.models.language.demographics import read_demographics
from codx.models.language.detect import detect_language
from codx.models.language.extract import FindingExtractor
from codx.models.language.matcher import observations, phrase_key

TOP_K = (1, 3, 5, 10, 20)
_DIAGNOSIS_QUESTION = re.compile(
    r"diagnos|most likely (cause|condition|explanation)|(patient|child|infant|he|she) (is )?(most likely )?"
    r"(suffering|has)|underlying (condition|cause)",
    re.IGNORECASE,
)


@dataclass
class Vignette:
    id: str
    text: str
    age: float | None = None
    sex: str | None = None
    gold: str | None = None
    gold_urgency: str | None = None


def _walk(value: Any, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, list):
        for v in value:
            _walk(v, out)
    elif isinstance(value, dict):
        for v in value.values():
            _walk(v, out)


def from_agentclinic(row: dict, n: int) -> Vignette:
    osce = dict(row["OSCE_Examination"])
    gold = osce.pop("Correct_Diagnosis", None)
    parts: list[str] = []
    _walk(osce, parts)
    return Vignette(id=str(row.get("id", n)), text="\n".join(parts), gold=gold)


def from_mediq(row: dict, n: int) -> Vignette | None:
    if not _DIAGNOSIS_QUESTION.search(str(row.get("question", ""))):
        return None
    context = row.get("context") or row.get("facts") or []
    text = "\n".join(context) if isinstance(context, list) else str(context)
    return Vignette(id=str(row.get("id", n)), text=text, gold=row.get("answer"))


def from_agentclinic_nejm(row: dict, n: int) -> Vignette:
    """NEJM image challenges as AgentClinic ships them: the patient's words and the examination are the text
    (the image is not read); the gold is the answer marked correct."""
    gold = next((a.get("text") for a in row.get("answers", []) if a.get("correct")), None)
    text = "\n".join(str(row.get(k, "")) for k in ("patient_info", "physical_exams") if row.get(k))
    return Vignette(id=str(row.get("id", n)), text=text, gold=gold)


def from_codx(row: dict, n: int) -> Vignette:
    if not isinstance(row.get("text"), str):
        raise ValueError("a codx vignette needs a `text` string")
    age = row.get("age")
    return Vignette(
        id=str(row.get("id", n)),
        text=row["text"],
        age=float(age) if isinstance(age, int | float) else None,
        sex=row.get("sex") if row.get("sex") in ("female", "male") else None,
        gold=row.get("gold_diagnosis"),
        gold_urgency=row.get("gold_urgency") if row.get("gold_urgency") in LEVELS else None,
    )


def read_vignettes(path: Path) -> tuple[list[Vignette], dict[str, int]]:
    """Cases and counts of what was read (`skipped`: MediQ questions that do not ask for a diagnosis)."""
    if not path.is_file():
        raise InputFileError(f"{path} is not a file; pass a .jsonl (or .jsonl.gz) of vignettes")
    opener = gzip.open if path.suffix == ".gz" else open
    cases: list[Vignette] = []
    counts: Counter[str] = Counter()
    with opener(path, "rt", encoding="utf-8") as fh:  # type: ignore[operator]
        for n, line in enumerate(fh):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                if "OSCE_Examination" in row:
                    case: Vignette | None = from_agentclinic(row, n)
                    counts["agentclinic"] += 1
                elif "patient_info" in row and "answers" in row:
                    case = from_agentclinic_nejm(row, n)
                    counts["agentclinic_nejm"] += 1
                elif "context" in row and "answer" in row:
                    case = from_mediq(row, n)
                    counts["mediq" if case else "skipped_not_diagnosis"] += 1
                else:
                    case = from_codx(row, n)
                    counts["codx"] += 1
            except (json.JSONDecodeError, ValueError, KeyError, TypeError, AttributeError) as exc:
                raise InputFileError(f"{path.name} line {n + 1}: {exc}; fix or remove the line") from exc
            if case is not None:
                cases.append(case)
    return cases, dict(counts)


def _variants(name: str) -> set[tuple[str, ...]]:
    """Normalised spellings of a disease name: as written, without parentheses, the parenthesised part alone
    (an acronym), possessive 's dropped, and the words in sorted order ("Lymphoma, Hodgkin")."""
    out: set[tuple[str, ...]] = set()
    inner = re.findall(r"\(([^)]*)\)", name)
    for form in [name, re.sub(r"\([^)]*\)", " ", name), *inner]:
        key = tuple(_american(w) for w in phrase_key(form.replace("’", "'")) if w != "s")
        if key:
            out.add(key)
            out.add(tuple(sorted(key)))
    return out


_BRITISH = (("ae", "e"), ("oe", "e"), ("our", "or"), ("isat", "izat"), ("yse", "yze"))


def _american(word: str) -> str:
    """One spelling for British / American variants (ischaemia, oesophagus, tumour, paralyse)."""
    for old, new in _BRITISH:
        word = word.replace(old, new)
    return word


class GoldMatcher:
    """Free-text gold diagnoses -> pack disease indices, by normalised names and synonyms."""

    def __init__(self, kn: Knowledge):
        self.index: dict[tuple[str, ...], set[int]] = {}
        for i, d in enumerate(kn.diseases):
            for name in [d.name, *d.synonyms]:
                for key in _variants(name):
                    self.index.setdefault(key, set()).add(i)

    def match(self, gold: str) -> list[int]:
        found: set[int] = set()
        for key in _variants(gold):
            found |= self.index.get(key, set())
        return sorted(found)


def _lines(text: str) -> Iterator[str]:
    for line in text.splitlines():
        if line.strip():
            yield line


def run_vignettes(
    model: DiagnosisModel, extractor: FindingExtractor, cases: list[Vignette], top: int = 50
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    kn = model.knowledge
    golds = GoldMatcher(kn)
    records: list[dict[str, Any]] = []
    ranks: list[GoldRank | None] = []
    confusion = {g: dict.fromkeys(LEVELS, 0) for g in LEVELS}
    unmatched: list[str] = []
    for case in cases:
        language = detect_language(case.text)[0]
        mentions = [m for line in _lines(case.text) for m in extractor.extract(line, language)]
        demo = read_demographics(case.text)
        age = case.age if case.age is not None else demo.age_years
        sex = case.sex or demo.sex
        evidence = CaseEvidence(observations=observations(mentions), age_years=age, sex=sex)  # type: ignore[arg-type]
        norm = model.normalise(evidence)
        ranking = model.rank(norm)
        flags = sorted({f.label for f in screen(case.text, age)})
        decision = triage(kn, ranking, norm.present, flags)
        matched = golds.match(case.gold) if case.gold else []
        gold_level = case.gold_urgency or _gold_level(kn, matched)
        rank: GoldRank | None = None
        if matched:
            ranked = [r for r in (gold_rank(kn, ranking, kn.disease_ids[i]) for i in matched) if r is not None]
            rank = min(ranked, key=lambda r: r.expected) if ranked else None
        elif case.gold:
            unmatched.append(case.gold)
        if case.gold:
            ranks.append(rank)
        if gold_level:
            confusion[gold_level][decision.level] += 1
        records.append(
            {
                "id": case.id,
                "gold": case.gold,
                "gold_ids": [kn.disease_ids[i] for i in matched],
                "gold_urgency": gold_level,
                "gold_rank": round(rank.expected, 2) if rank else None,
                "predictions": labelled_top(kn, ranking, top),
                "urgency": decision.level,
                "urgency_reason": decision.reason,
                "findings": [{"id": m.finding_id, "status": m.status, "span": m.span} for m in mentions],
                "age": age,
                "sex": sex,
                "language": language,
            }
        )
    return _summary(cases, ranks, confusion, unmatched), records


def _gold_level(kn: Knowledge, matched: list[int]) -> str | None:
    levels = [kn.diseases[i].urgency for i in matched if kn.diseases[i].urgency]
    return min(levels, key=LEVELS.index) if levels else None


def _summary(
    cases: list[Vignette], ranks: list[GoldRank | None], confusion: dict[str, dict[str, int]], unmatched: list[str]
) -> dict[str, Any]:
    covered = [r for r in ranks if r is not None]
    summary: dict[str, Any] = {"n": len(cases), "with_gold": len(ranks), "covered": len(covered)}
    summary["coverage"] = round(len(covered) / len(ranks), 4) if ranks else None
    for k in TOP_K:
        summary[f"top{k}_covered"] = round(float(np.mean([r.within(k) for r in covered])), 4) if covered else None
    for k in TOP_K:
        hits = [r.within(k) if r else 0.0 for r in ranks]
        summary[f"top{k}_all"] = round(float(np.mean(hits)), 4) if hits else None
    summary["unmatched_golds"] = sorted(set(unmatched))
    order = {lvl: n for n, lvl in enumerate(LEVELS)}
    graded = sum(sum(row.values()) for row in confusion.values())
    summary["urgency"] = {
        "table_gold_to_predicted": confusion,
        "n": graded,
        "exact": round(sum(confusion[g][g] for g in LEVELS) / graded, 4) if graded else None,
        "under_triaged": sum(c for g in LEVELS for p, c in confusion[g].items() if order[p] > order[g]),
        "emergency_cases": sum(confusion["emergency"].values()),
        "emergency_as_emergency_or_urgent": confusion["emergency"]["emergency"] + confusion["emergency"]["urgent"],
        "emergency_under_triaged": sum(confusion["emergency"][p] for p in ("routine", "self_care")),
    }
    return summary
