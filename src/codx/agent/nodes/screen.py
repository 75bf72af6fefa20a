"""Safety first, every turn: a deterministic red-flag screen that no later step can override."""

from __future__ import annotations

from langgraph.runtime import Runtime

from codx.agent.context import ConsultContext
from codx.agent.messages import last_human_text
from codx.agent.safety import screen as screen_text
from codx.agent.state import ConsultState


def screen(state: ConsultState, runtime: Runtime[ConsultContext]) -> dict:
    flags = screen_text(last_human_text(state))
    update: dict = {"red_flags": [f.model_dump() for f in flags]}
    if flags or state.get("red_flags"):
        update["decision"] = "emergency"
    return update
