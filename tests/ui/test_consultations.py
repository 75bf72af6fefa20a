"""The app's server side without Streamlit: turns, views, option changes, doctor edits, past consultations,
concurrency and restarts."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import pytest
from ui_harness import close_all, engine_at

from codx.agent.session import new_thread_id
from codx.ui.bench import run_bench


def test_a_turn_streams_node_updates_and_the_view_shows_the_question(engine):
    cons, t = engine.consultations, new_thread_id()
    seen = []
    events = cons.turn(t, "I have a sore throat", on_event=seen.append)
    assert [e.node for e in events] == [e.node for e in seen]
    assert [e.node for e in events][:3] == ["screen", "understand", "update"] and events[-1].node == "__interrupt__"
    view = cons.view(t)
    assert view.exists and not view.finished
    assert [(e.role, e.text) for e in view.entries] == [("user", "I have a sore throat")]
    assert view.question["options"] == ["yes", "no", "not sure"]
    assert view.top and view.top[0]["probability"] >= view.top[-1]["probability"]
    assert view.language == "en" and view.mode == "patient" and view.version


def test_one_checkpoint_per_turn(engine):
    """The app writes a consultation once per turn (LangGraph durability "exit"), not once per node."""
    from codx.agent.session import config_for

    cons, t = engine.consultations, new_thread_id()
    cons.turn(t, "I have a sore throat")
    cons.turn(t, "yes")
    assert len(list(cons.graph.get_state_history(config_for(t)))) == 2


def test_a_turn_completes_even_when_the_progress_callback_raises(engine):
    """Streamlit stops a script by raising inside an st call; the turn must not stop between two nodes."""
    cons, t = engine.consultations, new_thread_id()

    def stop(event):
        raise KeyboardInterrupt("user clicked")

    with pytest.raises(KeyboardInterrupt):
        cons.turn(t, "I have a sore throat", on_event=stop)
    assert cons.view(t).question is not None, "the turn ran to its question anyway"


def test_assessment_has_the_chain_and_an_urgency(engine):
    cons, t = engine.consultations, new_thread_id()
    cons.turn(t, "I have a sore throat")
    view = cons.view(t)
    a = cons.assess(view)
    assert a.chain["decision"] == "ask"
    assert a.chain["candidates"][0]["label"] and a.chain["reasoning"]
    assert a.urgency in ("emergency", "urgent", "routine", "self_care") and a.urgency_reason
    for _ in range(8):
        if cons.view(t).question is None:
            break
        cons.turn(t, "yes")
    a = cons.assess(cons.view(t))
    assert a.chain["decision"] in ("diagnose", "undetermined")


def test_a_red_flag_makes_the_urgency_an_emergency(engine):
    cons, t = engine.consultations, new_thread_id()
    cons.turn(t, "I have chest pain")
    view = cons.view(t)
    assert view.red_flags and view.finished
    assert cons.assess(view).urgency == "emergency"


def test_language_change_asks_the_pending_question_again(engine):
    cons, t = engine.consultations, new_thread_id()
    cons.turn(t, "I have a sore throat")
    before = cons.view(t).question
    assert cons.set_options(t, language="es")
    after = cons.view(t).question
    assert after["finding"] == before["finding"] and after["options"] == ["sí", "no", "no sé"]
    assert not cons.set_options(new_thread_id(), language="fr"), "nothing to change before the first message"
    assert not cons.set_options(t, language="Automatic"), "only the six languages"
    assert not cons.set_options(t, mode="Patient"), "only patient or doctor"
    assert cons.view(t).language == "es"


def test_options_change_on_a_finished_consultation_keeps_its_report(engine):
    cons, t = engine.consultations, new_thread_id()
    cons.turn(t, "I have chest pain")
    entries = cons.view(t).entries
    assert cons.set_options(t, mode="doctor")
    view = cons.view(t)
    assert view.mode == "doctor" and view.entries == entries and view.finished


def test_doctor_edits_add_by_id_or_words_and_remove(engine):
    cons, t = engine.consultations, new_thread_id()
    problems = cons.edit_findings(t, add=[("C:sore_throat", "present"), ("muscle aches", "absent")])
    assert problems == []
    view = cons.view(t)
    assert view.mode == "doctor" and view.question is not None
    assert {f["id"]: (f["status"], f["source"]) for f in view.findings} == {
        "C:sore_throat": ("present", "doctor"),
        "C:myalgia": ("absent", "doctor"),
    }
    top_before = view.top[0]
    cons.edit_findings(t, remove=["C:sore_throat"])
    view = cons.view(t)
    assert [f["id"] for f in view.findings] == ["C:myalgia"]
    assert view.top[0] != top_before, "the posterior follows the edit"
    assert cons.edit_findings(t, add=[("HP:0000000", "present")]) != []


def test_past_consultations_newest_first_with_their_first_message(engine):
    cons = engine.consultations
    a, b = new_thread_id(), new_thread_id()
    cons.turn(a, "I have a headache")
    cons.turn(b, "I have a sore throat")
    past = cons.past()
    assert [p.thread_id for p in past][:2] == [b, a]
    assert past[0].title == "I have a sore throat" and past[0].updated


def test_a_new_process_resumes_at_the_pending_question(paths):
    t = new_thread_id()
    first = engine_at(*paths).consultations
    first.turn(t, "I have a sore throat")
    question = first.view(t).question
    close_all()
    second = engine_at(*paths).consultations  # a new engine over the same database file
    assert second.view(t).question == question
    second.turn(t, "no")
    assert {f["id"]: f["status"] for f in second.view(t).findings}[question["finding"]] == "absent"
    close_all()


def test_concurrent_sessions_do_not_see_each_other(engine):
    cons = engine.consultations
    threads = [new_thread_id() for _ in range(8)]

    def consult(i: int) -> list[str]:
        t = threads[i]
        said = [f"I have a sore throat ({i})"]
        cons.turn(t, said[0])
        for _ in range(4):
            if cons.view(t).question is None:
                break
            said.append("no" if i % 2 else "yes")
            cons.turn(t, said[-1])
        return said

    with ThreadPoolExecutor(8) as pool:
        sent = list(pool.map(consult, range(8)))
    for t, said in zip(threads, sent, strict=True):
        assert [e.text for e in cons.view(t).entries if e.role == "user"] == said


def test_the_turn_benchmark_reports_percentiles_and_no_cross_talk(engine):
    summary, cases = run_bench(engine.consultations, sessions=4, max_turns=4, think=0.0)
    assert summary["sessions"] == 4 and summary["sessions_with_cross_talk"] == 0
    assert 0 < summary["turn_ms_p50"] <= summary["turn_ms_p95"] <= summary["turn_ms_max"]
    assert len(cases) == 4 and all(c["turns"] >= 1 and c["predictions"] for c in cases)
    assert {c["language"] for c in cases} == {"en", "es", "fr"}


def test_a_consultation_with_only_doctor_edits_is_titled_by_its_findings(engine):
    cons, t = engine.consultations, new_thread_id()
    cons.edit_findings(t, add=[("C:fever", "present")])
    titles: dict[str, str] = {}
    assert [(p.thread_id, p.title) for p in cons.past(titles=titles)] == [(t, "Fever")]
    assert titles == {t: "Fever"}, "titles are kept by the caller and not read again"


def test_checkpoint_times_come_from_the_checkpoint_id():
    from langgraph.checkpoint.base.id import uuid6

    from codx.ui.history import checkpoint_time

    assert checkpoint_time(str(uuid6()))[:4] >= "2025"
    assert checkpoint_time("not-a-uuid") == ""


@pytest.mark.skipif(not os.environ.get("CODX_TEST_DATABASE_URL"), reason="no PostgreSQL (CI starts one)")
def test_sessions_and_the_past_list_on_postgres(tmp_path):
    from ui_harness import clinic_context

    from codx.agent.persistence import open_checkpointer
    from codx.ui.engine import engine_from_context

    ctx = clinic_context(tmp_path)
    t = new_thread_id()
    with open_checkpointer(None, os.environ["CODX_TEST_DATABASE_URL"]) as saver:  # type: ignore[arg-type]
        cons = engine_from_context(ctx, saver, tmp_path).consultations
        cons.turn(t, "I have a sore throat (postgres)")
        assert cons.view(t).question is not None
        past = cons.past(limit=50)
        assert past[0].thread_id == t and past[0].title == "I have a sore throat (postgres)" and past[0].updated
