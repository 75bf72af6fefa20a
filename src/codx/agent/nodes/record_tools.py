"""Keep what tools returned in the state (the ToolNode adds them to the messages).

A transcript from `transcribe_audio` becomes the patient's message: it goes back through the red-flag
screen and `understand` exactly like typed text, and the patient is told what was heard.
"""

from __future__ import annotations

import json

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from codx.agent import texts
from codx.agent.messages import TRANSCRIPT_KEY, text_of
from codx.agent.nodes.understand import TRANSCRIBE_TOOL
from codx.agent.state import ConsultState


def record_tools(state: ConsultState) -> dict:
    calls: dict[str, dict] = {}
    results: list[ToolMessage] = []
    for m in reversed(state.get("messages", [])):
        if isinstance(m, AIMessage):
            calls = {c["id"]: c for c in m.tool_calls}
            break
        if isinstance(m, ToolMessage):
            results.append(m)
    results.reverse()
    language = state.get("language")
    records, notices, messages = [], [], []
    for m in results:
        content = text_of(m)
        ok = m.status != "error"
        records.append({"tool": m.name, "ok": ok, "content": content[:4000]})
        if m.name != TRANSCRIBE_TOOL:
            notices.append(f"{m.name}: {content}")
            continue
        if not ok:
            notices.append(texts.t(language, "voice_failed", error=content.removeprefix("Error: ")))
            continue
        try:
            heard = json.loads(content)
        except ValueError:
            notices.append(texts.t(language, "voice_failed", error="the transcript was unreadable."))
            continue
        path = calls.get(m.tool_call_id, {}).get("args", {}).get("path", "")
        notices.append(texts.t(language or heard.get("language"), "heard", text=heard["text"]))
        messages.append(
            HumanMessage(
                content=heard["text"],
                additional_kwargs={
                    TRANSCRIPT_KEY: path,
                    "confidence": heard.get("confidence"),
                    "spoken_language": heard.get("language"),
                },
            )
        )
    return {"tool_results": records, "notices": notices, **({"messages": messages} if messages else {})}
