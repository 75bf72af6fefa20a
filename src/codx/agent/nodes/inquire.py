"""Ask the one question that most reduces uncertainty, and wait (a LangGraph interrupt) for the answer."""

from __future__ import annotations

from langchain_core.messages import AIMessage, HumanMessage
from langgraph.runtime import Runtime
from langgraph.types import interrupt

from codx.agent import texts
from codx.agent.context import ConsultContext
from codx.agent.state import AskedQuestion, ConsultState

MAX_ANSWER_CHARS = 5000


def inquire(state: ConsultState, runtime: Runtime[ConsultContext]) -> dict:
    mode = state.get("mode", "patient")
    q = state["next_questions"][0]
    label = q["clinical_label"] if mode == "doctor" else q["label"]
    language = state.get("language") or "en"
    question = texts.question_text(mode, language, label, q["finding"], q["gain"])
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
    answer = interrupt(payload)
    answer = answer if isinstance(answer, str) else ("" if answer is None else str(answer))
    answer = answer[:MAX_ANSWER_CHARS]
    asked = AskedQuestion(
        finding=q["finding"], label=label, question=question, answer=answer, turn=state.get("turn", 0)
    )
    return {
        "messages": [AIMessage(content=question), HumanMessage(content=answer)],
        "pending": {"finding": q["finding"], "label": label},
        "asked": [asked],
    }
