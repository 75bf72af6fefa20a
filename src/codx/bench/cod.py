"""`codx bench cod`: does a language model phrase the Chain of Diagnosis faithfully?

On held-out synthetic dialogues (`codx train synth-cod`: cases no training turn came from), each model is given
the same input a fine-tuned model was trained on (the findings and the diagnosis model's numbers) and writes
the five-step chain, greedily. Measured per model:

- naming rate (turns where the inquiry asks): its phrased question (the question sentence of step 5, else the
  last question it writes) names the finding the inquiry chose (`names_finding`: label, lay label, synonym);
- number pass rate: every probability and gain it writes is one the diagnosis model gave, on the right disease
  (`check_numbers`); with the share of texts that write any number at all, since a text without numbers passes;
- five-step rate: all five numbered steps are there;
- faithfulness beyond numbers: the text names every finding the input gives (present, unsure, and the absent
  ones listed), what it says about the threshold ("below" / "at or above") agrees with the top probability,
  and how often each step equals the reference text's (step 5 without its question, whose wording varies);
- generation tokens per second (end to end: prompt and generation, greedy, this machine's threads).

The reference texts (what the dialogues hold) are scored by the same rules first, as a check of the scorer:
they should score 1.0 everywhere.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from codx.bench.report import machine
from codx.errors import CodxError
from codx.models.language.number_check import check_numbers, names_finding
from codx.models.lm.convert import resolve_lm
from codx.models.lm.generate import LocalLM
from codx.progress import Progress
from codx.training.cod_synth import (
    SHOWN_ABSENT,
    CodDialogue,
    CodTurn,
    find_steps,
    question_sentence,
    render_input,
    turn_truth,
)

REFERENCE = "reference"
MAX_NEW_TOKENS = 384


def pick_bench_turns(
    dialogues: Sequence[CodDialogue], limit: int | None, seed: int = 0
) -> list[tuple[CodDialogue, CodTurn]]:
    """One turn per dialogue (a random asking turn where there is one, else its last), at most `limit`."""
    rng = np.random.default_rng(seed)
    out = []
    for d in dialogues[:limit] if limit else dialogues:
        asking = [t for t in d.turns if t.decision == "ask"]
        out.append((d, asking[int(rng.integers(len(asking)))] if asking else d.turns[-1]))
    return out


def phrased_question(text: str) -> str | None:
    """The question a chain asks: step 5's question sentence, else the last question in the text."""
    step5 = find_steps(text).get(5)
    return (question_sentence(step5) if step5 else None) or question_sentence(text)


_BELOW = re.compile(r"\b(?:below|under|less than|lower than)\s+(?:the\s+)?threshold", re.IGNORECASE)
_ABOVE = re.compile(
    r"\b(?:at or above|above|reach(?:es|ed)?|exceed(?:s|ed)?|over)\s+(?:the\s+)?threshold", re.IGNORECASE
)


def threshold_claim_ok(text: str, dialogue: CodDialogue, turn: CodTurn) -> bool | None:
    """Does what the text says about the threshold ("below the threshold", "at or above the threshold") agree
    with the model's top probability? None when it says neither. Numbers can all be right and this wrong."""
    below, above = _BELOW.search(text), _ABOVE.search(text)
    if not below and not above:
        return None
    says_below = bool(below) and (not above or below.start() < above.start())
    return says_below == (turn.top_probability < dialogue.tau)


def _without_question(step: str | None) -> str | None:
    question = question_sentence(step or "")
    return step.replace(question, "").strip() if step and question else step


def score_text(text: str, dialogue: CodDialogue, turn: CodTurn) -> dict[str, Any]:
    truth, gains = turn_truth(turn, dialogue.tau)
    numbers = check_numbers(text, truth, gains=gains)
    steps = find_steps(text)
    question = phrased_question(text)
    names = None
    if turn.decision == "ask" and turn.question:
        names = bool(question) and names_finding(question or "", turn.question.names)
    given = [f.label for f in turn.findings if f.status != "absent"]
    given += [f.label for f in turn.findings if f.status == "absent"][-SHOWN_ABSENT:]
    reference = find_steps(turn.text)
    same = [steps.get(i) == reference.get(i) for i in range(1, 5)]
    same.append(_without_question(steps.get(5)) == _without_question(reference.get(5)))
    return {
        "five_steps": all(i in steps for i in range(1, 6)),
        "numbers_ok": numbers.ok,
        "numbers_checked": numbers.checked,
        "number_problems": [p.reason for p in numbers.problems],
        "question": question,
        "names_finding": names,
        "findings_named": all(names_finding(text, [label]) for label in given),
        "threshold_claim_ok": threshold_claim_ok(text, dialogue, turn),
        "steps_equal_reference": same,
    }


