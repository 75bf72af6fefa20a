"""Text to findings: an answer to the pending question, symptoms named in the text, doctor commands."""

from __future__ import annotations

import uuid

from langchain_core.messages import AIMessage
from langgraph.runtime import Runtime

from codx.agent import texts
from codx.agent.context import MAX_MESSAGE_CHARS, ConsultContext
from codx.agent.messages import last_human_audio, last_human_length, last_human_text
from codx.agent.state import ConsultState, FindingRecord
from codx.errors import ToolError
from codx.models.language.answers import parse_answer
from codx.models.language.demographics import read_demographics
from codx.models.language.detect import detect_language
from codx.tools.call import parse_tool_command

TRANSCRIBE_TOOL = "transcribe_audio"


def understand(state: ConsultState, runtime: Runtime[ConsultContext]) -> dict:
    ctx = runtime.context
    audio = last_human_audio(state)
    if audio is not None:
        return _transcribe(audio, state, ctx)
    packs = tuple(state.get("packs") or ctx.default_packs)
    turn = state.get("turn", 0) + 1
    text = last_human_text(state)
    notices: list[str] = []
    language = state.get("language") or detect_language(text)[0]
    if last_human_length(state) > MAX_MESSAGE_CHARS:
        notices.append(texts.t(language, "too_long", n=MAX_MESSAGE_CHARS))
    update: dict = {"turn": turn, "pending": None, "notices": notices, "language": language}
    if state.get("age_years") is None or state.get("sex") is None:
        demo = read_demographics(text)
        if state.get("age_years") is None and demo.age_years is not None:
            update["age_years"] = demo.age_years
        if state.get("sex") is None and demo.sex is not None:
            update["sex"] = demo.sex
    if not text.strip():
        notices.append(texts.t(language, "empty"))
        return update
    mode = state.get("mode", "patient")
    if mode == "doctor" and text.lstrip().startswith("/"):
        return {**update, **_command(text.strip(), packs, notices)}
    kn = ctx.model_for(packs).knowledge
    findings: list[FindingRecord] = []
    pending = state.get("pending")
    if pending and pending.get("finding"):
        answer = parse_answer(text) or "unsure"  # free text that does not answer leaves it open as "not sure"
        findings.append(_record(pending["finding"], pending.get("label", ""), answer, "answer", text, turn))
    extractor = ctx.extractor_for(packs)
    for m in extractor.extract(text, language):
        findings.append(
            _record(
                m.finding_id,
                kn.findings[kn.finding_index[m.finding_id]].label,
                m.status,
                "patient" if mode == "patient" else "doctor",
                m.span,
                turn,
            )
        )
    if mode == "doctor":
        direct, problems = extractor.direct_ids(text)
        notices += problems
        for m in direct:
            findings.append(
                _record(
                    m.finding_id, kn.findings[kn.finding_index[m.finding_id]].label, m.status, "doctor", m.span, turn
                )
            )
    if not findings:
        notices.append(texts.t(language, "nothing_understood"))
    return {**update, "findings": findings}


def _transcribe(audio: str, state: ConsultState, ctx: ConsultContext) -> dict:
    """A recording is turned into text by the transcription tool first; its transcript comes back as a human
    message and passes the red-flag screen and this node like typed text (see `record_tools`)."""
    if not any(tool.name == TRANSCRIBE_TOOL for tool in ctx.tools):
        return {"notices": [texts.t(state.get("language"), "voice_unavailable")]}
    args = {"path": audio}
    if state.get("language"):
        args["language"] = state["language"]
    call = {"name": TRANSCRIBE_TOOL, "args": args, "id": f"call_{uuid.uuid4().hex[:12]}", "type": "tool_call"}
    return {"messages": [AIMessage(content="", tool_calls=[call])]}


def _record(fid: str, label: str, status: str, source: str, evidence: str, turn: int) -> FindingRecord:
    return FindingRecord(id=fid, label=label, status=status, source=source, evidence=evidence[:200], turn=turn)  # type: ignore[typeddict-item]


def _command(text: str, packs: tuple[str, ...], notices: list[str]) -> dict:
    """Doctor commands: `/tool NAME {json args}` and `/packs a,b`."""
    head, _, rest = text.partition(" ")
    if head == "/tool":
        try:
            name, args = parse_tool_command(text)
        except ToolError as exc:
            notices.append(str(exc))
            return {}
        call = {"name": name, "args": args, "id": f"call_{uuid.uuid4().hex[:12]}", "type": "tool_call"}
        return {"messages": [AIMessage(content="", tool_calls=[call])]}
    if head == "/packs":
        chosen = [p.strip() for p in rest.split(",") if p.strip()]
        if not chosen:
            notices.append(f"usage: /packs hpo[,other]; active: {', '.join(packs)}")
            return {}
        return {"packs": chosen}
    notices.append("unknown command; use /tool NAME {json} or /packs a,b")
    return {}
