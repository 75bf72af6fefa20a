"""Everything the agent says, as named templates (English now; the understanding issue adds languages)."""

from __future__ import annotations

DISCLAIMER = "codx is not a medical device and does not replace a doctor."

QUESTION = {
    "patient": "Do you have {label}?",
    "doctor": "{label} ({id})? [expected gain {gain:.2f} bits]",
}
GROUP_QUESTION = "{question}"
ANSWER_OPTIONS = ["yes", "no", "not sure"]

NOTHING_UNDERSTOOD = (
    "I could not match that to a symptom I know. Please describe one symptom in a few words "
    "(for example: fever, cough, headache)."
)
TOO_LONG = "Your message was long; I read the first {n} characters."
EMPTY = "Your message was empty. Please describe what you feel."

PATIENT_NEXT_STEP = {
    "diagnose": (
        "These are possibilities, not a diagnosis. Please book an appointment with your doctor and show them "
        "this summary; they can examine you and order the tests that confirm or rule these out."
    ),
    "undetermined": (
        "I could not narrow this down enough. Please see your doctor and show them this summary of your symptoms."
    ),
}


def question_text(mode: str, label: str, finding_id: str, gain: float) -> str:
    return QUESTION["doctor" if mode == "doctor" else "patient"].format(label=label, id=finding_id, gain=gain)
