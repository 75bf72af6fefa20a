"""Simulated patients: sampled from a pack (synthetic training data) and answering an inquiry dialog."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from codx.models.diagnosis.evidence import CaseEvidence, Observation
from codx.models.diagnosis.inquiry import StopRule
from codx.models.diagnosis.model import DiagnosisModel
from codx.models.diagnosis.posterior import Ranking
from codx.models.packs.counts import Answer
from codx.models.packs.schema import AnnotationTable, Pack


class InteractiveCase(BaseModel):
    """`answers` holds the simulated patient's reply per finding id; a finding not in it is "unsure"."""

    model_config = ConfigDict(extra="forbid")

    id: str
    gold: str | None
    age: float | None = None
    sex: Literal["female", "male"] | None = None
    initial: dict[str, Answer]
    answers: dict[str, Answer]
    gold_differential: list[tuple[str, float]] | None = None
    unmapped: list[str] = []  # symptom names of the input that the pack does not know (dropped)


@dataclass
class DialogResult:
    ranking: Ranking
    questions: list[tuple[str, Answer]] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Noise:
    """How real patients differ from the annotations.

    Literature packs (hpo): terms are reported less specifically, some findings are unexplained, and
    "no" answers come both from the disease's own findings the patient lacks and from findings of other
    diseases a clinician checked. Population packs (DDXPlus, goal sets): findings follow the pack's
    frequencies and a share of the disease's findings the patient lacks are answered "no"; the rest stay
    unknown (closing the world instead made DDXPlus overconfident: its multi-choice values carry shares,
    not presence probabilities, so sampled patients name fewer values than real ones).
    """

    generalise: float = 0.25  # a reported term is replaced by its parent
    extra_rate: float = 0.15  # unexplained findings per explained one
    checked: int = 6  # findings of the leading differential a clinician asks about (answered truthfully)
    absent_rate: float = 0.2  # population packs: a finding of the disease the patient lacks is answered "no"
    differential: int = 6  # size of that differential
    reported: float = 8.0  # a report lists about this many of the patient's findings
    initial: int = 1  # findings said before any question


def sample_cases(
    model: DiagnosisModel, n: int, rng: np.random.Generator, noise: Noise = Noise()
) -> list[InteractiveCase]:
    """Patients drawn from the packs: disease by prior, findings by annotated frequency, plus noise."""
    kn = model.knowledge
    by_disease: dict[int, list[tuple[int, float]]] = {}
    p = kn.params
    for pack_offset, pack in _pack_offsets(model):
        t = pack.annotations
        fmap = np.array([kn.finding_index[f.id] for f in pack.findings])
        for di, fi, fr, ng in zip(t.disease, t.finding, t.frequency, t.negated, strict=True):
            if not ng:
                f = p.default_frequency if np.isnan(fr) else float(fr)
                by_disease.setdefault(int(di) + pack_offset, []).append((int(fmap[fi]), f))
    prior = np.exp(kn.log_prior - kn.log_prior.max())
    prior /= prior.sum()
    all_terms = np.concatenate([np.array([f for f, _ in v]) for v in by_disease.values()])
    literature = any(p.meta.frequencies == "literature" for p in model.packs)
    cases: list[InteractiveCase] = []
    while len(cases) < n:
        d = int(rng.choice(kn.n_diseases, p=prior))
        anns = by_disease.get(d, [])
        present: set[int] = set()
        absent: set[int] = set()
        groups_done: set[int] = set()
        for f, fr in anns:
            g = kn.finding_group[f]
            if g >= 0 and kn.groups[g].kind == "categorical":
                if g in groups_done:
                    continue
                groups_done.add(g)
                vals = [(f2, fr2) for f2, fr2 in anns if kn.finding_group[f2] == g]
                w = np.array([v for _, v in vals])
                if w.sum() <= 0 or rng.random() > min(1.0, w.sum()):
                    continue
                present.add(vals[int(rng.choice(len(vals), p=w / w.sum()))][0])
            elif rng.random() < fr:
                term = f
                while literature and kn.parents[term] and rng.random() < noise.generalise:
                    term = int(rng.choice(kn.parents[term]))
                present.add(term)
            elif not literature and rng.random() < noise.absent_rate:
                absent.add(f)
        if not present:
            continue
        if literature:
            k = 1 + rng.poisson(noise.reported - 1)
            if len(present) > k:  # whatever the disease's size, a report names a handful of findings
                present = set(rng.choice(sorted(present), size=k, replace=False).tolist())
        for _ in range(rng.poisson(noise.extra_rate * len(present))):  # findings the disease does not explain
            present.add(int(rng.choice(all_terms)))
        if literature:
            absent = _checked_absent(model, by_disease, present, noise, rng)
        absent -= present
        order = list(present)
        rng.shuffle(order)
        initial = {kn.finding_ids[f]: "present" for f in order[: noise.initial]}
        answers: dict[str, Answer] = {kn.finding_ids[f]: "present" for f in order[noise.initial :]}
        answers.update({kn.finding_ids[f]: "absent" for f in absent})
        cases.append(
            InteractiveCase(gold=kn.disease_ids[d], initial=initial, answers=answers, id=f"synthetic-{len(cases)}")
        )
    return cases


