"""A chat model may phrase the chosen question; a wrong number, a missing finding or an error gives the template."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import FakeListChatModel, GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from codx.agent import texts
from codx.agent.phrasing import phrase_question, phrase_question_checked, question_messages
from codx.agent.session import new_thread_id, pending_question, send

PAYLOAD = {
    "finding": "C:myalgia",
    "label": "Muscle aches",
    "clinical_label": "Myalgia",
    "gain": 0.5712,
    "top": [
        {"id": "X:flu", "label": "Influenza", "probability": 0.623412},
        {"id": "X:strep", "label": "Streptococcal pharyngitis", "probability": 0.201},
    ],
}
TEMPLATE = "Do you have Muscle aches?"


def fake(*replies: str) -> BaseChatModel:
    return FakeListChatModel(responses=list(replies))


class Broken(BaseChatModel):
    @property
    def _llm_type(self) -> str:
        return "broken"

    def _generate(self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any) -> ChatResult:
        raise RuntimeError("server unreachable")


@pytest.mark.parametrize(
    "reply",
    [
        "Have you had any muscle aches over the last few days?",
        "Do your muscles ache? I mean muscle aches, as seen with influenza (62.3%).",
        '"Have you noticed any muscle aches lately?"',  # quotes are dropped
        "Question: Any muscle aches, which would separate influenza (62%) from strep throat?",
    ],
)
def test_a_right_generated_question_is_used(reply: str):
    phrased = phrase_question_checked(fake(reply), PAYLOAD, "en")
    assert phrased.source == "model" and not phrased.problems
    assert phrased.text == reply.removeprefix("Question: ").strip('"')
    assert phrase_question(fake(reply), PAYLOAD, "en") == phrased.text


@pytest.mark.parametrize(
    ("reply", "problem"),
    [
        ("Have you had muscle aches? Influenza is 90% likely.", "90%"),  # a number the model never gave
        ("Do you have muscle aches, as with influenza (20.1%)?", "Influenza"),  # another disease's number
        ("Muscle aches would gain 0.9 bits; do you have them?", "bits"),  # a wrong gain
        ("Do you have a fever?", "does not name the finding"),
        ("Have you noticed myalgia?", "words the reader knows"),  # a clinical word, to a patient
        ("What is the probability of having muscle aches?", "probabilities"),
        ("You have muscle aches.", "asks nothing"),
        ("", "wrote nothing"),
        ("Do you have muscle aches? " + "Please tell me more. " * 20, "characters"),
    ],
)
def test_a_wrong_generated_question_falls_back_to_the_template(reply: str, problem: str):
    phrased = phrase_question_checked(fake(reply), PAYLOAD, "en")
    assert phrased.source == "template" and phrased.text == TEMPLATE
    assert any(problem in p for p in phrased.problems), phrased.problems
    assert phrase_question(fake(reply), PAYLOAD, "en") == TEMPLATE


def test_a_failing_or_missing_model_gives_the_template():
    phrased = phrase_question_checked(Broken(), PAYLOAD, "en")
    assert phrased.source == "template" and phrased.text == TEMPLATE and "unreachable" in phrased.problems[0]
    assert phrase_question(None, PAYLOAD, "en") == TEMPLATE


def test_the_template_is_in_the_consultations_language_and_mode():
    payload = {**PAYLOAD, "label": "dolores musculares"}
    assert phrase_question(fake("¿Ha tenido dolores musculares?"), payload, "es") == "¿Ha tenido dolores musculares?"
    assert phrase_question(fake("¿Tiene fiebre?"), payload, "es") == texts.t("es", "question", label=payload["label"])
    doctor = {**PAYLOAD, "mode": "doctor", "label": "Myalgia"}
    expected = texts.question_text("doctor", "en", "Myalgia", "C:myalgia", 0.5712)
    assert phrase_question(fake("Any fever?"), doctor, "en") == expected
    assert phrase_question(fake("Any myalgia?"), doctor, "en") == "Any myalgia?"  # clinical words to a doctor


def test_generic_fake_chat_model_and_the_prompt():
    model = GenericFakeChatModel(messages=iter([AIMessage(content="Have you felt muscle aches?")]))
    assert phrase_question(model, PAYLOAD, "en") == "Have you felt muscle aches?"
    system, example, reply, human = question_messages(PAYLOAD, "fr", explain=True)
    assert "French" in system.content and "exactly the finding" in system.content
    assert "sore throat" in example.content and reply.content.endswith("?")  # one worked example
    assert "Muscle aches" in human.content and "Avez-vous : Muscle aches ?" in human.content
    assert "Influenza 62.3%" in human.content  # candidates as the agent shows them
    assert "62.3%" not in question_messages(PAYLOAD, "en")[-1].content  # no numbers unless explaining


class Phraser(BaseChatModel):
    """Words the question it is given ("Finding to ask about: X") and counts its calls; `number` adds a
    probability to each text (wrong on purpose when it is not the model's)."""

    calls: int = 0
    number: str = ""

    @property
    def _llm_type(self) -> str:
        return "phraser"

    def _generate(self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any) -> ChatResult:
        self.calls += 1
        label = messages[-1].content.splitlines()[0].removeprefix("Finding to ask about: ")
        text = f"Could you tell me whether you have noticed {label.lower()}?{self.number}"
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])


