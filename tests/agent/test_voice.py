"""A voice consultation: espeak-ng speaks the complaint and the yes / no answers, Whisper base (converted
from its package) transcribes them through the `transcribe_audio` tool, and the agent reaches a report."""

from __future__ import annotations

import dataclasses

import pytest
from support.speech import needs_espeak, speak

from codx.agent.graph import build_graph
from codx.agent.persistence import open_checkpointer
from codx.agent.session import new_thread_id, pending_question, save_recording, send
from codx.tools.registry import ToolContext, load_tools

pytestmark = [needs_espeak, pytest.mark.slow]

#: Answers by finding: a patient with strep throat (clinic pack: sore throat, fever, some headache).
ANSWERS = {"C:fever": "Yes, I do.", "C:headache": "Yes, I do."}


@pytest.fixture
def voice_ctx(consult_ctx, clinic_model, speech_models_dir, tmp_path):
    tool_ctx = ToolContext(workdir=tmp_path / "tools", model=clinic_model, models_dir=speech_models_dir)
    return dataclasses.replace(consult_ctx, tools=load_tools(tool_ctx).tools, workdir=tool_ctx.workdir)


@pytest.fixture
def voice_graph(voice_ctx, tmp_path):
    with open_checkpointer(tmp_path / "voice.sqlite") as saver:
        yield build_graph(voice_ctx.tools, saver)


def say(graph, ctx, thread, text):
    audio = save_recording(ctx, thread, speak(text, "en-us", 130))
    return list(send(graph, ctx, thread, "", audio=audio))


def test_spoken_complaint_and_answers_reach_a_diagnosis(voice_graph, voice_ctx):
    g, t = voice_graph, new_thread_id()
    events = say(g, voice_ctx, t, "I have a sore throat.")
    assert [e.node for e in events][:4] == ["screen", "understand", "tools", "record_tools"]
    state = g.get_state({"configurable": {"thread_id": t}}).values
    heard = [m for m in state["messages"] if m.additional_kwargs.get("transcribed_from")]
    assert heard and "sore throat" in heard[0].content.lower()
    assert any(f["id"] == "C:sore_throat" and f["status"] == "present" for f in state["findings"])
    for _ in range(8):
        q = pending_question(g, t)
        if q is None:
            break
        say(g, voice_ctx, t, ANSWERS.get(q["finding"], "No, I don't."))
    state = g.get_state({"configurable": {"thread_id": t}}).values
    answered = {f["id"]: f["status"] for f in state["findings"] if f["source"] == "answer"}
    assert answered, "spoken answers were recorded"
    assert all(answered[f] == ("present" if f in ANSWERS else "absent") for f in answered), answered
    report = state["report"]
    assert report["candidates"][0]["label"] == "Streptococcal pharyngitis", report["candidates"][:3]
    recordings = list((voice_ctx.workdir / "recordings").glob(f"{t}-*.wav"))
    assert len(recordings) == 1 + len(state["asked"]), "every recording is kept in the tool folder"


def test_a_spoken_red_flag_escalates(voice_graph, voice_ctx):
    g, t = voice_graph, new_thread_id()
    say(g, voice_ctx, t, "I have crushing chest pain and I cannot breathe.")
    state = g.get_state({"configurable": {"thread_id": t}}).values
    assert state["red_flags"] and state["decision"] == "emergency"


def test_a_corrupt_recording_is_a_message_and_the_question_stays(voice_graph, voice_ctx):
    g, t = voice_graph, new_thread_id()
    list(send(g, voice_ctx, t, "I have a sore throat"))
    question = pending_question(g, t)
    audio = save_recording(voice_ctx, t, b"RIFF not really a wave file")
    list(send(g, voice_ctx, t, "", audio=audio))
    state = g.get_state({"configurable": {"thread_id": t}}).values
    assert any("could not use the recording" in n for n in state["notices"])
    assert pending_question(g, t)["finding"] == question["finding"], "the same question is asked again"
