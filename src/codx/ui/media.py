"""Voice and images in the app: find the agent tools that can read them, save the upload where tools may read
it, and call the tool. A control is shown only when a tool for it is loaded (the page asks `voice_tool` and
`image_tools`), so the app never shows a button that does nothing.

Conventions a tool plug-in follows to be picked up: a transcription tool is named `transcribe_audio` (codx's
own) or `transcribe`; an image tool's name starts with `image`, `scan` or `photo`; either takes the file as a
path relative to the tool folder in an argument named one of `FILE_ARGS`, and may take `language`. Output is
text, or JSON with a `text` field.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from langchain_core.tools import BaseTool

from codx.tools.call import ToolOutcome, run_tool_call

VOICE_TOOLS = ("transcribe_audio", "transcribe")
IMAGE_PREFIXES = ("image", "scan", "photo")
FILE_ARGS = ("path", "file", "file_path", "audio", "audio_path", "image", "image_path", "filename")
IMAGE_TYPES = ["png", "jpg", "jpeg", "webp", "dcm"]
_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def _file_arg(tool: BaseTool) -> str | None:
    fields = getattr(tool.args_schema, "model_fields", {})
    return next((name for name in FILE_ARGS if name in fields), None)


def voice_tool(tools: list[BaseTool]) -> BaseTool | None:
    """The transcription tool, when one is loaded and takes a file."""
    return next((t for t in tools if t.name in VOICE_TOOLS and _file_arg(t)), None)


def image_tools(tools: list[BaseTool]) -> list[BaseTool]:
    """Tools that read an image file."""
    return [t for t in tools if t.name.startswith(IMAGE_PREFIXES) and _file_arg(t)]


def save_upload(workdir: Path, thread_id: str, name: str, data: bytes) -> str:
    """Write an upload below the tool folder; returns the path relative to it (what tools are given)."""
    folder = Path("uploads") / _SAFE.sub("_", thread_id)[:64]
    (workdir / folder).mkdir(parents=True, exist_ok=True)
    stem = _SAFE.sub("_", Path(name).name)[-80:] or "upload"
    relative = folder / stem
    (workdir / relative).write_bytes(data)
    return relative.as_posix()


def read_file_with(tool: BaseTool, relative_path: str, language: str | None = None) -> ToolOutcome:
    """Call `tool` on a saved upload; failures come back as a ToolOutcome, never an exception."""
    args: dict = {_file_arg(tool) or "path": relative_path}
    if language and "language" in getattr(tool.args_schema, "model_fields", {}):
        args["language"] = language
    return run_tool_call([tool], tool.name, args)


def text_of_outcome(outcome: ToolOutcome) -> str:
    """The text a tool returned: the `text` field of a JSON answer, or the answer itself."""
    if not outcome.ok:
        return ""
    try:
        data = json.loads(outcome.content)
    except ValueError:
        return outcome.content.strip()
    if isinstance(data, dict) and isinstance(data.get("text"), str):
        return data["text"].strip()
    return outcome.content.strip()
