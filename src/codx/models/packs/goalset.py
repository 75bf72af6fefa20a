"""Packs from Diaformer-style goal sets (Dxy, MuZhi, SymCAT synthetic): `{"train": [...], "test": [...]}`.

Only the train split is read, so test cases stay unseen. Each record is
`{disease_tag, goal: {explicit_inform_slots, implicit_inform_slots}}` with True/False slot values (bools or
the strings "True"/"False"). The record types here are also what the benchmark's case loader validates
against, so both read the format the same way. The Chain-of-Diagnosis eval files (`explicit_symptoms`,
`implicit_symptoms`, `disease`) are cases only: their `*_zh.json` files use the Chinese names of the
Diaformer Dxy/MuZhi goal sets and map onto packs built from them; their `*_en.json` files share no
symptom or disease name with those packs.
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
from codx.models.packs.userfiles import first_error, read_json

_YES = {"true", "yes", "1"}
_NO = {"false", "no", "0"}
_UNSURE = {"unk", "unknown", "unsure", "not sure", "2"}


def slot_answer(value: Any) -> Answer:
    """True/False (bool or string) -> present/absent; "UNK"-like -> unsure."""
    if isinstance(value, bool):
        return "present" if value else "absent"
    text = str(value).strip().lower() if value is not None else "unk"
    if text in _YES:
        return "present"
    if text in _NO:
        return "absent"
    if text in _UNSURE:
        return "unsure"
    raise ValueError(f"slot value {value!r} is not True/False")


def _pairs_to_dict(value: Any) -> Any:
    """CoD files list symptoms as [name, value] pairs; goal sets use a dict."""
    if isinstance(value, list):
        try:
            return {str(name): v for name, v in value}
        except (TypeError, ValueError) as exc:
            raise ValueError("symptoms must be a dict or a list of [name, value] pairs") from exc
    return value


SlotValue = Annotated[Answer, BeforeValidator(slot_answer)]
Slots = Annotated[dict[str, SlotValue], BeforeValidator(_pairs_to_dict)]


class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore")


class GoalSlots(_Record):
    explicit_inform_slots: Slots = {}
    implicit_inform_slots: Slots = {}


class GoalRecord(_Record):
    """One Diaformer goal-set dialogue."""

    id: str | int | None = None
    disease_tag: str | None = None
    goal: GoalSlots

    @property
    def explicit(self) -> dict[str, Answer]:
        return self.goal.explicit_inform_slots

    @property
    def implicit(self) -> dict[str, Answer]:
        return self.goal.implicit_inform_slots

    @property
    def disease(self) -> str | None:
        return self.disease_tag


class CodRecord(_Record):
    """One Chain-of-Diagnosis eval case ("False" means absent)."""

    id: str | int | None = None
    disease: str | None = None
    explicit_symptoms: Slots = {}
    implicit_symptoms: Slots = {}

    @property
    def explicit(self) -> dict[str, Answer]:
        return self.explicit_symptoms

    @property
    def implicit(self) -> dict[str, Answer]:
        return self.implicit_symptoms


def parse_goal_record(raw: Any) -> GoalRecord | CodRecord:
    """Either record kind; raises ValueError with a short reason."""
    if not isinstance(raw, dict):
        raise ValueError(f"record is a JSON {type(raw).__name__}, expected an object")
    model: type[GoalRecord] | type[CodRecord] = GoalRecord if "goal" in raw else CodRecord
    if model is CodRecord and "explicit_symptoms" not in raw:
        raise ValueError("record has neither 'goal' (goal set) nor 'explicit_symptoms' (Chain-of-Diagnosis)")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise ValueError(first_error(exc)) from exc


def goalset_split(doc: Any, path: Path, split: str) -> list[Any]:
    """The records of one split; CoD eval files (a plain list) have no splits."""
    if isinstance(doc, list):
        return doc
    if not isinstance(doc, dict):
        raise InputFileError(f"{path} holds a JSON {type(doc).__name__}; expected {{'train': [...], 'test': [...]}}")
    if split not in doc or not isinstance(doc[split], list):
        have = ", ".join(sorted(k for k, v in doc.items() if isinstance(v, list))) or "none"
        raise InputFileError(f"{path} has no {split!r} split (splits: {have}); pick one of those")
    return doc[split]


def build_goalset_pack(path: Path, name: str, smoothing: float = 1.0) -> Pack:
    """Estimate P(yes | disease), P(no | disease) from the train split of a goal-set file."""
    check_pack_name(name)
    doc = read_json(path)
    if isinstance(doc, list):
        raise InputFileError(
            f"{path} is a list of cases without a train split (a Chain-of-Diagnosis eval file?); "
            "build the pack from the Diaformer goal set with a 'train' split"
        )
    observations = []
    for i, raw in enumerate(goalset_split(doc, path, "train")):
        try:
            record = parse_goal_record(raw)
        except ValueError as exc:
            raise InputFileError(f"{path}: train record {i} is malformed ({exc}); fix or remove it") from exc
        if not record.disease:
            raise InputFileError(f"{path}: train record {i} has no disease_tag; training records need a label")
        observations.append(Observation(record.disease, merge_answers(record.explicit, record.implicit)))
    return build_dataset_pack(
        observations,
        name,
        path,
        f"Goal-set pack: P(symptom | disease) from {len(observations)} training dialogues",
        f"{path.name} (train split)",
        smoothing,
    )
