"""The app's server side of a consultation, without Streamlit: one turn, the view a page renders, option
changes, a doctor's finding edits and the list of past consultations. The page and the turn-time benchmark
both go through this class, so the benchmark measures what the app does per turn.

Turns on one thread are serialised (a second browser tab on the same URL waits for the first), and a turn
always runs to the end even when the progress callback raises (Streamlit stops a script that way when the
user clicks during a turn): a half-run turn would leave the consultation between two graph nodes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Overwrite

from codx.agent.chain import build_report
from codx.agent.context import ConsultContext
from codx.agent.messages import text_of
from codx.agent.session import TurnEvent, config_for, send, summarise
from codx.agent.state import FindingRecord
from codx.errors import UnknownFindingError
from codx.models.language.detect import LANGUAGES
from codx.ui.history import ThreadSummary, checkpoint_time, list_threads

Status = Literal["present", "absent", "unsure"]
MODES = ("patient", "doctor")


@dataclass(frozen=True)
class ChatEntry:
    role: Literal["user", "assistant"]
    text: str


@dataclass
class ThreadView:
    """Everything a page shows of one consultation, read from its latest checkpoint."""

    thread_id: str
    exists: bool = False
    entries: list[ChatEntry] = field(default_factory=list)
    question: dict | None = None  # the pending interrupt payload
    top: list[dict] = field(default_factory=list)
    next_questions: list[dict] = field(default_factory=list)
    findings: list[dict] = field(default_factory=list)
    red_flags: list[dict] = field(default_factory=list)
    report: dict | None = None
    notices: list[str] = field(default_factory=list)
    language: str | None = None
    mode: str = "patient"
    packs: tuple[str, ...] = ()
    asked: int = 0
    version: str = ""  # checkpoint id: derived values are cached per version
    state: dict = field(default_factory=dict, repr=False)  # the checkpoint's values, for the report builder

    @property
    def finished(self) -> bool:
        return self.question is None and self.report is not None


@dataclass(frozen=True)
class Assessment:
    """The Chain of Diagnosis for the findings so far (final or interim) and the urgency from the posterior."""

    chain: dict
    urgency: str
    urgency_reason: str


class Consultations:
    """Consultations over one compiled graph and one runtime context; safe to share between sessions."""

    def __init__(self, graph: CompiledStateGraph, ctx: ConsultContext):
        self.graph = graph
        self.ctx = ctx
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock(self, thread_id: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(thread_id, threading.Lock())

    # -- turns -------------------------------------------------------------------------------------
    def turn(
        self,
        thread_id: str,
        text: str,
        mode: str | None = None,
        language: str | None = None,
        on_event: Callable[[TurnEvent], None] | None = None,
    ) -> list[TurnEvent]:
        """Send the patient's text (the answer when a question is pending); `mode` and `language` apply to a
        new consultation only. Returns the streamed node updates, each also passed to `on_event`."""
        with self._lock(thread_id):
            return self._feed(send(self.graph, self.ctx, thread_id, text, mode, language), on_event)

    def _feed(self, stream: Any, on_event: Callable[[TurnEvent], None] | None) -> list[TurnEvent]:
        events: list[TurnEvent] = []
        deferred: BaseException | None = None
        for event in stream:
            events.append(event)
            if on_event is not None and deferred is None:
                try:
                    on_event(event)
                except BaseException as exc:  # noqa: BLE001 - re-raised once the turn is complete
                    deferred = exc
        if deferred is not None:
            raise deferred
        return events

    def _replan(self, thread_id: str, values: dict, on_event: Callable[[TurnEvent], None] | None) -> list[TurnEvent]:
        """Write `values` as if `understand` produced them, then run update -> inquire | report again."""
        config = config_for(thread_id)
        self.graph.update_state(config, values, as_node="understand")
        stream = self.graph.stream(None, config, context=self.ctx, stream_mode="updates")
        return self._feed(
            (
                TurnEvent(node=node, summary=summarise(node, upd), data=_plain(upd))
                for chunk in stream
                for node, upd in chunk.items()
            ),
            on_event,
        )

    def set_options(self, thread_id: str, mode: str | None = None, language: str | None = None) -> bool:
        """Switch an existing consultation's mode or language; a pending question is asked again in the new
        form. False when the thread has no state yet (the page passes the choice with the first message) or the
        mode or language is not one codx has."""
        values = {k: v for k, v in (("mode", mode), ("language", language)) if v}
        if not values or values.get("mode", "patient") not in MODES or values.get("language", "en") not in LANGUAGES:
            return False
        with self._lock(thread_id):
            snapshot = self.graph.get_state(config_for(thread_id))
            if not snapshot.values:
                return False
            if all(snapshot.values.get(k) == v for k, v in values.items()):
                return True
            if snapshot.next:  # waiting on a question (or stopped mid-turn): plan again
                self._replan(thread_id, values, None)
            else:  # finished: keep the report, later turns and exports use the new options
                self.graph.update_state(config_for(thread_id), values, as_node="report")
        return True

    def edit_findings(
        self,
        thread_id: str,
        add: Sequence[tuple[str, Status]] = (),
        remove: Sequence[str] = (),
        mode: str = "doctor",
        language: str | None = None,
    ) -> list[str]:
        """A doctor's direct edit: add findings by id or words (with a status) and remove findings by id,
        then update the posterior and the next question. Returns one message per entry not understood."""
        problems: list[str] = []
        with self._lock(thread_id):
            snapshot = self.graph.get_state(config_for(thread_id))
            state = snapshot.values or {}
            packs = tuple(state.get("packs") or self.ctx.default_packs)
            records = {f["id"]: f for f in state.get("findings", [])}
            turn = state.get("turn", 0)
            for text, status in add:
                found = self._resolve(packs, text)
                if isinstance(found, str):
                    problems.append(found)
                    continue
                fid, label = found
                records[fid] = FindingRecord(
                    id=fid, label=label, status=status, source="doctor", evidence=text[:200], turn=turn
                )
            for fid in remove:
                records.pop(fid, None)
            values: dict[str, Any] = {"findings": Overwrite(list(records.values()))}
            if not snapshot.values:
                values["mode"] = mode
                if language:
                    values["language"] = language
            self._replan(thread_id, values, None)
        return problems

    def _resolve(self, packs: tuple[str, ...], text: str) -> tuple[str, str] | str:
        """(id, label) for an id or a phrase, or the reason it is not a finding of the packs."""
        kn = self.ctx.model_for(packs).knowledge
        text = text.strip()
        try:
            j = kn.resolve(text.lstrip("+-!?"))
            return kn.finding_ids[j], kn.findings[j].label
        except UnknownFindingError as exc:
            mentions = self.ctx.extractor_for(packs).extract(text, "en")
            if not mentions:
                return f"{exc} (no finding named {text!r} either)"
            fid = mentions[0].finding_id
            return fid, kn.findings[kn.finding_index[fid]].label

    # -- reading -----------------------------------------------------------------------------------
    def view(self, thread_id: str) -> ThreadView:
        snapshot = self.graph.get_state(config_for(thread_id))
        values = snapshot.values or {}
        question = next((dict(i.value) for task in snapshot.tasks for i in task.interrupts), None)
        return ThreadView(
            thread_id=thread_id,
            exists=bool(values),
            entries=chat_entries(values.get("messages", [])),
            question=question,
            top=list(values.get("top") or []),
            next_questions=list(values.get("next_questions") or []),
            findings=list(values.get("findings") or []),
            red_flags=list(values.get("red_flags") or []),
            report=values.get("report"),
            notices=list(values.get("notices") or []),
            language=values.get("language"),
            mode=values.get("mode") or "patient",
            packs=tuple(values.get("packs") or self.ctx.default_packs),
            asked=len(values.get("asked") or []),
            version=str((snapshot.config or {}).get("configurable", {}).get("checkpoint_id", "")),
            state=dict(values),
        )

    def assess(self, view: ThreadView) -> Assessment:
        """The Chain of Diagnosis of the view's findings (interim while a question is pending) and the urgency
        from the posterior (red flags override), both from the agent's own report builder."""
        model = self.ctx.model_for(view.packs)
        state = {**view.state, "findings": view.findings, "mode": view.mode, "language": view.language or "en"}
        chain = build_report(model, state, self.ctx.rule.tau, self.ctx.emergency_number)
        if view.question is not None:
            chain["decision"] = "ask"
        urgency = chain.get("urgency") or {}
        return Assessment(
            chain=chain, urgency=urgency.get("level", "routine"), urgency_reason=urgency.get("reason", "")
        )

    def past(self, limit: int = 20, titles: dict[str, str] | None = None) -> list[ThreadSummary]:
        """The most recent consultations, newest first, each titled by its first message. `titles` (kept by
        the caller, e.g. per browser session) saves reading a consultation whose title is already known."""
        titles = {} if titles is None else titles
        out = []
        for thread_id, checkpoint_id in list_threads(self.graph.checkpointer, limit):  # type: ignore[arg-type]
            if thread_id not in titles:
                values = self.graph.get_state(config_for(thread_id)).values or {}
                first = next((text_of(m) for m in values.get("messages", []) if isinstance(m, HumanMessage)), "")
                if not first:  # a doctor's edits only
                    first = ", ".join(f["label"] for f in values.get("findings", [])[:3])
                titles[thread_id] = first[:60] or thread_id
            out.append(ThreadSummary(thread_id, titles[thread_id], checkpoint_time(checkpoint_id)))
        return out


def chat_entries(messages: Sequence[AnyMessage]) -> list[ChatEntry]:
    """The conversation as chat bubbles: what the person said and what codx said (tool output included)."""
    entries = []
    for m in messages:
        if isinstance(m, HumanMessage):
            entries.append(ChatEntry("user", text_of(m)))
        elif isinstance(m, ToolMessage):
            entries.append(ChatEntry("assistant", f"[{m.name}] {text_of(m)}"))
        elif isinstance(m, AIMessage) and text_of(m).strip():
            entries.append(ChatEntry("assistant", text_of(m)))
    return entries


def _plain(upd: Any) -> dict:
    if isinstance(upd, dict):
        return {k: v for k, v in upd.items() if k != "messages"}
    if isinstance(upd, tuple | list) and upd and hasattr(upd[0], "value"):
        return {"interrupt": upd[0].value}
    return {}
