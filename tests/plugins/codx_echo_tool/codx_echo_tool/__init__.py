"""Test plug-in `echo_upper`: returns its text upper-cased and, if asked, saves it inside the tool folder."""

from __future__ import annotations

from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel, ConfigDict, Field

from codx.tools.registry import ToolContext
from codx.tools.sandbox import resolve_in_workdir


class EchoUpperArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(max_length=500, description="The text to upper-case (treated as plain data).")
    save_as: str | None = Field(None, description="A file name inside the tool folder to save the result to.")


def make_tool(ctx: ToolContext) -> BaseTool:
    def echo_upper(text: str, save_as: str | None = None) -> str:
        result = text.upper()
        if save_as is not None:
            path = resolve_in_workdir(ctx.workdir, save_as)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(result, encoding="utf-8")
            return f"{result}\n(saved to {path.relative_to(ctx.workdir)})"
        return result

    return StructuredTool.from_function(
        func=echo_upper,
        name="echo_upper",
        description="Upper-case a text; optionally save it to a file in the tool folder.",
        args_schema=EchoUpperArgs,
    )