def hide_annotations(pack: Pack, share: float, rng: np.random.Generator) -> Pack:
    """The pack with a random `share` of its positive annotations removed (NOT annotations stay).

    Scoring synthetic patients drawn from the full pack against this thinner one reproduces what
    happens with a new case: part of what the patient shows is missing from the disease's annotations."""
    t = pack.annotations
    keep = t.negated | (rng.random(len(t)) >= share)
    table = AnnotationTable(
        t.disease[keep], t.finding[keep], t.frequency[keep], t.absent_frequency[keep], t.negated[keep]
    )
    return replace(pack, annotations=table)


def _checked_absent(
    model: DiagnosisModel,
    by_disease: dict[int, list[tuple[int, float]]],
    present: set[int],
    noise: Noise,
    rng: np.random.Generator,
) -> set[int]:
    """Findings of the leading differential that the patient does not have, as a clinician would check.

    Chosen from the differential, not from the true disease, so that "absent" carries no hidden hint."""
    kn = model.knowledge
    evidence = CaseEvidence(observations=[Observation(finding=kn.finding_ids[t], status="present") for t in present])
    ranking = model.rank(evidence)
    implied = {int(a) for t in present for a in kn.ancestors[t]}
    pool = sorted({f for d in ranking.order[: noise.differential] for f, _ in by_disease.get(int(d), [])} - implied)
    if not pool:
        return set()
    picked = rng.choice(pool, size=min(noise.checked, len(pool)), replace=False)
    return {int(f) for f in picked}


def _pack_offsets(model: DiagnosisModel):
    offset = 0
    for pack in model.packs:
        yield offset, pack
        offset += len(pack.diseases)


def full_evidence(case: InteractiveCase) -> CaseEvidence:
    obs = [Observation(finding=f, status=s) for f, s in {**case.initial, **case.answers}.items()]
    return CaseEvidence(observations=obs, age_years=case.age, sex=case.sex)


def run_dialog(
    model: DiagnosisModel,
    case: InteractiveCase,
    rule: StopRule,
    answer_all_unknown_as: Answer = "unsure",
    on_question: Callable[[str, Answer], None] | None = None,
) -> DialogResult:
    """Start from what the patient says first; ask until the stop rule says diagnose."""
    kn = model.knowledge
    obs = [Observation(finding=f, status=s) for f, s in case.initial.items()]
    asked: list[tuple[str, Answer]] = []
    messages: list[str] = []
    while True:
        ev = model.normalise(CaseEvidence(observations=obs, age_years=case.age, sex=case.sex))
        step = model.step(ev, len(asked), rule)
        if step.decision == "diagnose" or not step.questions:
            messages += ev.messages
            return DialogResult(step.ranking, asked, messages)
        q = step.questions[0]
        if q.group >= 0:
            members = [kn.finding_ids[j] for j in np.flatnonzero(kn.finding_group == q.group)]
            label = kn.groups[q.group].id
            vals = {m: case.answers.get(m, answer_all_unknown_as) for m in members}
            obs += [Observation(finding=m, status=s) for m, s in vals.items()]
            present = [m for m, s in vals.items() if s == "present"]
            answer: Answer = (
                "present" if present else ("absent" if any(s == "absent" for s in vals.values()) else "unsure")
            )
        else:
            label = kn.finding_ids[q.finding]
            answer = case.answers.get(label, answer_all_unknown_as)
            obs.append(Observation(finding=label, status=answer))
        asked.append((label, answer))
        if on_question:
            on_question(label, answer)