def _consult(graph_factory, ctx, answers: int) -> tuple[Any, str, list[str]]:
    """Start a consultation, answer `answers` questions yes; the questions as the patient saw them."""
    g, t = graph_factory(), new_thread_id()
    list(send(g, ctx, t, "I have a sore throat"))
    seen = []
    for _ in range(answers):
        q = pending_question(g, t)
        if q is None:
            break
        seen.append(q["question"])
        list(send(g, ctx, t, "yes"))
    return g, t, seen


def test_the_graph_asks_with_the_models_checked_wording_once_per_question(graph_factory, consult_ctx):
    phraser = Phraser()
    ctx = dataclasses.replace(consult_ctx, chat_model=phraser)
    g, t, seen = _consult(graph_factory, ctx, 2)
    state = g.get_state({"configurable": {"thread_id": t}}).values
    assert seen and all(q.startswith("Could you tell me whether you have noticed") for q in seen)
    asked = state["asked"]
    assert [a["question"] for a in asked] == seen  # what was asked is what the history keeps
    # one call per question shown: resuming the interrupted `inquire` does not phrase it again
    shown = len(asked) + (pending_question(g, t) is not None)
    assert phraser.calls == shown
    if pending_question(g, t) is not None:
        assert state["next_questions"][0]["phrased_by"] == "model"


def test_a_wrong_number_or_a_broken_model_gives_the_template_and_the_consultation_goes_on(graph_factory, consult_ctx):
    plain = _consult(graph_factory, consult_ctx, 2)[2]  # no chat model: the templates
    for model in (Phraser(number=" It fits influenza (97.5%)."), Broken()):
        ctx = dataclasses.replace(consult_ctx, chat_model=model)
        g, t, seen = _consult(graph_factory, ctx, 2)
        assert seen == plain
        state = g.get_state({"configurable": {"thread_id": t}}).values
        if pending_question(g, t) is not None:
            assert state["next_questions"][0]["phrased_by"] == "template"
            assert state["next_questions"][0]["rejected"]


@pytest.mark.slow
def test_real_smollm2_phrasing_is_checked_either_way(smollm):
    """SmolLM2-135M-Instruct through the agent's chat-model interface: whatever it writes, what comes back
    names the finding and states no number the diagnosis model did not give."""
    from codx.agent.chat_models import LocalChatModel
    from codx.agent.phrasing import check_question

    chat = LocalChatModel(lm=smollm, max_new_tokens=48)
    phrased = phrase_question_checked(chat, PAYLOAD, "en", explain=True)
    assert phrased.generated is not None  # the model was asked
    assert phrased.source == ("template" if phrased.problems else "model")
    assert not check_question(phrased.text, PAYLOAD, explain=True) or phrased.text == TEMPLATE
