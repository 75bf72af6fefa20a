"""Ask the one question that most reduces uncertainty, and wait (a LangGraph interrupt) for the answer."""

from __future__ import annotations

from langchain_core.messages import AIMessage, HumanMessage
from langgraph.runtime import Runtime
from langgraph.types import interrupt

from codx.agent import texts
from codx.agent.context import ConsultContext
from codx.agent.messages import AUDIO_KEY, text_of
from codx.agent.state import AskedQuestion, ConsultState

MAX_ANSWER_CHARS = 5000


def inquire(state: ConsultState, runtime: Runtime[ConsultContext]) -> dict:
    mode = state.get("mode", "patient")
    q = state["next_questions"][0]
    label = q["clinical_label"] if mode == "doctor" else q["label"]
    language = state.get("language") or "en"
    question = q.get("text") or texts.question_text(mode, language, label, q["finding"], q["gain"])
    payload = {
        "type": "question",
        "question": question,
        "finding": q["finding"],
        "label": label,
        "options": texts.t("en" if mode == "doctor" else language, "options"),
        "top": state.get("top", [])[:5],
    }
    if mode == "doctor":
        payload["next_questions"] = state.get("next_questions", [])[:5]
    reply = interrupt(payload)
    message = answer_message(reply)
    answer = text_of(message) or f"[recording {message.additional_kwargs.get(AUDIO_KEY, '')}]"
    asked = AskedQuestion(
        finding=q["finding"], label=label, question=question, answer=answer, turn=state.get("turn", 0)
    )
    return {
        "messages": [AIMessage(content=question), message],
        "pending": {"finding": q["finding"], "label": label},
        "asked": [asked],
    }


def answer_message(reply: object) -> HumanMessage:
    """The resume value as the patient's message: text, or `{"audio": path}` for a spoken answer."""
    if isinstance(reply, dict) and isinstance(reply.get(AUDIO_KEY), str):
        return HumanMessage(content="", additional_kwargs={AUDIO_KEY: reply[AUDIO_KEY]})
    text = reply if isinstance(reply, str) else ("" if reply is None else str(reply))
    return HumanMessage(content=text[:MAX_ANSWER_CHARS])
