"""Urgency from the posterior: how soon this patient needs care, with the reason shown.

Rule (safety first; a false alarm costs less than a missed emergency):
1. A red flag overrides everything: a flag raised by the agent's text screen, or a finding the patient has that
   the pack lists as a red flag of a condition still in play (probability >= `RED_FLAG_MIN_P`) -> that
   condition's urgency, at least `urgent`, and `emergency` when the condition is an emergency.
2. Otherwise the probability mass per level decides, from the most urgent down: emergency when the emergency
   conditions together reach `THRESHOLDS["emergency"]`; urgent when emergency + urgent conditions reach theirs;
   routine likewise; else self-care. An emergency at `EMERGENCY_SEEN_TODAY` or more is at least urgent. The
   thresholds are cost-weighted: sending one patient in ten with a possible heart attack to the emergency
   department is the right trade.
Diseases without an urgency (the hpo pack's rare diseases) count as `routine`: they need a specialist, rarely
within a day, and red flags catch the dangerous presentations.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, Field

from codx.models.diagnosis.knowledge import Knowledge
from codx.models.diagnosis.posterior import Ranking

Level = Literal["emergency", "urgent", "routine", "self_care"]
LEVELS: tuple[Level, ...] = ("emergency", "urgent", "routine", "self_care")
_SEVERITY = {lvl: k for k, lvl in enumerate(reversed(LEVELS))}  # self_care 0 ... emergency 3
#: Cumulative probability (this level or more urgent) that decides a level.
THRESHOLDS: dict[Level, float] = {"emergency": 0.10, "urgent": 0.25, "routine": 0.40}
#: An emergency this likely, even when less likely than `THRESHOLDS["emergency"]`, means a doctor today.
EMERGENCY_SEEN_TODAY = 0.03
#: A pack red flag counts when its condition has at least this probability.
RED_FLAG_MIN_P = 0.01
UNRATED: Level = "routine"


class Triage(BaseModel):
    level: Level
    reason: str
    by_level: dict[str, float] = Field(description="Posterior probability mass of the conditions of each level.")
    red_flags: list[str] = []


def _severity(level: str | None) -> int:
    return _SEVERITY.get(level or UNRATED, _SEVERITY[UNRATED])


def triage(
    kn: Knowledge, ranking: Ranking, present: list[int], text_flags: list[str] | None = None, top: int = 3
) -> Triage:
    """`present`: finding indices the patient has; `text_flags`: labels of red flags the text screen raised."""
    prob = ranking.probabilities
    level_of = _level_index(kn)
    sums = np.bincount(level_of, weights=prob, minlength=len(LEVELS))
    mass: dict[Level, float] = {lvl: float(sums[k]) for k, lvl in enumerate(LEVELS)}
    by_level = {k: round(v, 4) for k, v in mass.items()}

    if text_flags:
        return Triage(
            level="emergency", reason=f"red flag: {', '.join(text_flags)}", by_level=by_level, red_flags=text_flags
        )
    flagged = _pack_red_flags(kn, prob, set(present))
    if flagged:
        worst = max(flagged, key=lambda f: (_severity(f[2]), f[3]))
        level: Level = "emergency" if worst[2] == "emergency" else "urgent"
        if _severity(level) >= _decide(mass)[1]:
            names = sorted({f"{f[0]} (sign of {f[1]})" for f in flagged if _severity(f[2]) == _severity(worst[2])})
            return Triage(level=level, reason=f"red flag: {'; '.join(names[:3])}", by_level=by_level, red_flags=names)
    level, _ = _decide(mass)
    rank = LEVELS.index(level)
    order = [int(i) for i in ranking.order[: max(top * 10, 30)] if level_of[i] <= rank][:top]
    named = ", ".join(f"{kn.diseases[i].name} {prob[i]:.0%}" for i in order)
    cumulative = sum(mass[lvl] for lvl in LEVELS[: LEVELS.index(level) + 1])
    reason = f"{cumulative:.0%} probability of conditions needing {level.replace('_', ' ')} care or sooner"
    return Triage(level=level, reason=f"{reason} ({named})" if named else reason, by_level=by_level)


def _level_index(kn: Knowledge) -> np.ndarray:
    """Position in LEVELS of each disease's urgency, computed once per Knowledge (turns reuse it)."""
    cached = getattr(kn, "_triage_levels", None)
    if cached is None:
        cached = np.array([LEVELS.index(d.urgency or UNRATED) for d in kn.diseases], dtype=np.int64)
        kn._triage_levels = cached  # type: ignore[attr-defined]
    return cached


def _decide(mass: dict[Level, float]) -> tuple[Level, int]:
    cumulative = 0.0
    for lvl in LEVELS[:-1]:
        cumulative += mass[lvl]
        if cumulative >= THRESHOLDS[lvl] or (lvl == "urgent" and mass["emergency"] >= EMERGENCY_SEEN_TODAY):
            return lvl, _severity(lvl)
    return "self_care", 0


def _pack_red_flags(kn: Knowledge, prob: np.ndarray, present: set[int]) -> list[tuple[str, str, str, float]]:
    """(finding label, condition name, condition urgency, probability) for each red flag the patient has."""
    if not present:
        return []
    out = []
    for i in np.flatnonzero(prob >= RED_FLAG_MIN_P):
        d = kn.diseases[i]
        for fid in d.red_flags:
            j = kn.finding_index.get(fid)
            if j is not None and (j in present or any(int(c) in present for c in kn.descendants(j))):
                out.append(
                    (kn.findings[j].lay_label or kn.findings[j].label, d.name, d.urgency or UNRATED, float(prob[i]))
                )
    return out
