"""Reading what the human said, whatever shape the message content has."""

from __future__ import annotations

from langchain_core.messages import AnyMessage, HumanMessage

from codx.agent.context import MAX_MESSAGE_CHARS


def text_of(message: AnyMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content
    parts = [p if isinstance(p, str) else str(p.get("text", "")) for p in content if isinstance(p, str | dict)]
    return " ".join(parts)


def last_human_text(state: dict) -> str:
    """The newest human message, cut to MAX_MESSAGE_CHARS (the cut is reported by `understand`)."""
    for m in reversed(state.get("messages", [])):
        if isinstance(m, HumanMessage):
            return text_of(m)[:MAX_MESSAGE_CHARS]
    return ""


def last_human_length(state: dict) -> int:
    for m in reversed(state.get("messages", [])):
        if isinstance(m, HumanMessage):
            return len(text_of(m))
    return 0
