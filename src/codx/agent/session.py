"""One consultation turn from a client's point of view: send text (or answer the pending question), get
the streamed node updates and either the next question or the report. Clients (CLI, UI) use only this."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from langchain_core.messages import HumanMessage
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command
from pydantic import BaseModel

from codx.agent.context import ConsultContext
from codx.agent.messages import AUDIO_KEY
from codx.errors import AudioError, ToolError


class TurnEvent(BaseModel):
    """A streamed update: which node ran and a short summary of what it changed."""

    node: str
    summary: str
    data: dict[str, Any] = {}


def new_thread_id() -> str:
    return uuid.uuid4().hex[:16]


def config_for(thread_id: str) -> dict:
    return {"configurable": {"thread_id": thread_id}}


def pending_question(graph: CompiledStateGraph, thread_id: str) -> dict | None:
    """The interrupt payload a thread is waiting on, if any (what a resumed client shows first)."""
    snapshot = graph.get_state(config_for(thread_id))
    for task in snapshot.tasks:
        for intr in task.interrupts:
            return dict(intr.value)
    return None


def save_recording(ctx: ConsultContext, thread_id: str, data: bytes, suffix: str = ".wav") -> str:
    """Keep a recording in the tools' folder (never in the checkpoint) and return its path there."""
    if ctx.workdir is None:
        raise ToolError("no tool folder is configured, so recordings cannot be kept; start codx through its CLI or app")
    if not data:
        raise AudioError("no audio was received: record again")
    suffix = suffix if suffix.startswith(".") and suffix[1:].isalnum() and len(suffix) <= 6 else ".wav"
    rel = Path("recordings") / f"{thread_id}-{uuid.uuid4().hex[:8]}{suffix.lower()}"
    target = ctx.workdir / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return rel.as_posix()


def send(
    graph: CompiledStateGraph,
    ctx: ConsultContext,
    thread_id: str,
    text: str,
    mode: str | None = None,
    language: str | None = None,
    audio: str | None = None,
) -> Iterator[TurnEvent]:
    """Feed the patient's text, or a recording saved with `save_recording` (`audio`): as the answer when a
    question is pending, else as a new message."""
    config = config_for(thread_id)
    message = HumanMessage(content="", additional_kwargs={AUDIO_KEY: audio}) if audio else HumanMessage(content=text)
    if pending_question(graph, thread_id) is not None:
        payload: Any = Command(resume={AUDIO_KEY: audio} if audio else text)
    else:
        payload = {"messages": [message]}
        if mode:
            payload["mode"] = mode
        if language:
            payload["language"] = language
    for chunk in graph.stream(payload, config, context=ctx, stream_mode="updates"):
        for node, upd in chunk.items():
            yield TurnEvent(node=node, summary=summarise(node, upd), data=_jsonable(upd))


def summarise(node: str, upd: Any) -> str:
    if node == "__interrupt__":
        return upd[0].value.get("question", "") if upd else ""
    if not isinstance(upd, dict):
        return ""
    if node == "screen":
        flags = upd.get("red_flags") or []
        return "RED FLAG: " + ", ".join(f["label"] for f in flags) if flags else "no red flag"
    if node == "understand":
        found = upd.get("findings") or []
        return (
            ", ".join(
                ("+" if f["status"] == "present" else "-" if f["status"] == "absent" else "?") + f["label"]
                for f in found
            )
            or "; ".join(upd.get("notices", []))
            or "nothing new"
        )
    if node == "update":
        top = upd.get("top") or []
        return " | ".join(f"{t['label']} {t['probability']:.0%}" for t in top[:3])
    if node == "report":
        return (upd.get("report") or {}).get("decision", "")
    return ""


def _jsonable(upd: Any) -> dict:
    if node_value := (upd if isinstance(upd, dict) else None):
        return {k: v for k, v in node_value.items() if k != "messages"}
    if isinstance(upd, tuple | list) and upd and hasattr(upd[0], "value"):
        return {"interrupt": upd[0].value}
    return {}
