"""The page under Streamlit's AppTest, on the clinic pack: chat flow, quick replies, resume by URL, sessions,
red flags, languages, doctor mode, exports, voice and images."""

from __future__ import annotations

import re
import wave
from io import BytesIO

import pytest
from streamlit.testing.v1 import AppTest
from support.speech import needs_espeak, speak
from ui_harness import HEARD


def plain(markdown: str) -> str:
    """What the reader sees: the page escapes Markdown in chat text."""
    return re.sub(r"\\(.)", r"\1", markdown).replace("&nbsp;", " ")


def bubbles(at: AppTest) -> list[tuple[str, str]]:
    return [(m.name, plain(" ".join(x.value for x in m.markdown))) for m in at.chat_message]


def replies(at: AppTest) -> list:
    return [b for b in at.button if (b.key or "").startswith("reply-")]


def say(at: AppTest, text: str) -> AppTest:
    at.chat_input[0].set_value(text)
    return at.run()


def answer_until_done(at: AppTest, option: int = 0, limit: int = 10) -> AppTest:
    for _ in range(limit):
        buttons = replies(at)
        if not buttons:
            break
        buttons[option].click()
        at.run()
    return at


def thread_of(at: AppTest) -> str:
    return at.query_params["thread"]


def test_disclaimer_greeting_and_a_thread_id_in_the_url(open_app):
    at = open_app()
    assert not at.exception
    assert any("not a medical device" in i.value for i in at.info)
    assert bubbles(at)[0][0] == "assistant" and "Describe your symptoms" in bubbles(at)[0][1]
    assert len(thread_of(at)) == 16
    assert not replies(at), "no quick replies before a question"


def test_chat_flow_asks_with_quick_replies_then_reports(open_app):
    at = say(open_app(), "I have a sore throat")
    assert not at.exception
    names = [n for n, _ in bubbles(at)]
    assert names[:3] == ["assistant", "user", "assistant"]
    assert "Do you have" in bubbles(at)[-1][1]
    assert [b.label for b in replies(at)] == ["Yes", "No", "Not sure"]
    assert at.get("vega_lite_chart"), "the confidence chart is drawn after the first message"
    answer_until_done(at)
    assert not replies(at), "the consultation ended with a report"
    report = bubbles(at)[-1][1]
    assert "These are possibilities" in report and "not a medical device" in report
    chain = at.expander[0]
    assert chain.label == "Chain of Diagnosis"
    text = " ".join(m.value for m in chain.markdown)
    assert "Summary of symptoms" in text and "Reasoning" in text and "Decision" in text
    assert "Confident enough to summarise" in text
    assert {b.label for b in at.get("download_button")} == {"Download PDF", "Download JSON"}


def test_quick_replies_and_free_text_are_answers(open_app, engine):
    at = say(open_app(), "I have a sore throat")
    first = engine.consultations.view(thread_of(at)).question["finding"]
    replies(at)[1].click()  # "No"
    at.run()
    view = engine.consultations.view(thread_of(at))
    assert {f["id"]: f["status"] for f in view.findings}[first] == "absent"
    second = view.question["finding"]
    say(at, "hmm, I really can't tell")  # free text that does not answer: left open as "not sure"
    statuses = {f["id"]: (f["status"], f["source"]) for f in engine.consultations.view(thread_of(at)).findings}
    assert statuses[second] == ("unsure", "answer")


def test_a_reload_or_second_tab_resumes_the_consultation_from_the_url(open_app):
    first = say(open_app(), "I have a sore throat")
    thread = thread_of(first)
    question = bubbles(first)[-1]
    second = open_app(thread=thread)  # a reload, or the same URL in another tab
    assert thread_of(second) == thread
    assert bubbles(second) == bubbles(first)
    assert bubbles(second)[-1] == question
    replies(second)[0].click()
    second.run()
    first.run()  # the first tab sees the answer given in the second
    assert ("user", "yes") in bubbles(first)


def test_new_consultation_and_the_list_of_past_ones(open_app):
    at = say(open_app(), "I have a headache")
    old = thread_of(at)
    at.button(key="new").click()
    at.run()
    assert thread_of(at) != old
    assert len(bubbles(at)) == 1, "a new consultation starts at the greeting"
    past = at.button(key=f"past-{old}")
    assert past.label.startswith("I have a headache")
    past.click()
    at.run()
    assert thread_of(at) == old and ("user", "I have a headache") in bubbles(at)


def test_red_flags_show_the_emergency_banner(open_app):
    at = say(open_app(), "I have crushing chest pain and I can't breathe")
    banner = " ".join(e.value for e in at.error)
    assert "Call 112 now" in banner
    assert not replies(at), "an emergency ends the questions"


def test_the_language_comes_from_the_first_message_and_can_be_overridden(open_app):
    at = say(open_app(), "Tengo dolor de garganta")
    assert [b.label for b in replies(at)] == ["Sí", "No", "No sé"]
    assert "¿Tiene" in bubbles(at)[-1][1]
    assert any("no es un dispositivo médico" in i.value for i in at.info)
    at.selectbox(key=f"lang-{thread_of(at)}").set_value("fr")
    at.run()
    assert "Avez-vous" in bubbles(at)[-1][1], "the pending question is asked again in French"
    assert [b.label for b in replies(at)] == ["Oui", "Non", "Je ne sais pas"]


