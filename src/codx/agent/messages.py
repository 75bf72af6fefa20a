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


#: `HumanMessage.additional_kwargs` key of a recording (a path in the tools' folder) still to be transcribed.
AUDIO_KEY = "audio"
#: Set on the message that holds a recording's transcript, so it is read like typed text.
TRANSCRIPT_KEY = "transcribed_from"


def last_human_audio(state: dict) -> str | None:
    """The recording the newest human message carries, if that message is a recording."""
    for m in reversed(state.get("messages", [])):
        if isinstance(m, HumanMessage):
            audio = m.additional_kwargs.get(AUDIO_KEY)
            return audio if isinstance(audio, str) and audio else None
    return None
