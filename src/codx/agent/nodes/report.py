"""Close the turn with the Chain-of-Diagnosis report (or the emergency instruction)."""

from __future__ import annotations

from langchain_core.messages import AIMessage
from langgraph.runtime import Runtime

from codx.agent.chain import build_report
from codx.agent.context import ConsultContext
from codx.agent.state import ConsultState


def report(state: ConsultState, runtime: Runtime[ConsultContext]) -> dict:
    ctx = runtime.context
    model = ctx.model_for(tuple(state.get("packs") or ctx.default_packs))
    rep = build_report(model, dict(state), ctx.rule.tau, ctx.emergency_number)
    return {"report": rep, "messages": [AIMessage(content=rep["text"])], "pending": None}
