"""Calling one tool by name with JSON-like arguments, turning every failure into a readable `ToolOutcome`.

Arguments are data, never instructions. A `query` or `text` argument that says "ignore previous
instructions" or "run rm -rf" is passed to the tool exactly as given and the tool treats it like any other
string: tools must not evaluate, format-expand, shell out with, or follow anything written in their
arguments, and the agent must present a tool's output as tool output (quoted), not as new instructions.
This module never interprets argument values either: it only validates them against the tool's pydantic
`args_schema`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool
from pydantic import BaseModel, ValidationError

from codx.errors import ToolError
from codx.tools.sandbox import safe_text

log = logging.getLogger(__name__)

#: What a tool may say back (characters); longer output is cut with a note saying how much was dropped.
MAX_OUTPUT_CHARS = 4_000
MAX_ERROR_CHARS = 1_000
TOOL_COMMAND = "/tool"
TOOL_COMMAND_USAGE = '/tool NAME {"argument": "value", ...}  (the arguments are one JSON object; {} for none)'


class ToolOutcome(BaseModel):
    """The result of one tool call: `content` when ok, otherwise `error` (a message meant for people)."""

    name: str
    ok: bool
    content: str = ""
    error: str | None = None

    @property
    def text(self) -> str:
        """What to show the doctor or hand back to the language model."""
        return self.content if self.ok else f"Error: {self.error}"


def _fail(name: str, message: str) -> ToolOutcome:
    return ToolOutcome(name=name, ok=False, error=safe_text(message, MAX_ERROR_CHARS))


def _field_names(schema: type[BaseModel]) -> set[str]:
    names = set(schema.model_fields)
    for f in schema.model_fields.values():
        names.update(a for a in (f.alias, f.validation_alias) if isinstance(a, str))
    return names


def describe_arguments(schema: type[BaseModel]) -> str:
    """`query (required), limit (optional)`: the argument names a tool takes, for error messages."""
    parts = [f"{n} ({'required' if f.is_required() else 'optional'})" for n, f in schema.model_fields.items()]
    return ", ".join(parts) or "no arguments"


def _validation_message(tool_name: str, exc: ValidationError, schema: type[BaseModel]) -> str:
    # Only field names and pydantic's messages: the offending values are not echoed back (they may be long
    # or contain text meant to steer the model).
    bad = []
    for err in exc.errors(include_url=False, include_input=False):
        where = ".".join(str(p) for p in err.get("loc", ())) or "(arguments)"
        bad.append(f"{where}: {err.get('msg', 'invalid value')}")
    return f"bad arguments for tool {tool_name!r}: {'; '.join(bad)}. It takes: {describe_arguments(schema)}"


def _to_text(output: Any) -> str:
    if output is None:
        return ""
    if isinstance(output, str):
        return output
    if isinstance(output, ToolMessage):
        return _to_text(output.content)
    if isinstance(output, BaseModel):
        return output.model_dump_json()
    try:
        return json.dumps(output, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return repr(output)


def _is_control_flow(exc: BaseException) -> bool:
    # langgraph's interrupts (GraphBubbleUp and subclasses) must reach the graph; codx.tools may not import
    # langgraph, so they are recognised by name.
    return any(c.__name__ == "GraphBubbleUp" for c in type(exc).__mro__)


def run_tool_call(tools: Sequence[BaseTool], name: str, args: dict[str, Any]) -> ToolOutcome:
    """Validate `args` against tool `name`'s schema and run it; never raises for a bad call or a failing tool.

    - unknown tool -> ok=False naming the available tools;
    - arguments that are not an object, unknown argument names, or values the schema rejects -> ok=False
      listing each bad field;
    - an exception inside the tool -> ok=False with its message;
    - output longer than `MAX_OUTPUT_CHARS` is trimmed (control characters dropped).

    Argument values are passed through untouched: text that looks like instructions is just data."""
    by_name = {t.name: t for t in tools}
    tool = by_name.get(name)
    if tool is None:
        available = ", ".join(sorted(by_name)) or "none are loaded"
        return _fail(str(name), f"there is no tool named {name!r}; available tools: {available}")
    if not isinstance(args, dict):
        return _fail(name, f"the arguments for tool {name!r} must be a JSON object, got {type(args).__name__}")
    schema = tool.args_schema
    if not (isinstance(schema, type) and issubclass(schema, BaseModel)):
        return _fail(name, f"tool {name!r} has no pydantic args_schema and cannot be called safely")
    if schema.model_config.get("extra") != "allow":
        unknown = sorted(str(k) for k in args if k not in _field_names(schema))
        if unknown:
            return _fail(
                name,
                f"bad arguments for tool {name!r}: unknown argument(s) {', '.join(unknown)}. "
                f"It takes: {describe_arguments(schema)}",
            )
    try:
        schema.model_validate(args)
    except ValidationError as exc:
        return _fail(name, _validation_message(name, exc, schema))
    try:
        output = tool.invoke(dict(args))
    except ValidationError as exc:  # the tool validated something of its own
        return _fail(name, f"tool {name!r} rejected its input: {exc.error_count()} error(s): {exc}")
    except Exception as exc:
        if _is_control_flow(exc):
            raise
        log.info("tool %s failed", name, exc_info=True)
        detail = str(exc) or "no message"
        if not isinstance(exc, ToolError):
            detail = f"{type(exc).__name__}: {detail}"
        return _fail(name, f"tool {name!r} failed: {detail}")
    return ToolOutcome(name=name, ok=True, content=safe_text(_to_text(output), MAX_OUTPUT_CHARS))


def parse_tool_command(text: str) -> tuple[str, dict[str, Any]]:
    """`/tool NAME {json args}` -> (NAME, args). The JSON part may be left out (no arguments).

    Raises `ToolError` with the expected form when the message is not a well-formed tool command."""
    stripped = text.strip()
    head, _, rest = stripped.partition(" ")
    if head != TOOL_COMMAND:
        raise ToolError(f"not a tool command; write {TOOL_COMMAND_USAGE}")
    rest = rest.strip()
    name, _, raw_args = rest.partition(" ")
    name, raw_args = name.strip(), raw_args.strip()
    if "{" in name:  # "/tool name{...}" without a space
        name, raw_args = name[: name.index("{")], name[name.index("{") :] + raw_args
    if not name:
        raise ToolError(f"the tool name is missing; write {TOOL_COMMAND_USAGE}")
    if not raw_args:
        return name, {}
    try:
        args = json.loads(raw_args)
    except json.JSONDecodeError as exc:
        raise ToolError(
            f"the arguments of /tool {name} are not valid JSON ({exc.msg}); write {TOOL_COMMAND_USAGE}"
        ) from exc
    if not isinstance(args, dict):
        raise ToolError(f"the arguments of /tool {name} must be a JSON object; write {TOOL_COMMAND_USAGE}")
    return name, args


def outcome_message(outcome: ToolOutcome, tool_call_id: str) -> ToolMessage:
    """The `ToolMessage` a graph appends for `outcome` (status "error" when it failed)."""
    return ToolMessage(
        content=outcome.text,
        name=outcome.name,
        tool_call_id=tool_call_id,
        status="success" if outcome.ok else "error",
    )


def tool_call_wrapper(tools: Sequence[BaseTool]) -> Callable[[Any, Callable[[Any], Any]], ToolMessage]:
    """A `wrap_tool_call` for langgraph's `ToolNode` that runs every call through `run_tool_call`.

    `ToolNode(tools, wrap_tool_call=tool_call_wrapper(tools))` then gets the same checks, messages and
    trimming as `run_tool_call`, and a failing plug-in becomes an error `ToolMessage` instead of an
    exception that ends the consultation (ToolNode's default re-raises tool exceptions)."""
    tools = list(tools)

    def wrap(request: Any, execute: Callable[[Any], Any]) -> ToolMessage:
        call = request.tool_call
        return outcome_message(run_tool_call(tools, call["name"], call.get("args", {})), call.get("id") or "")

    return wrap
