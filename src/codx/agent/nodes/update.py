"""Findings to beliefs: the exact posterior and the next-best questions from the diagnosis model."""

from __future__ import annotations

from langgraph.runtime import Runtime

from codx.agent.context import ConsultContext
from codx.agent.phrasing import phrase_question_checked
from codx.agent.state import ConsultState, case_evidence
from codx.errors import CodxError
from codx.models.diagnosis.knowledge import Knowledge
from codx.models.diagnosis.scoring import labelled_top
from codx.models.diagnosis.triage import triage

TOP_K = 10


def update(state: ConsultState, runtime: Runtime[ConsultContext]) -> dict:
    ctx = runtime.context
    packs = tuple(state.get("packs") or ctx.default_packs)
    try:
        model = ctx.model_for(packs)
    except CodxError as exc:  # e.g. a doctor switched to a pack that is not built
        return {"notices": [str(exc)], "packs": list(ctx.default_packs)}
    kn = model.knowledge
    patient = state.get("mode", "patient") == "patient"
    language = state.get("language") or "en"
    step = model.step(case_evidence(state), len(state.get("asked", [])), ctx.rule, lay_only=patient)
    top = labelled_top(kn, step.ranking, TOP_K)
    urgency = triage(kn, step.ranking, step.evidence.present, [f["label"] for f in state.get("red_flags", [])])
    questions = []
    for q in step.questions:
        if q.finding >= 0:
            f = kn.findings[q.finding]
            questions.append(
                {
                    "finding": f.id,
                    "label": f.labels.get(language) or f.lay_label or f.label,
                    "clinical_label": f.label,
                    "gain": round(q.gain, 4),
                    "p_yes": round(q.p_yes, 4),
                }
            )
    decision = (
        "emergency" if state.get("red_flags") else ("ask" if step.decision == "ask" and questions else "diagnose")
    )
    if decision == "ask" and ctx.chat_model is not None:
        questions[0] = _phrased(ctx, questions[0], kn, top, state.get("mode", "patient"), language)
    return {
        "top": top,
        "urgency": urgency.model_dump(),
        "next_questions": questions,
        "decision": decision,
        "notices": list(state.get("notices", [])) + step.evidence.messages,
    }


def _phrased(ctx: ConsultContext, question: dict, kn: Knowledge, top: list[dict], mode: str, language: str) -> dict:
    """The question with the chat model's checked wording (`text`), phrased here and not in `inquire` because
    LangGraph re-runs an interrupted node on resume: the wording is generated once and kept in the state."""
    f = kn.findings[kn.finding_index[question["finding"]]]
    payload = {
        **question,
        "label": question["clinical_label"] if mode == "doctor" else question["label"],
        "lay_label": f.lay_label,
        "synonyms": f.synonyms,
        "lay_synonyms": f.lay_synonyms,
        "mode": mode,
        "top": top[:3],
    }
    phrased = phrase_question_checked(ctx.chat_model, payload, language)
    return {**question, "text": phrased.text, "phrased_by": phrased.source, "rejected": phrased.problems}
