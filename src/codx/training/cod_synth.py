"""Chain-of-Diagnosis training dialogues synthesised from the diagnosis model's own consultations.

Why: DiagnosisGPT (Chen et al. 2024, "CoD, Towards an Interpretable Medical Agent using Chain of Diagnosis")
teaches a language model to write a five-step chain (symptom abstraction, candidate diseases, diagnostic
reasoning, confidence assessment, decision) from synthetic cases. In codx the numbers of that chain are not the
language model's to invent: every probability and every information gain here is what `DiagnosisModel` computes
for the findings so far, exactly as the agent's `update` node computes them (patient mode: lay-askable
findings, the first single-finding question, probabilities shown with one decimal as the agent's report
shows them). The language model trained on these texts (`codx train synth-cod --finetune`) learns to phrase a
structured block of the model's numbers as a chain and a plain-words question, nothing more.

How a dialogue is made: a patient is sampled from the packs (`codx.training.simulate.sample_cases`: disease by
prior, findings by annotated frequency, plus noise), says its first finding, and the real consultation loop
runs: posterior, next-best question by expected information gain, the patient's answer from its sampled
findings, until the decision rule (tau, question budget, minimum gain) says diagnose. Every turn is kept with
its structured truth (findings, candidates and probabilities, reasoning, chosen finding and gain, decision)
and its rendered text. A finding the patient was not sampled with is answered "no" (`unknown_answer`): the
sampled findings are the whole patient, as a person asked about a symptom they lack says no.

Examples (`to_examples`): input = an instruction and a compact block of the findings and the model's numbers;
output = the five-step text. `split_by_case` holds out whole cases, so no held-out turn shares a patient with
a training turn.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from codx.errors import InputFileError
from codx.models.diagnosis.evidence import CaseEvidence, Observation
from codx.models.diagnosis.inquiry import StopRule
from codx.models.diagnosis.knowledge import Knowledge
from codx.models.diagnosis.model import DiagnosisModel, StepResult
from codx.models.diagnosis.posterior import finding_contributions
from codx.models.diagnosis.scoring import labelled_top
from codx.models.packs.counts import Answer
from codx.progress import Progress
from codx.training.lm_data import LMExample
from codx.training.simulate import InteractiveCase, Noise, sample_cases

SOURCE = "cod-synth"
TOP_K = 3  # candidates with their confidence in steps 2 and 4 (as the agent's report shows a patient)
REASONED = 2  # candidates whose reasoning step 3 spells out (the two the next question separates)
SHOWN_FINDINGS = 2  # findings named for and against each reasoned candidate (the strongest)
SHOWN_ABSENT = 4  # absent findings named (the latest answers); the rest are counted
THRESHOLD_NAME = "threshold"  # the name the stop threshold is written under (and checked by)
STEP_TITLES = ("Symptom abstraction", "Candidate diseases", "Diagnostic reasoning", "Confidence assessment", "Decision")
INSTRUCTION = (
    "Write the Chain of Diagnosis in five numbered steps: 1. Symptom abstraction, 2. Candidate diseases, "
    "3. Diagnostic reasoning, 4. Confidence assessment, 5. Decision. Use only these numbers. If the decision is "
    "ask, end with the question in plain words."
)
QUESTION_TEMPLATES = ("Do you have {x}?", "Have you noticed {x}?", "Could you tell me if you have {x}?")

DecisionReason = Literal["asking", "confident", "budget", "no_question"]
REASON_WORDS: dict[str, str] = {
    "asking": "the highest probability is below the threshold",
    "confident": "the highest probability reached the threshold",
    "budget": "the question budget is used up",
    "no_question": "no remaining question would help",
}


class CodFinding(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    label: str  # the words the patient is asked with (English lay label, else the clinical label)
    status: Answer


class CodCandidate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    label: str
    probability: float  # as the agent's state holds it (`labelled_top`, 6 decimals)
    shown: str  # as the agent's report writes it (one decimal, "62.3%")


class CodReason(BaseModel):
    model_config = ConfigDict(extra="forbid")

    disease: str
    label: str
    supports: list[str] = []  # findings with a positive log likelihood ratio, strongest first
    opposes: list[str] = []  # negative, strongest first


class CodQuestion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    finding: str
    label: str  # clinical label
    lay_label: str  # what the patient is asked about
    names: list[str]  # every label that names the finding (for `names_finding`)
    gain: float  # bits, rounded as the agent's state holds it
    p_yes: float
    question: str  # step 5's plain-words question


class CodTurn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    turn: int
    findings: list[CodFinding]
    candidates: list[CodCandidate]
    reasoning: list[CodReason]
    top_probability: float
    decision: Literal["ask", "diagnose"]
    reason: DecisionReason
    question: CodQuestion | None = None
    answer: Answer | None = None  # the simulated patient's answer to `question`
    text: str = ""


class CodDialogue(BaseModel):
    """One simulated consultation: the structured truth of every turn and its five-step text."""

    model_config = ConfigDict(extra="forbid")

    case_id: str
    gold: str | None
    gold_label: str | None = None
    packs: list[str]
    tau: float
    max_questions: int
    min_gain: float
    split: Literal["train", "held_out"] | None = None
    turns: list[CodTurn] = Field(default_factory=list)


# ---------------------------------------------------------------------------------------------- one turn


def patient_label(kn: Knowledge, j: int) -> str:
    """The English words a patient is asked with (as the agent's `update` node picks them)."""
    f = kn.findings[j]
    return f.labels.get("en") or f.lay_label or f.label


def _contribution_label(kn: Knowledge, key: int) -> str:
    """A key of `finding_contributions` in words (negative keys are absent findings)."""
    label = _lower_first(patient_label(kn, key if key >= 0 else -key - 1))
    return label if key >= 0 else f"{label} (absent)"


def _lower_first(text: str) -> str:
    return text if text[:2].isupper() else text[:1].lower() + text[1:]


def _reason(step: StepResult, asked: int, rule: StopRule, ask: bool) -> DecisionReason:
    if ask:
        return "asking"
    top = float(step.ranking.probabilities[step.ranking.order[0]])
    if top >= rule.tau:
        return "confident"
    return "budget" if asked >= rule.max_questions else "no_question"


def build_turn(
    model: DiagnosisModel,
    statuses: dict[str, Answer],
    asked: int,
    rule: StopRule,
    case: InteractiveCase | None = None,
    template: str = QUESTION_TEMPLATES[0],
    top_k: int = TOP_K,
) -> CodTurn:
    """The agent's turn for these findings (in order of mention): posterior, the question it would ask, the
    decision, and the five-step text."""
    kn = model.knowledge
    evidence = CaseEvidence(
        observations=[Observation(finding=f, status=s) for f, s in statuses.items()],
        age_years=case.age if case else None,
        sex=case.sex if case else None,
    )
    step = model.step(evidence, asked, rule, lay_only=True)
    singles = [q for q in step.questions if q.finding >= 0]  # the agent asks single findings only
    ask = step.decision == "ask" and bool(singles)
    candidates = [
        CodCandidate(id=c["id"], label=c["label"], probability=c["probability"], shown=f"{c['probability']:.1%}")
        for c in labelled_top(kn, step.ranking, top_k)
    ]
    reasoned = [int(i) for i in step.ranking.order[: min(REASONED, top_k)]]
    reasoning = []
    for i, contrib in zip(reasoned, finding_contributions(kn, step.evidence, reasoned), strict=True):
        up = sorted(((v, k) for k, v in contrib.items() if v > 0), reverse=True)[:SHOWN_FINDINGS]
        down = sorted((v, k) for k, v in contrib.items() if v < 0)[:SHOWN_FINDINGS]
        reasoning.append(
            CodReason(
                disease=kn.disease_ids[i],
                label=kn.diseases[i].name,
                supports=[_contribution_label(kn, k) for _, k in up],
                opposes=[_contribution_label(kn, k) for _, k in down],
            )
        )
    question = None
    if ask:
        q = singles[0]
        f = kn.findings[q.finding]
        lay = patient_label(kn, q.finding)
        names = list(dict.fromkeys([lay, f.label, *(f.lay_synonyms or []), *(f.synonyms or [])]))
        question = CodQuestion(
            finding=f.id,
            label=f.label,
            lay_label=lay,
            names=names,
            gain=round(q.gain, 4),
            p_yes=round(q.p_yes, 4),
            question=template.format(x=_lower_first(lay)),
        )
    findings = [CodFinding(id=fid, label=patient_label(kn, kn.resolve(fid)), status=s) for fid, s in statuses.items()]
    turn = CodTurn(
        turn=asked,
        findings=findings,
        candidates=candidates,
        reasoning=reasoning,
        top_probability=candidates[0].probability if candidates else 0.0,
        decision="ask" if ask else "diagnose",
        reason=_reason(step, asked, rule, ask),
        question=question,
    )
    turn.text = render_cod(turn, rule.tau)
    return turn


# ---------------------------------------------------------------------------------------------- texts


def _pct(p: float, decimals: int = 1) -> str:
    return f"{p:.{decimals}%}"


def _tau(tau: float) -> str:
    return _pct(tau, 0) if abs(tau * 100 - round(tau * 100)) < 1e-9 else _pct(tau, 1)


def _listing(items: Sequence[str], last: str = "and") -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {last} " + items[-1]


def _by_status(turn: CodTurn, status: str) -> list[str]:
    return [_lower_first(f.label) for f in turn.findings if f.status == status]


def _shown_absent(absent: list[str]) -> list[str]:
    """The latest `SHOWN_ABSENT` absent findings, and how many more there are (in words the input also gives)."""
    more = len(absent) - SHOWN_ABSENT
    return absent[-SHOWN_ABSENT:] + ([f"{more} other findings asked about"] if more > 0 else [])


def render_cod(turn: CodTurn, tau: float) -> str:
    """The five-step Chain of Diagnosis text of a turn, every number the model's."""
    present, absent, unsure = (_by_status(turn, s) for s in ("present", "absent", "unsure"))
    s1 = "The patient reports " + (_listing(present) or "no specific symptom yet")
    if absent:
        s1 += "; does not have " + _listing(_shown_absent(absent), "or")
    if unsure:
        s1 += "; is not sure about " + _listing(unsure)
    s2 = "; ".join(c.label for c in turn.candidates) or "none yet"
    s3 = []
    for r in turn.reasoning:
        part = f"{r.label}: " + (f"supported by {_listing(r.supports)}" if r.supports else "no finding supports it")
        part += f"; against it: {_listing(r.opposes)}" if r.opposes else "; nothing speaks against it"
        s3.append(part + ".")
    s4 = "; ".join(f"{c.label} {c.shown}" for c in turn.candidates)
    top = turn.candidates[0] if turn.candidates else None
    head = f"The highest confidence is {top.shown} for {top.label}" if top else "There is no candidate yet"
    if turn.decision == "ask" and turn.question:
        q = turn.question
        s5 = (
            f"{head}, below the {THRESHOLD_NAME} of {_tau(tau)}, so I ask about the finding with the highest expected "
            f"information gain, {_lower_first(q.lay_label)} ({q.gain:.2f} bits). {q.question}"
        )
    elif turn.reason == "confident" and top:
        s5 = (
            f"{head}, at or above the {THRESHOLD_NAME} of {_tau(tau)}. {top.label} is the most likely condition. "
            "This is not a diagnosis: a doctor should examine the patient and confirm or rule it out."
        )
    else:
        why = REASON_WORDS[turn.reason]
        s5 = (
            f"{head}, below the {THRESHOLD_NAME} of {_tau(tau)}, but {why}, so I stop asking. The most likely "
            "conditions are listed above; a doctor should examine the patient."
        )
    steps = [s1 + ".", s2 + ".", " ".join(s3) or "No candidate to reason about.", s4 + ".", s5]
    return "\n".join(f"{i}. {title}: {text}" for i, (title, text) in enumerate(zip(STEP_TITLES, steps, strict=True), 1))


def render_input(turn: CodTurn, tau: float) -> str:
    """The language model's input: the instruction and a compact block of the findings and the model's numbers."""
    present, absent, unsure = (_by_status(turn, s) for s in ("present", "absent", "unsure"))
    lines = [
        INSTRUCTION,
        "",
        "Findings present: " + ("; ".join(present) or "-"),
        "Findings absent: " + ("; ".join(_shown_absent(absent)) or "-"),
        "Findings unsure: " + ("; ".join(unsure) or "-"),
        "Candidates (probability): " + "; ".join(f"{c.label} {c.shown}" for c in turn.candidates),
        "Reasoning: "
        + " | ".join(
            f"{r.label}: for {', '.join(r.supports) or '-'}; against {', '.join(r.opposes) or '-'}"
            for r in turn.reasoning
        ),
        f"Threshold: {_tau(tau)}",
        f"Decision: {turn.decision} ({REASON_WORDS[turn.reason]})",
    ]
    if turn.question:
        q = turn.question
        lines.append(f"Next question: {_lower_first(q.lay_label)} (finding {q.finding}), gain {q.gain:.2f} bits")
    else:
        lines.append("Next question: none")
    return "\n".join(lines)


def turn_truth(turn: CodTurn, tau: float) -> tuple[dict[str, float], list[float]]:
    """What `check_numbers` checks a generated text of this turn against: every candidate's probability and the
    threshold by name, and the chosen question's gain."""
    truth = {c.label: c.probability for c in turn.candidates}
    truth.setdefault(THRESHOLD_NAME, tau)
    return truth, [turn.question.gain] if turn.question else []


_STEP = re.compile(r"(?im)^\s*(?:step\s*)?([1-5])\s*[.):]\s*")


def find_steps(text: str) -> dict[int, str]:
    """The numbered steps of a chain ("1. ...", "Step 2: ..."), by number: the first occurrence of each."""
    marks = [(int(m.group(1)), m.start(), m.end()) for m in _STEP.finditer(text)]
    out: dict[int, str] = {}
    for k, (n, _, end) in enumerate(marks):
        stop = marks[k + 1][1] if k + 1 < len(marks) else len(text)
        out.setdefault(n, text[end:stop].strip())
    return out


def question_sentence(text: str) -> str | None:
    """The last sentence ending in a question mark (step 5's question), if any."""
    found = re.findall(r"[^.!?\n]*\?", text)
    return found[-1].strip() if found else None


# ---------------------------------------------------------------------------------------------- dialogues


def consult(
    model: DiagnosisModel,
    case: InteractiveCase,
    rule: StopRule,
    rng: np.random.Generator,
    unknown_answer: Answer = "absent",
    top_k: int = TOP_K,
) -> list[CodTurn]:
    """The consultation loop of the agent on a simulated patient, one `CodTurn` per turn."""
    statuses: dict[str, Answer] = dict(case.initial)
    turns: list[CodTurn] = []
    while True:
        template = QUESTION_TEMPLATES[int(rng.integers(len(QUESTION_TEMPLATES)))]
        turn = build_turn(model, statuses, len(turns), rule, case, template, top_k)
        turns.append(turn)
        if turn.decision != "ask" or turn.question is None:
            return turns
        answer = case.answers.get(turn.question.finding, unknown_answer)
        turn.answer = answer
        statuses[turn.question.finding] = answer


def synthesize_cod(
    model: DiagnosisModel,
    n: int,
    seed: int = 0,
    progress: Progress | None = None,
    rule: StopRule | None = None,
    noise: Noise | None = None,
    unknown_answer: Answer = "absent",
    top_k: int = TOP_K,
) -> list[CodDialogue]:
    """`n` simulated consultations on the model's packs (see the module docstring); deterministic for `seed`."""
    rule = rule or StopRule()
    rng = np.random.default_rng(seed)
    cases = sample_cases(model, n, rng, noise or Noise())
    kn = model.knowledge
    packs = [p.meta.name for p in model.packs]
    out = []
    for i, case in enumerate(cases):
        g = kn.disease_index.get(case.gold or "")
        out.append(
            CodDialogue(
                case_id=f"cod-{seed}-{i}",
                gold=case.gold,
                gold_label=kn.diseases[g].name if g is not None else None,
                packs=packs,
                tau=rule.tau,
                max_questions=rule.max_questions,
                min_gain=rule.min_gain,
                turns=consult(model, case, rule, rng, unknown_answer, top_k),
            )
        )
        if progress:
            progress(f"dialogue {i + 1}/{n}", (i + 1) / max(n, 1))
    return out


def split_by_case(
    dialogues: Sequence[CodDialogue], held_out: float = 0.1, seed: int = 0
) -> tuple[list[CodDialogue], list[CodDialogue]]:
    """(train, held out): whole cases go to one side (every dialogue of a case id together), marked in `split`."""
    if not 0.0 <= held_out < 1.0:
        raise ValueError(f"held_out must be in [0, 1); got {held_out}")
    ids = sorted({d.case_id for d in dialogues})
    k = int(round(held_out * len(ids)))
    if held_out > 0 and len(ids) > 1:
        k = min(max(k, 1), len(ids) - 1)
    chosen = set(np.random.default_rng(seed).permutation(ids)[:k].tolist()) if k else set()
    train, held = [], []
    for d in dialogues:
        side = "held_out" if d.case_id in chosen else "train"
        marked = d.model_copy(update={"split": side})
        (held if side == "held_out" else train).append(marked)
    return train, held


def pick_turns(turns: Sequence[CodTurn], k: int | None) -> list[CodTurn]:
    """At most `k` turns of a dialogue: the first, the last (its decision) and evenly spaced ones between. A
    budget-long dialogue has 21 turns that differ by one answer each; a few of them teach the same phrasing."""
    if k is None or len(turns) <= k:
        return list(turns)
    if k <= 1:
        return [turns[-1]]
    idx = sorted({int(round(i * (len(turns) - 1) / (k - 1))) for i in range(k)})
    return [turns[i] for i in idx]


def to_examples(
    dialogues: Iterable[CodDialogue], source: str = SOURCE, turns_per_dialogue: int | None = None
) -> list[LMExample]:
    """One instruction example per turn (at most `turns_per_dialogue` of each dialogue, `pick_turns`): the
    findings and the model's numbers in, the five-step chain out."""
    return [
        LMExample(source=source, kind="instruction", input=render_input(t, d.tau), output=t.text, priority=1.0)
        for d in dialogues
        for t in pick_turns(d.turns, turns_per_dialogue)
    ]


# ---------------------------------------------------------------------------------------------- files


def write_dialogues(path: Path, dialogues: Iterable[CodDialogue]) -> Path:
    """JSONL, one dialogue a line, written to a temporary file and moved into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for d in dialogues:
            fh.write(d.model_dump_json() + "\n")
    tmp.replace(path)
    return path


def read_dialogues(path: Path) -> list[CodDialogue]:
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"{path}: no such file; write one with `codx train synth-cod --out {path}`")
    out = []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                out.append(CodDialogue.model_validate(json.loads(line)))
            except ValueError as exc:  # json and validation errors
                raise InputFileError(
                    f"{path}:{n}: not a Chain-of-Diagnosis dialogue ({str(exc).splitlines()[0]}); "
                    "write the file again with `codx train synth-cod`"
                ) from exc
    if not out:
        raise InputFileError(f"{path} holds no dialogues; write it with `codx train synth-cod`")
    return out


__all__ = [
    "CodCandidate",
    "CodDialogue",
    "CodFinding",
    "CodQuestion",
    "CodReason",
    "CodTurn",
    "STEP_TITLES",
    "build_turn",
    "consult",
    "find_steps",
    "pick_turns",
    "question_sentence",
    "read_dialogues",
    "render_cod",
    "render_input",
    "split_by_case",
    "synthesize_cod",
    "to_examples",
    "turn_truth",
    "write_dialogues",
]
