"""Cases for `codx bench interactive`: what the patient says first and how they answer each question.

Each loader yields one `InteractiveCase` or one `CaseError` per input case, so a malformed case is
reported by id and the run goes on. A missing or unreadable file raises `InputFileError`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError

from codx.errors import CaseError
from codx.models.packs.counts import Answer, id_part
from codx.models.packs.ddxplus import (
    DdxplusEvidenceMap,
    ddxplus_disease_names,
    finding_id,
    parse_evidence_token,
)
from codx.models.packs.expimp import parse_expimp_record
from codx.models.packs.goalset import goalset_split, parse_goal_record
from codx.models.packs.schema import Pack
from codx.models.packs.userfiles import first_error, iter_json_records, read_json
from codx.training.simulate import InteractiveCase

CaseResult = InteractiveCase | CaseError


# ---- DDXPlus ------------------------------------------------------------------------------------------


def _python_literal(value: Any) -> Any:
    """The original DDXPlus CSV release stores lists as Python literals ("['E_91', ...]")."""
    if isinstance(value, str) and value.lstrip().startswith("["):
        try:
            return ast.literal_eval(value)
        except (ValueError, SyntaxError) as exc:
            raise ValueError("not a list") from exc
    return value


class _DdxPatient(BaseModel):
    model_config = ConfigDict(extra="ignore")

    ID: str | int | None = None
    AGE: float | None = None
    SEX: str | None = None
    EVIDENCES: Annotated[list[str], BeforeValidator(_python_literal)]
    INITIAL_EVIDENCE: str
    PATHOLOGY: str | None = None
    DIFFERENTIAL_DIAGNOSIS: Annotated[list[tuple[str, float]] | None, BeforeValidator(_python_literal)] = None


_SEX: dict[str, Literal["female", "male"]] = {"f": "female", "female": "female", "m": "male", "male": "male"}


def load_ddxplus_cases(path: Path, pack: Pack) -> Iterator[CaseResult]:
    """DDXPlus patients (JSONL, optionally .gz): every pack finding gets a definite answer."""
    evidence_map = DdxplusEvidenceMap(pack)
    names = ddxplus_disease_names(pack)
    for index, raw in iter_json_records(path):
        case_id = _raw_id(raw, "ID", index)
        try:
            patient = _DdxPatient.model_validate(_record(raw))
            answers = evidence_map.answers(patient.EVIDENCES)
            initial = _ddxplus_initial(patient, answers)
            yield InteractiveCase(
                id=case_id,
                gold=None if patient.PATHOLOGY is None else _map_name(patient.PATHOLOGY, names),
                age=patient.AGE,
                sex=_SEX.get((patient.SEX or "").strip().lower()),
                initial=initial,
                answers=answers,
                gold_differential=(
                    None
                    if patient.DIFFERENTIAL_DIAGNOSIS is None
                    else [(_map_name(n, names), p) for n, p in patient.DIFFERENTIAL_DIAGNOSIS]
                ),
            )
        except (ValueError, CaseError) as exc:
            yield _case_error(path, case_id, exc)


def _ddxplus_initial(patient: _DdxPatient, answers: Mapping[str, Answer]) -> dict[str, Answer]:
    """The initial evidence is binary in the release; for a question code, its present values."""
    code, value = parse_evidence_token(patient.INITIAL_EVIDENCE)
    fid = finding_id(code, value)
    if fid in answers:
        found = [fid] if answers[fid] == "present" else []
    else:
        found = [f for f, a in answers.items() if a == "present" and f.startswith(finding_id(code) + "=")]
    if not found:
        raise CaseError(f"INITIAL_EVIDENCE {patient.INITIAL_EVIDENCE!r} is not among the case's EVIDENCES")
    return dict.fromkeys(found, "present")


# ---- goal sets and Chain-of-Diagnosis eval files ------------------------------------------------------


def load_goalset_cases(path: Path, pack: Pack, split: str = "test") -> Iterator[CaseResult]:
    """Diaformer goal sets (`split` of the file) or Chain-of-Diagnosis eval files (a plain list).

    Explicit slots are said first; implicit slots answer questions (True present, False absent).
    The CoD `*_zh.json` files go with packs built from the Chinese Diaformer goal sets; their
    `*_en.json` files share no names with those packs (everything would land in `unmapped`).
    """
    records = goalset_split(read_json(path), path, split)
    for index, raw in enumerate(records):
        case_id = _raw_id(raw, "id", index)
        try:
            record = parse_goal_record(raw)
        except ValueError as exc:
            yield _case_error(path, case_id, exc)
            continue
        yield _symptom_case(case_id, record.disease, record.explicit, record.implicit, pack)


# ---- explicit / implicit symptom files -----------------------------------------------------------------


def load_expimp_cases(path: Path, pack: Pack) -> Iterator[CaseResult]:
    """mz10 / GMD-style records: exp_sxs said first, imp_sxs "1" yes, "0" no, "2" unsure."""
    for index, raw in iter_json_records(path):
        case_id = _raw_id(raw, "pid", index)
        try:
            record = parse_expimp_record(_record(raw))
        except ValueError as exc:
            yield _case_error(path, case_id, exc)
            continue
        yield _symptom_case(case_id, record.label, record.exp_sxs, record.imp_sxs, pack)


def _symptom_case(
    case_id: str,
    disease: str | None,
    explicit: Mapping[str, Answer],
    implicit: Mapping[str, Answer],
    pack: Pack,
) -> InteractiveCase:
    """Map names to `<pack>:<name>` ids; unknown symptoms are dropped and listed in `unmapped`.

    `answers` also holds the initial findings, so a repeated question gets the answer the patient
    volunteered (it wins a conflict with the implicit slot, as in pack building).
    """
    unmapped: dict[str, None] = {}
    initial = _map_symptoms(explicit, pack, unmapped)
    answers = {**_map_symptoms(implicit, pack, unmapped), **initial}
    gold = None
    if disease is not None:
        gold_id = _pack_id(pack, disease)
        gold = gold_id if gold_id in pack.disease_index else disease
    return InteractiveCase(id=case_id, gold=gold, initial=initial, answers=answers, unmapped=list(unmapped))


def _map_symptoms(symptoms: Mapping[str, Answer], pack: Pack, unmapped: dict[str, None]) -> dict[str, Answer]:
    out: dict[str, Answer] = {}
    for name, answer in symptoms.items():
        fid = _pack_id(pack, name)
        if fid in pack.finding_index:
            out[fid] = answer
        else:
            unmapped[name] = None
    return out


def _pack_id(pack: Pack, name: str) -> str:
    try:
        return f"{pack.meta.name}:{id_part(name)}"
    except ValueError:
        return ""


# ---- shared ----------------------------------------------------------------------------------------------


def _record(raw: Any) -> Any:
    if isinstance(raw, ValueError):
        raise raw
    if not isinstance(raw, dict):
        raise ValueError(f"record is a JSON {type(raw).__name__}, expected an object")
    return raw


def _raw_id(raw: Any, key: str, index: int) -> str:
    value = raw.get(key) if isinstance(raw, dict) else None
    return str(index) if value is None or value == "" else str(value)


def _map_name(name: str, names: Mapping[str, str]) -> str:
    """Disease id for a name the pack knows, else the name itself (scored as wrong, never dropped)."""
    return names.get(name.strip().casefold(), name)


def _case_error(path: Path, case_id: str, exc: Exception) -> CaseError:
    reason = first_error(exc) if isinstance(exc, ValidationError) else str(exc)
    return CaseError(f"{path.name}: case {case_id}: {reason}; fix or remove this case", case_id=case_id)