def _rate(values: list[bool]) -> float | None:
    return round(float(np.mean(values)), 4) if values else None


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    asks = [bool(r["names_finding"]) for r in rows if r["names_finding"] is not None]
    out: dict[str, Any] = {
        "turns": len(rows),
        "ask_turns": len(asks),
        "names_finding_rate": _rate(asks),
        "numbers_ok_rate": _rate([r["numbers_ok"] for r in rows]),
        "numbers_written_rate": _rate([r["numbers_checked"] > 0 for r in rows]),
        "five_steps_rate": _rate([r["five_steps"] for r in rows]),
        "findings_named_rate": _rate([r["findings_named"] for r in rows]),
        "threshold_claims": sum(r["threshold_claim_ok"] is not None for r in rows),
        "threshold_claim_ok_rate": _rate(
            [r["threshold_claim_ok"] for r in rows if r["threshold_claim_ok"] is not None]
        ),
        "step_equals_reference_rate": [_rate([r["steps_equal_reference"][i] for r in rows]) for i in range(5)],
    }
    tokens = sum(r.get("completion_tokens", 0) for r in rows)
    seconds = sum(r.get("seconds", 0.0) for r in rows)
    if seconds > 0:
        out["tokens_per_s"] = round(tokens / seconds, 2)
        out["mean_new_tokens"] = round(tokens / len(rows), 1)
        out["seconds"] = round(seconds, 1)
    return out


def run_cod_bench(
    models_dir: Path,
    dialogues: Sequence[CodDialogue],
    model_specs: Sequence[str],
    limit: int | None = 30,
    max_new_tokens: int = MAX_NEW_TOKENS,
    seed: int = 0,
    progress: Progress | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(summary, cases) over held-out dialogues for every model in `model_specs` (a codx language model name,
    one in `models_dir/lm/`, or a folder), after the reference texts."""
    held = [d for d in dialogues if d.split == "held_out"]
    if not held:
        raise CodxError(
            "no held-out dialogues in the file; write them with `codx train synth-cod` (it holds out a share of "
            "the cases, --held-out)"
        )
    turns = pick_bench_turns(held, limit, seed)
    cases: list[dict[str, Any]] = []
    summary: dict[str, Any] = {"dialogues": len(held), "max_new_tokens": max_new_tokens, **machine(), "models": {}}
    ref_rows = []
    for d, t in turns:
        row = {"model": REFERENCE, "case_id": d.case_id, "turn": t.turn, **score_text(t.text, d, t)}
        ref_rows.append(row)
    summary["models"][REFERENCE] = summarise(ref_rows)
    cases += ref_rows
    total = len(model_specs) * len(turns)
    done = 0
    for spec in model_specs:
        started = time.perf_counter()
        lm = LocalLM.load(resolve_lm(models_dir, spec, progress))
        load_s = time.perf_counter() - started
        rows = []
        for d, t in turns:
            r = lm.chat([{"role": "user", "content": render_input(t, d.tau)}], max_new_tokens=max_new_tokens)
            rows.append(
                {
                    "model": spec,
                    "case_id": d.case_id,
                    "turn": t.turn,
                    "decision": t.decision,
                    "finding": t.question.finding if t.question else None,
                    "finding_label": t.question.lay_label if t.question else None,
                    **score_text(r.text, d, t),
                    "text": r.text,
                    "completion_tokens": r.completion_tokens,
                    "prompt_tokens": r.prompt_tokens,
                    "seconds": r.seconds,
                    "finish_reason": r.finish_reason,
                }
            )
            done += 1
            if progress:
                progress(f"{spec}: {len(rows)}/{len(turns)}", done / max(total, 1))
        summary["models"][spec] = {**summarise(rows), "load_s": round(load_s, 1)}
        cases += rows
        del lm
    return summary, cases


__all__ = ["phrased_question", "pick_bench_turns", "run_cod_bench", "score_text", "summarise"]
