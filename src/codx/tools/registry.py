"""Agent tools are plug-ins: any installed distribution can add one under the entry-point group `codx.tools`.

An entry point names a factory `make_tool(ctx: ToolContext) -> langchain_core.tools.BaseTool`:

    [project.entry-points."codx.tools"]
    finding_search = "codx.tools.finding_search:make_tool"

`load_tools` builds every tool it finds. A plug-in that cannot be imported, whose factory raises, or whose
tool breaks the rules below is skipped with a logged warning and a line in `LoadedTools.problems`; the app
keeps running with the others. Rules: the tool is a `BaseTool`; its name equals the entry-point name and
matches `TOOL_NAME_PATTERN`; it has a pydantic `args_schema` (a class, not a JSON-schema dict); the first
plug-in to claim a name wins.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from langchain_core.tools import BaseTool
from pydantic import BaseModel

from codx.errors import ToolError
from codx.models.diagnosis.model import DiagnosisModel

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "codx.tools"
#: Lower-case letters, digits and underscores, starting with a letter, at most 64 characters (what every
#: chat-model tool-calling API accepts).
TOOL_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


@dataclass(frozen=True)
class ToolContext:
    """What a tool factory is given: the one folder it may read and write, and the active diagnosis model.

    `workdir` is made absolute and created if missing; resolve every user-given path with
    `codx.tools.sandbox.resolve_in_workdir(ctx.workdir, path)`."""

    workdir: Path
    model: DiagnosisModel | None = None
    models_dir: Path | None = None  # converted and trained models (speech); None: tools that need one refuse

    def __post_init__(self) -> None:
        workdir = Path(self.workdir).expanduser().resolve()
        try:
            workdir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ToolError(
                f"cannot create the tool folder {workdir} ({exc}); set CODX_DATA_DIR to a writable folder"
            ) from exc
        object.__setattr__(self, "workdir", workdir)

    @classmethod
    def for_data_dir(cls, data_dir: Path, model: DiagnosisModel | None = None) -> ToolContext:
        """The standard context: tools share `<data_dir>/tool-files` (pass `Settings().data_dir`)."""
        return cls(workdir=Path(data_dir) / "tool-files", model=model, models_dir=Path(data_dir) / "models")


@dataclass(frozen=True)
class LoadedTools:
    """The tools that were built, in discovery order, and one readable line per plug-in that was skipped."""

    tools: list[BaseTool] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.tools]

    def get(self, name: str) -> BaseTool | None:
        return next((t for t in self.tools if t.name == name), None)


def _entry_points() -> list[Any]:
    # `metadata.entry_points` is looked up at call time so tests can monkeypatch `importlib.metadata`.
    return list(metadata.entry_points(group=ENTRY_POINT_GROUP))


def check_tool(tool: object, expected_name: str | None = None) -> str | None:
    """Why `tool` cannot be offered to the agent, or None when it can."""
    if not isinstance(tool, BaseTool):
        return f"the factory returned {type(tool).__name__}, not a langchain_core.tools.BaseTool"
    if not TOOL_NAME_PATTERN.match(tool.name or ""):
        return (
            f"tool name {tool.name!r} is not allowed; use lower-case letters, digits and underscores, "
            "starting with a letter, at most 64 characters"
        )
    if expected_name is not None and tool.name != expected_name:
        return f"the tool is named {tool.name!r} but its entry point is {expected_name!r}; give both the same name"
    schema = tool.args_schema
    if not (isinstance(schema, type) and issubclass(schema, BaseModel)):
        return (
            f"tool {tool.name!r} has no pydantic args_schema (got {type(schema).__name__}); "
            "pass args_schema=YourArgs (a pydantic.BaseModel subclass) when building it"
        )
    if not (tool.description or "").strip():
        return f"tool {tool.name!r} has no description; the agent needs one to know when to use it"
    return None


def load_tools(ctx: ToolContext, names: list[str] | None = None) -> LoadedTools:
    """Build the tools of every plug-in in the `codx.tools` group (or only the entry points in `names`).

    Never raises for a broken plug-in: it is skipped, logged and described in `problems`."""
    tools: list[BaseTool] = []
    problems: list[str] = []
    seen: dict[str, str] = {}  # tool name -> entry-point value that provided it
    tried: set[tuple[str, str]] = set()

    def problem(message: str) -> None:
        log.warning("skipping agent tool: %s", message)
        problems.append(message)

    try:
        entry_points = _entry_points()
    except Exception as exc:  # a corrupt installed distribution must not stop the app
        problem(f"could not list the installed tool plug-ins ({type(exc).__name__}: {exc})")
        entry_points = []
    wanted = None if names is None else list(dict.fromkeys(names))
    if wanted is not None:
        available = {ep.name for ep in entry_points}
        for name in wanted:
            if name not in available:
                problem(
                    f"no tool plug-in named {name!r} is installed (installed: {', '.join(sorted(available)) or 'none'})"
                )
        entry_points = [ep for ep in entry_points if ep.name in wanted]

    for ep in entry_points:
        where = f"{ep.name!r} ({ep.value})"
        if (ep.name, ep.value) in tried:  # the same entry point listed twice (e.g. stale metadata) is harmless
            continue
        tried.add((ep.name, ep.value))
        if ep.name in seen:
            problem(f"tool plug-in {where}: the name is already taken by {seen[ep.name]}; the first one is kept")
            continue
        try:
            factory = ep.load()
        except Exception as exc:
            problem(f"tool plug-in {where} could not be imported ({type(exc).__name__}: {exc}); reinstall or fix it")
            continue
        if not callable(factory):
            problem(f"tool plug-in {where} does not name a callable make_tool(ctx) factory")
            continue
        try:
            tool = factory(ctx)
        except Exception as exc:
            problem(f"tool plug-in {where} failed to build its tool ({type(exc).__name__}: {exc})")
            continue
        reason = check_tool(tool, expected_name=ep.name)
        if reason is not None:
            problem(f"tool plug-in {where}: {reason}")
            continue
        seen[ep.name] = ep.value
        tools.append(tool)
    return LoadedTools(tools=tools, problems=problems)