def test_the_mode_switch_works_once_the_page_speaks_the_patients_language(open_app, engine):
    """The page's words change after the first message; the switch must still set a valid mode."""
    at = say(open_app(), "Tengo dolor de garganta")
    assert [r.label for r in at.sidebar.radio] == ["Modo"]
    at.radio(key=f"mode-{thread_of(at)}-es").set_value("doctor")
    at.run()
    view = engine.consultations.view(thread_of(at))
    assert view.mode == "doctor" and view.language == "es"


def test_a_language_chosen_before_the_first_message_is_used(open_app):
    at = open_app()
    at.selectbox(key=f"lang-{thread_of(at)}").set_value("fr")
    at.run()
    at = say(at, "sore throat")  # English words, French chosen
    assert [b.label for b in replies(at)] == ["Oui", "Non", "Je ne sais pas"]


def test_doctor_mode_shows_gains_and_edits_findings(open_app, engine):
    at = open_app()
    at.radio(key=f"mode-{thread_of(at)}-en").set_value("doctor")
    at.run()
    at = say(at, "+C:sore_throat")
    assert not at.exception
    headers = [s.value for s in at.subheader]
    assert "Next-best questions" in headers and "Findings" in headers
    tables = at.dataframe
    next_q = next(t.value for t in tables if "gain (bits)" in t.value.columns)
    assert len(next_q) >= 1 and (next_q["gain (bits)"] > 0).all()
    findings = next(t.value for t in tables if "said" in t.value.columns)
    assert list(findings["id"]) == ["C:sore_throat"]
    assert "expected gain" in bubbles(at)[-1][1], "doctor questions carry ids and gains"

    at.text_input(key="add-text").set_value("C:fever")
    at.selectbox(key="add-status").set_value("absent")
    at.button(key="FormSubmitter:add-finding-Add").click()
    at.run()
    statuses = {f["id"]: f["status"] for f in engine.consultations.view(thread_of(at)).findings}
    assert statuses == {"C:sore_throat": "present", "C:fever": "absent"}

    at.multiselect(key="remove-ids").set_value(["C:sore_throat"])
    at.button(key="FormSubmitter:remove-findings-Remove").click()
    at.run()
    assert [f["id"] for f in engine.consultations.view(thread_of(at)).findings] == ["C:fever"]
    assert "Phenopacket (GA4GH v2)" in {b.label for b in at.get("download_button")}

    at.text_input(key="add-text").set_value("HP:9999999")
    at.button(key="FormSubmitter:add-finding-Add").click()
    at.run()
    assert any("unknown finding" in w.value for w in at.warning)


def test_switching_to_doctor_mode_mid_consultation(open_app):
    at = say(open_app(), "I have a sore throat")
    assert "expected gain" not in bubbles(at)[-1][1]
    at.radio(key=f"mode-{thread_of(at)}-en").set_value("doctor")
    at.run()
    assert "expected gain" in bubbles(at)[-1][1], "the pending question is asked again with its id and gain"
    assert "Next-best questions" in [s.value for s in at.subheader]


def _wav() -> bytes:
    buf = BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"\0\0" * 1600)
    return buf.getvalue()


def test_voice_and_image_controls_are_hidden_without_their_tools(open_app):
    at = open_app()
    assert not at.audio_input and not at.file_uploader


def test_a_recording_is_transcribed_and_confirmed_before_it_is_sent(open_app):
    at = open_app(media=True)
    assert at.audio_input and at.file_uploader
    at.audio_input[0].set_value(("clip.wav", _wav(), "audio/wav"))
    at.run()
    draft = at.text_area[0]
    assert draft.value == HEARD
    assert len(bubbles(at)) == 1, "nothing enters the consultation before it is confirmed"
    draft.set_value(HEARD + " and a fever")
    at.button(key="draft-send").click()
    at.run()
    assert ("user", HEARD + " and a fever") in bubbles(at)
    assert replies(at)


@needs_espeak
@pytest.mark.slow
def test_a_spoken_complaint_is_transcribed_by_whisper_and_confirmed(open_app, speech_models_dir):
    at = open_app(models_dir=speech_models_dir)
    assert at.audio_input, "the microphone is offered when codx's transcription tool is loaded"
    at.audio_input[0].set_value(("clip.wav", speak("I have a sore throat and a fever.", speed=130), "audio/wav"))
    at.run()
    draft = at.text_area[0].value
    assert "sore throat" in draft.lower() and "fever" in draft.lower(), draft
    assert len(bubbles(at)) == 1, "nothing enters the consultation before it is confirmed"
    at.button(key="draft-send").click()
    at.run()
    assert ("user", draft) in bubbles(at)
    assert replies(at)


def test_an_image_reading_is_confirmed_before_it_is_sent(open_app):
    at = open_app(media=True)
    at.file_uploader[0].set_value(("rash.png", b"\x89PNG fake", "image/png"))
    at.run()
    assert at.text_area[0].value == "runny nose"
    at.button(key="draft-discard").click()
    at.run()
    assert not at.text_area and len(bubbles(at)) == 1
