"""Packs from explicit/implicit symptom files (mz10 from IMCS-21, GMD-12): JSONL or a JSON list of
`{pid?, exp_sxs: {symptom: "1"|"0"|"2"}, imp_sxs: {...}, label}`.

"1" = yes, "0" = no, "2" = the patient was unsure, which counts as neither (it says nothing about the
disease). The record type is shared with the benchmark's case loader.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError

from codx.errors import InputFileError
from codx.models.packs.counts import (
    Answer,
    Observation,
    build_dataset_pack,
    check_pack_name,
    merge_answers,
)
from codx.models.packs.schema import Pack
from codx.models.packs.userfiles import first_error, iter_json_records

_CODES: dict[str, Answer] = {"1": "present", "0": "absent", "2": "unsure"}


def code_answer(value: Any) -> Answer:
    text = str(value).strip()
    if isinstance(value, bool) or text not in _CODES:
        raise ValueError(f"symptom value {value!r} is not one of '1' (yes), '0' (no), '2' (unsure)")
    return _CODES[text]


CodeValue = Annotated[Answer, BeforeValidator(code_answer)]


class ExpImpRecord(BaseModel):
    model_config = ConfigDict(extra="ignore")

    pid: str | int | None = None
    exp_sxs: dict[str, CodeValue] = {}
    imp_sxs: dict[str, CodeValue] = {}
    label: str | None = None


def parse_expimp_record(raw: Any) -> ExpImpRecord:
    """Raises ValueError with a short reason."""
    if not isinstance(raw, dict):
        raise ValueError(f"record is a JSON {type(raw).__name__}, expected an object")
    if "exp_sxs" not in raw and "imp_sxs" not in raw:
        raise ValueError("record has neither 'exp_sxs' nor 'imp_sxs'")
    try:
        return ExpImpRecord.model_validate(raw)
    except ValidationError as exc:
        raise ValueError(first_error(exc)) from exc


def build_expimp_pack(path: Path, name: str, smoothing: float = 1.0) -> Pack:
    """Estimate P(yes | disease), P(no | disease) from every labelled record of a training file."""
    check_pack_name(name)
    observations = []
    for i, raw in iter_json_records(path):
        if isinstance(raw, ValueError):
            raise InputFileError(f"{path}: record {i}: {raw}; fix the line or remove it")
        try:
            record = parse_expimp_record(raw)
        except ValueError as exc:
            raise InputFileError(f"{path}: record {i} is malformed ({exc}); fix or remove it") from exc
        if not record.label:
            raise InputFileError(f"{path}: record {i} has no label; the training file needs labelled records")
        observations.append(Observation(record.label, merge_answers(record.exp_sxs, record.imp_sxs)))
    return build_dataset_pack(
        observations,
        name,
        path,
        f"Explicit/implicit symptom pack: P(symptom | disease) from {len(observations)} records",
        path.name,
        smoothing,
    )
