"""Keep what tools returned in the state (the ToolNode adds them to the messages)."""

from __future__ import annotations

from langchain_core.messages import AIMessage, ToolMessage

from codx.agent.messages import text_of
from codx.agent.state import ConsultState


def record_tools(state: ConsultState) -> dict:
    results = []
    for m in reversed(state.get("messages", [])):
        if isinstance(m, AIMessage):
            break
        if isinstance(m, ToolMessage):
            results.append({"tool": m.name, "ok": m.status != "error", "content": text_of(m)[:4000]})
    return {"tool_results": list(reversed(results)), "notices": [f"{r['tool']}: {r['content']}" for r in results]}
