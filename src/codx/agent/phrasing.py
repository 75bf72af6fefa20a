"""A configured chat model may phrase the next question; it never decides it, and every number is checked.

Why: templates ("Do you have {label}?") are always correct but stiff; a language model words a question more
naturally and can add a short reason. It may not choose the question (the diagnosis model's expected
information gain does), and it may not state a number the diagnosis model did not give. So
`phrase_question` asks the chat model for the wording of the question the inquiry already chose, then checks
the answer with `codx.models.language.number_check`:

- it names the chosen finding (its label in the consultation's language, clinical label, lay label or a
  synonym: `names_finding`);
- every probability in it is one the diagnosis model gave for the shown candidates, attached to the right
  disease, and every gain in bits is the question's (`check_numbers`);
- it is one short text (at most `MAX_CHARS`) that asks something (ends in or holds a question mark).

When a check fails, the model errors, or no chat model is configured, the template text
(`codx.agent.texts.question_text`) is used: a consultation never waits on, or shows an unchecked sentence of,
a language model. `phrase_question_checked` also says which text was used and why.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel

from codx.agent import texts
from codx.models.language.number_check import check_numbers, names_finding

log = logging.getLogger(__name__)

MAX_CHARS = 300
LANGUAGE_NAMES = {"en": "English", "es": "Spanish", "fr": "French", "zh": "Chinese", "ar": "Arabic", "hi": "Hindi"}
QUESTION_MARKS = ("?", "\uff1f", "\u061f")
EXAMPLE_LABEL, EXAMPLE_REPLY = "sore throat", "Have you had a sore throat?"
#: Words of a text that talks to the patient about probabilities instead of asking (small models do).
ODDS_WORDS = re.compile(
    r"probabilit|likelihood|\bchances?\b|\bodds\b|percent|probabilidad|posibilidad|chance de|概率|可能性|احتمال|संभावना",
    re.IGNORECASE,
)
SYSTEM = (
    "You word the next question of a clinical assistant for the person it talks to. The question is already "
    "chosen: ask about exactly the finding given, and name it. Write in {language}, in plain words, one or two "
    "short sentences ending with a question. Do not diagnose, do not give advice, and write no number except "
    "the probabilities given, exactly as written."
)


class Phrased(BaseModel):
    """The question text shown, where it came from, and why a generated text was not used."""

    text: str
    source: Literal["model", "template"]
    generated: str | None = None
    problems: list[str] = []


def template_question(payload: Mapping[str, Any], language: str | None) -> str:
    mode = str(payload.get("mode") or "patient")
    return texts.question_text(
        mode, language, str(payload["label"]), str(payload["finding"]), float(payload.get("gain") or 0.0)
    )


def _candidates(payload: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [c for c in payload.get("top") or [] if "label" in c and "probability" in c]


def _request(label: str, template: str, shown: str | None = None) -> str:
    lines = [f"Finding to ask about: {label}", f"Template question: {template}"]
    if shown:
        lines.append(f"Most likely now (probability): {shown}")
    return "\n".join([*lines, "Write the question."])


def question_messages(payload: Mapping[str, Any], language: str | None, explain: bool = False) -> list[BaseMessage]:
    """The messages sent to the chat model: the instruction, one worked example (small models copy a shape far
    better than they follow a rule), then the request. With `explain`, the top candidates (as the agent shows
    them, in percent with one decimal) are given so the question may say why it is asked."""
    lang = LANGUAGE_NAMES.get(language or "en", "English")
    shown = None
    if explain and _candidates(payload):
        shown = "; ".join(f"{c['label']} {float(c['probability']):.1%}" for c in _candidates(payload)[:3])
    mode = str(payload.get("mode") or "patient")
    example = [
        HumanMessage(content=_request(EXAMPLE_LABEL, texts.question_text(mode, "en", EXAMPLE_LABEL, "", 0.0))),
        AIMessage(content=EXAMPLE_REPLY),
    ]
    request = HumanMessage(content=_request(str(payload["label"]), template_question(payload, language), shown))
    return [SystemMessage(content=SYSTEM.format(language=lang)), *example, request]


def _text_of(message: Any) -> str:
    content = getattr(message, "content", message)
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            p if isinstance(p, str) else str(p.get("text", "")) for p in content if isinstance(p, str | dict)
        )
    return str(content)


_LEAD = re.compile(r"^\s*(?:question\s*:|assistant\s*:)\s*", re.IGNORECASE)


def clean(text: str) -> str:
    """The generated text without surrounding white space, quotes or a "Question:" label."""
    text = _LEAD.sub("", text.strip())
    if len(text) >= 2 and text[0] in "\"'“«" and text[-1] in "\"'”»":
        text = text[1:-1].strip()
    return text


def finding_names(payload: Mapping[str, Any]) -> list[str]:
    """Every label that names the chosen finding to this reader: a patient only in plain words (the label in
    the consultation's language, lay label, lay synonyms); a doctor also by clinical label and synonyms."""
    keys = ["label", "lay_label"]
    lists = ["lay_synonyms"]
    if payload.get("mode") == "doctor":
        keys.append("clinical_label")
        lists.append("synonyms")
    names = [str(payload[k]) for k in keys if payload.get(k)]
    names += [str(n) for key in lists for n in payload.get(key) or [] if n]
    return list(dict.fromkeys(names))


def check_question(
    text: str, payload: Mapping[str, Any], max_chars: int = MAX_CHARS, explain: bool = False
) -> list[str]:
    """What is wrong with a generated question (empty list: it may be shown)."""
    problems = []
    if not text:
        return ["the model wrote nothing"]
    if len(text) > max_chars:
        problems.append(f"{len(text)} characters, more than {max_chars}")
    if not any(m in text for m in QUESTION_MARKS):
        problems.append("it asks nothing (no question mark)")
    if not names_finding(text, finding_names(payload)):
        problems.append(f"it does not name the finding in words the reader knows ({payload['label']})")
    if not explain and payload.get("mode", "patient") != "doctor" and ODDS_WORDS.search(text):
        problems.append("it talks to the patient about probabilities instead of asking")
    truth = {str(c["label"]): float(c["probability"]) for c in _candidates(payload)}
    gains = [float(payload["gain"])] if payload.get("gain") is not None else []
    numbers = check_numbers(text, truth, gains=gains)
    problems += [p.reason for p in numbers.problems]
    return problems


def phrase_question_checked(
    chat_model: BaseChatModel | None,
    question_payload: Mapping[str, Any],
    language: str | None,
    explain: bool = False,
    max_chars: int = MAX_CHARS,
) -> Phrased:
    """The question to show: the chat model's wording when it passes every check, else the template.

    `question_payload` holds the chosen question as the agent's state does: `finding` (id), `label` (the words
    the patient is asked with), optionally `clinical_label`, `lay_label`, `synonyms`, `gain` (bits), `mode`
    (patient or doctor) and `top` (the posterior's candidates: label and probability)."""
    template = template_question(question_payload, language)
    if chat_model is None:
        return Phrased(text=template, source="template")
    try:
        reply = chat_model.invoke(question_messages(question_payload, language, explain))
    except Exception as exc:  # noqa: BLE001 - any failure of the model falls back to the template
        log.warning("the chat model could not phrase the question (%s: %s); using the template", type(exc), exc)
        return Phrased(text=template, source="template", problems=[f"the model failed: {exc}"])
    generated = clean(_text_of(reply))
    problems = check_question(generated, question_payload, max_chars, explain)
    if problems:
        log.info("generated question rejected (%s); using the template", "; ".join(problems))
        return Phrased(text=template, source="template", generated=generated, problems=problems)
    return Phrased(text=generated, source="model", generated=generated)


def phrase_question(
    chat_model: BaseChatModel | None, question_payload: Mapping[str, Any], language: str | None, explain: bool = False
) -> str:
    """The question text to show (see `phrase_question_checked`)."""
    return phrase_question_checked(chat_model, question_payload, language, explain).text


__all__ = [
    "Phrased",
    "check_question",
    "clean",
    "finding_names",
    "phrase_question",
    "phrase_question_checked",
    "question_messages",
    "template_question",
]
