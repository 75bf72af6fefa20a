"""What all sessions of the app share: models, readers, tools, the checkpointer and the compiled graph.

Nothing personal lives here (consultations are in the checkpointer, keyed by thread id), which is why the app
may keep one Engine per process in `st.cache_resource`. The entry script (`app.py`) builds it from Settings.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from langchain_core.tools import BaseTool
from langgraph._internal._constants import CONFIG_KEY_DURABILITY
from langgraph.checkpoint.base import BaseCheckpointSaver

from codx.agent.context import ConsultContext
from codx.agent.graph import build_graph
from codx.ui.consultations import Consultations


@dataclass
class Engine:
    consultations: Consultations
    tools: list[BaseTool]
    tool_workdir: Path  # the folder tools read files from; uploads go below it
    emergency_number: str
    default_mode: str = "patient"
    default_language: str | None = None  # None: detected from the first message
    _stack: ExitStack = field(default_factory=ExitStack, repr=False)

    def close(self) -> None:
        self._stack.close()


def tune_for_sessions(saver: BaseCheckpointSaver) -> None:
    """SQLite in write-ahead-log mode: readers (page redraws) never wait for a writer (another session's turn),
    and a commit needs no fsync of the main file (synchronous=NORMAL keeps it crash-safe for the app). It
    halves a turn's time on the default SQLite store; PostgreSQL needs nothing."""
    from langgraph.checkpoint.sqlite import SqliteSaver

    if isinstance(saver, SqliteSaver):
        with saver.lock:
            saver.conn.execute("PRAGMA journal_mode=WAL")
            saver.conn.execute("PRAGMA synchronous=NORMAL")


def engine_from_context(
    ctx: ConsultContext,
    saver: BaseCheckpointSaver,
    tool_workdir: Path,
    default_mode: str = "patient",
    default_language: str | None = None,
    stack: ExitStack | None = None,
) -> Engine:
    tune_for_sessions(saver)
    # One checkpoint per turn, written when the turn ends (at its question or report), instead of one per node:
    # a third of a turn's time. A process killed mid-turn loses that turn only; the consultation resumes at the
    # question before it, which the page shows again. (LangGraph reads `durability` from this config key.)
    graph = build_graph(ctx.tools, saver).with_config(configurable={CONFIG_KEY_DURABILITY: "exit"})
    return Engine(
        consultations=Consultations(graph, ctx),
        tools=list(ctx.tools),
        tool_workdir=tool_workdir,
        emergency_number=ctx.emergency_number,
        default_mode=default_mode,
        default_language=default_language,
        _stack=stack or ExitStack(),
    )
