"""Voice and image tools: discovery by convention, uploads kept inside the tool folder, outcomes as text."""

from __future__ import annotations

from langchain_core.tools import StructuredTool
from pydantic import BaseModel
from ui_harness import HEARD, fake_media_tools

from codx.tools.call import ToolOutcome
from codx.ui.media import image_tools, read_file_with, save_upload, text_of_outcome, voice_tool


class Query(BaseModel):
    query: str


def test_tools_are_found_by_name_and_file_argument():
    tools = fake_media_tools()
    assert voice_tool(tools).name == "transcribe"
    assert [t.name for t in image_tools(tools)] == ["image_review"]
    no_file = StructuredTool.from_function(lambda query: "", name="transcribe", description="x", args_schema=Query)
    assert voice_tool([no_file]) is None, "a tool that takes no file cannot read a recording"
    assert voice_tool([]) is None and image_tools([]) == []


def test_uploads_stay_inside_the_tool_folder(tmp_path):
    rel = save_upload(tmp_path, "../../etc", "../../passwd", b"data")
    assert not rel.startswith("/") and ".." not in rel.split("/")
    assert (tmp_path / rel).read_bytes() == b"data"
    assert (tmp_path / rel).resolve().is_relative_to(tmp_path.resolve())


def test_reading_a_file_returns_the_tool_text(tmp_path):
    voice, image = fake_media_tools()
    rel = save_upload(tmp_path, "t1", "clip.wav", b"RIFF")
    assert text_of_outcome(read_file_with(voice, rel, "en")) == HEARD
    assert text_of_outcome(read_file_with(image, rel)) == "runny nose"


def test_a_failing_tool_gives_no_text():
    assert text_of_outcome(ToolOutcome(name="transcribe", ok=False, error="no model")) == ""
