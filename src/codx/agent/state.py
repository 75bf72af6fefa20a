"""The consultation's typed state. Reducers live in the type: findings merge by id, red flags only grow."""

from __future__ import annotations

import operator
from typing import Annotated, Literal, TypedDict

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages

from codx.models.diagnosis.evidence import CaseEvidence, Observation

Mode = Literal["patient", "doctor"]
Source = Literal["patient", "answer", "doctor", "tool"]
Decision = Literal["ask", "diagnose", "emergency"]


class FindingRecord(TypedDict):
    """A finding with provenance: where it came from and the words that said it."""

    id: str
    label: str
    status: Literal["present", "absent", "unsure"]
    source: Source
    evidence: str
    turn: int


class AskedQuestion(TypedDict):
    finding: str
    label: str
    question: str
    answer: str
    turn: int


def merge_findings(old: list[FindingRecord], new: list[FindingRecord]) -> list[FindingRecord]:
    """The later statement about a finding replaces the earlier one; order of first mention is kept."""
    merged = {f["id"]: f for f in old}
    for f in new:
        merged[f["id"]] = f
    return list(merged.values())


def merge_flags(old: list[dict], new: list[dict]) -> list[dict]:
    """Red flags are never removed or downgraded within a thread."""
    seen = {f["id"] for f in old}
    return old + [f for f in new if f["id"] not in seen and not seen.add(f["id"])]  # type: ignore[func-returns-value]


class ConsultState(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    findings: Annotated[list[FindingRecord], merge_findings]
    asked: Annotated[list[AskedQuestion], operator.add]
    red_flags: Annotated[list[dict], merge_flags]
    tool_results: Annotated[list[dict], operator.add]
    notices: list[str]  # what this turn dropped or could not read, shown to the user
    top: list[dict]  # posterior top-k: id, label, probability
    next_questions: list[dict]  # best questions: finding, label, gain, p_yes (the first: text when CODX_LLM words it)
    pending: dict | None  # the question waiting for an answer
    decision: Decision | None
    report: dict | None
    mode: Mode
    language: str
    packs: list[str]
    turn: int
    age_years: float | None  # stated in the text (first statement wins) or given by the client
    sex: str | None
    urgency: dict | None  # triage: level, reason, mass per level


def case_evidence(state: ConsultState | dict) -> CaseEvidence:
    """What the consultation knows so far, as the diagnosis model takes it."""
    obs = [Observation(finding=f["id"], status=f["status"]) for f in state.get("findings", [])]
    age = state.get("age_years")
    sex = state.get("sex") if state.get("sex") in ("female", "male") else None
    return CaseEvidence(observations=obs, age_years=age, sex=sex)  # type: ignore[arg-type]
