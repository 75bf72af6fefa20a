"""What is known about a patient: findings with polarity, age and sex, normalised against the packs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from codx.errors import UnknownFindingError
from codx.models.diagnosis.knowledge import Knowledge

Status = Literal["present", "absent", "unsure"]
Sex = Literal["female", "male"]


class Observation(BaseModel):
    model_config = ConfigDict(frozen=True)
    finding: str = Field(min_length=1, max_length=200)
    status: Status


class CaseEvidence(BaseModel):
    observations: list[Observation] = []
    age_years: float | None = Field(None, ge=0, le=130)
    sex: Sex | None = None


@dataclass
class NormalisedEvidence:
    """Finding indices the likelihood uses, plus what was dropped and why (shown to users)."""

    present: list[int] = field(default_factory=list)
    absent: list[int] = field(default_factory=list)
    unsure: list[int] = field(default_factory=list)
    answered: set[int] = field(default_factory=set)  # everything stated, incl. implied-by-hierarchy
    messages: list[str] = field(default_factory=list)
    age_years: float | None = None
    sex: Sex | None = None


def normalise(kn: Knowledge, evidence: CaseEvidence) -> NormalisedEvidence:
    """Resolve ids (obsolete ones mapped), drop duplicates and unknown ids with a message, and keep only
    the most specific present terms and the most general absent ones: under the true-path rule a
    specific term implies its ancestors, so counting both would double-count one observation."""
    out = NormalisedEvidence(age_years=evidence.age_years, sex=evidence.sex)
    status: dict[int, Status] = {}
    for obs in evidence.observations:
        try:
            j = kn.resolve(obs.finding)
        except UnknownFindingError as exc:
            out.messages.append(str(exc))
            continue
        if j in status and status[j] != obs.status:
            out.messages.append(
                f"{obs.finding} given as both {status[j]} and {obs.status}; keeping the later answer ({obs.status})"
            )
        elif j in status:
            out.messages.append(f"duplicate finding {obs.finding} ignored")
        status[j] = obs.status
    present = {j for j, s in status.items() if s == "present"}
    absent = {j for j, s in status.items() if s == "absent"}
    implied_present: set[int] = set()
    for j in present:
        implied_present.update(kn.ancestors[j].tolist())
    contradicted = absent & implied_present
    for j in sorted(contradicted):
        out.messages.append(f"{kn.finding_ids[j]} reported absent but implied by a present finding; ignored")
    absent -= contradicted
    out.present = sorted(j for j in present if not any(j in kn.ancestors[k] for k in present if k != j))
    implied_absent: set[int] = set()
    for j in absent:
        implied_absent.update(kn.descendants(j).tolist())
    out.absent = sorted(j for j in absent if not (set(kn.ancestors[j].tolist()) - {j}) & absent)
    out.unsure = sorted(j for j, s in status.items() if s == "unsure")
    out.answered = implied_present | implied_absent | set(out.unsure)
    return out
