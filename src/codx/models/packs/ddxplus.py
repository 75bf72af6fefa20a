"""The DDXPlus pack, built from the release's knowledge-base files (never from its patients).

Findings. A binary evidence is one finding (`ddx:E_91`). Each value of a categorical (C) or
multi-choice (M) evidence is its own finding (`ddx:E_55=V_89`, `ddx:E_56=7`) in a FindingGroup
`ddx:E_55` (kind "categorical" / "multi", question = question_en), so the agent asks the question once.
Antecedents (history, risk factors) are findings like any other.

Defaults. In the release, every C/M evidence's default value means "none / not applicable": V_123
"nowhere" (locations), V_11 "NA" (pain character, rash colour), V_10 "N" (travel, lesion size, peeling)
and 0 on the 0-10 scales. A patient has the default when the gating question was answered no (no pain
-> pain intensity 0) or when the answer is "none" (pain radiates nowhere). So the default gets no
finding: "the default" is encoded as every value of the group absent, which is what the agent needs to
rule values out, and the gating binary finding (E_53 pain, E_129 skin lesion, E_151 swelling) carries
the yes/no. The values of such a follow-up question list that gating finding as parent (a pain location
implies pain), so "no pain" implies every pain value absent.

Frequencies. `ddxplus_bed_stats_4_fr.json` gives each condition's prior and, per evidence it lists,
P(value | condition), keyed by French names (conditions by `cond-name-fr`, evidences and values through
`release_evidences_fr.json`). Binary entries are P(present | condition); C entries are a distribution
over the values that includes the default (the default's share, e.g. "no pain", is dropped with its
finding). M entries also sum to 1 over the values although a patient names ~2.7 of them, so they are a
share per value rather than P(value present); they are used as given (the eps mixture of the model
absorbs the underestimate: with full information a naive-Bayes check ranks the same either way).
Without the stats file every evidence a condition lists is annotated with frequency None (unknown)
and priors are 1.0. Severity 1-5 of the release maps to urgency (1 emergency, 2 urgent, 3-4 routine,
5 self care).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from codx.errors import CaseError, InputFileError
from codx.models.packs.counts import Answer
from codx.models.packs.schema import (
    Annotation,
    Disease,
    Finding,
    FindingGroup,
    Pack,
    PackMeta,
    Urgency,
)
from codx.models.packs.userfiles import file_digest, first_error, read_json

NAMESPACE = "ddx"
CONDITIONS_FILE = "release_conditions_en.json"
EVIDENCES_FILE = "release_evidences_en.json"
EVIDENCES_FR_FILE = "release_evidences_fr.json"
STATS_FILE = "ddxplus_bed_stats_4_fr.json"

_URGENCY: dict[int, Urgency] = {1: "emergency", 2: "urgent", 3: "routine", 4: "routine", 5: "self_care"}
_TOKEN_SEP = "_@_"


class _KbEntry(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class _Evidence(_KbEntry):
    name: str
    code_question: str | None = None
    question_en: str = Field(min_length=1)
    question_fr: str = ""
    is_antecedent: bool = False
    data_type: Literal["B", "C", "M"]
    default_value: str | int | float | None = None
    possible_values: list[str | int | float] = Field([], alias="possible-values")
    value_meaning: dict[str, dict[str, str]] = {}

    def values(self) -> list[str]:
        """The values that become findings: all but the default ("none")."""
        default = _value_str(self.default_value)
        return [v for v in map(_value_str, self.possible_values) if v != default]

    def meaning(self, value: str, lang: str) -> str:
        return self.value_meaning.get(value, {}).get(lang) or value


class _Condition(_KbEntry):
    condition_name: str
    cond_name_fr: str | None = Field(None, alias="cond-name-fr")
    cond_name_eng: str | None = Field(None, alias="cond-name-eng")
    icd10_id: str | None = Field(None, alias="icd10-id")
    symptoms: dict[str, Any] = {}
    antecedents: dict[str, Any] = {}
    severity: int | None = None

    @property
    def name(self) -> str:
        return self.cond_name_eng or self.condition_name

    def evidence_codes(self) -> list[str]:
        return list(self.symptoms) + [a for a in self.antecedents if a not in self.symptoms]


class _ConditionStats(_KbEntry):
    prior: float = Field(gt=0)
    findings: dict[str, float | dict[str, float]]


_E = TypeVar("_E", bound=_KbEntry)


def finding_id(code: str, value: str | None = None) -> str:
    return f"{NAMESPACE}:{code}" if value is None else f"{NAMESPACE}:{code}={value}"


def disease_id(english_name: str) -> str:
    """`ddx:` + ASCII slug of the English name ("Guillain-Barré syndrome" -> ddx:guillain_barre_syndrome)."""
    ascii_name = unicodedata.normalize("NFKD", english_name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "_", ascii_name.lower()).strip("_")
    if not slug:
        raise InputFileError(f"condition name {english_name!r} gives an empty id; give it a Latin-script name")
    return f"{NAMESPACE}:{slug}"


def build_ddxplus_pack(kb_dir: Path, stats_file: Path | None = None) -> Pack:
    """Pack from a DDXPlus knowledge-base folder; uses the bed stats file when given or present there."""
    conditions = _load_entries(kb_dir / CONDITIONS_FILE, _Condition)
    evidences = _load_entries(kb_dir / EVIDENCES_FILE, _Evidence)
    if stats_file is None and (kb_dir / STATS_FILE).is_file():
        stats_file = kb_dir / STATS_FILE
    _check_condition_evidences(conditions, evidences)
    findings, groups = _findings_and_groups(evidences)
    d_ids = _disease_ids(conditions)
    files = [kb_dir / CONDITIONS_FILE, kb_dir / EVIDENCES_FILE]
    if stats_file is None:
        priors = {name: 1.0 for name in conditions}
        annotations = list(_listed_annotations(conditions, evidences, d_ids, covered=set()))
    else:
        fr_file = _find_french_evidences(stats_file, kb_dir)
        files += [stats_file, fr_file]
        priors, annotations = _stats_annotations(conditions, evidences, d_ids, stats_file, fr_file)
    diseases = [
        Disease(
            id=d_ids[name],
            name=c.name,
            synonyms=list(dict.fromkeys(s for s in (c.cond_name_fr, c.condition_name) if s and s != c.name)),
            prior=priors[name],
            urgency=_URGENCY.get(c.severity) if c.severity is not None else None,
            icd10=c.icd10_id.strip().upper() if c.icd10_id else None,
        )
        for name, c in conditions.items()
    ]
    meta = PackMeta(
        name="ddxplus",
        version=file_digest(*files),
        description="DDXPlus conditions and evidences"
        + (" with priors and P(value | condition) from the bed stats" if stats_file else ", frequencies unknown"),
        source="DDXPlus knowledge base: " + ", ".join(f.name for f in files),
        license="CC-BY-4.0",
        languages=["en", "fr"],
        frequencies="population" if stats_file else "literature",
    )
    return Pack.from_records(meta, diseases, findings, annotations, groups)


def _load_entries(path: Path, model: type[_E]) -> dict[str, _E]:
    doc = read_json(path)
    if not isinstance(doc, dict) or not doc:
        raise InputFileError(f"{path} should map names to entries; use the file from the DDXPlus release")
    out: dict[str, _E] = {}
    for key, raw in doc.items():
        try:
            out[key] = model.model_validate(raw)
        except ValidationError as exc:
            raise InputFileError(
                f"{path}: entry {key!r} is malformed ({first_error(exc)}); use the file from the DDXPlus release"
            ) from exc
    return out


def _check_condition_evidences(conditions: dict[str, _Condition], evidences: dict[str, _Evidence]) -> None:
    for name, c in conditions.items():
        unknown = [e for e in c.evidence_codes() if e not in evidences]
        if unknown:
            raise InputFileError(
                f"condition {name!r} lists evidences {unknown[:5]} missing from {EVIDENCES_FILE}; "
                "use the conditions and evidences files of the same release"
            )


def _disease_ids(conditions: dict[str, _Condition]) -> dict[str, str]:
    ids: dict[str, str] = {}
    for name, c in conditions.items():
        did = disease_id(c.name)
        if did in ids.values():
            raise InputFileError(f"two conditions get the id {did}; condition names must differ beyond case")
        ids[name] = did
    return ids


def _findings_and_groups(evidences: dict[str, _Evidence]) -> tuple[list[Finding], list[FindingGroup]]:
    findings: list[Finding] = []
    groups: list[FindingGroup] = []
    for code, ev in evidences.items():
        gate = ev.code_question
        parents = [finding_id(gate)] if gate and gate != code and _is_binary(evidences.get(gate)) else []
        if ev.data_type == "B":
            labels = {"en": ev.question_en} | ({"fr": ev.question_fr} if ev.question_fr else {})
            findings.append(
                Finding(
                    id=finding_id(code),
                    label=ev.question_en,
                    labels=labels,
                    question=ev.question_en,
                    parents=parents,
                )
            )
            continue
        group = finding_id(code)
        kind: Literal["categorical", "multi"] = "categorical" if ev.data_type == "C" else "multi"
        groups.append(FindingGroup(id=group, label=ev.question_en, kind=kind, question=ev.question_en))
        for value in ev.values():
            labels = {"en": f"{ev.question_en} — {ev.meaning(value, 'en')}"}
            if ev.question_fr:
                labels["fr"] = f"{ev.question_fr} — {ev.meaning(value, 'fr')}"
            findings.append(
                Finding(
                    id=finding_id(code, value),
                    label=labels["en"],
                    labels=labels,
                    group=group,
                    parents=parents,
                )
            )
    return findings, groups


def _is_binary(ev: _Evidence | None) -> bool:
    return ev is not None and ev.data_type == "B"


def _listed_annotations(
    conditions: dict[str, _Condition],
    evidences: dict[str, _Evidence],
    d_ids: dict[str, str],
    covered: set[tuple[str, str]],
) -> Iterable[Annotation]:
    """Frequency-unknown annotations for every (condition, evidence) the KB lists and `covered` lacks."""
    for name, c in conditions.items():
        for code in c.evidence_codes():
            if (name, code) in covered:
                continue
            ev = evidences[code]
            values: list[str | None] = [None] if ev.data_type == "B" else list(ev.values())
            for value in values:
                yield Annotation(disease=d_ids[name], finding=finding_id(code, value))


def _find_french_evidences(stats_file: Path, kb_dir: Path) -> Path:
    for folder in (stats_file.parent, kb_dir):
        if (folder / EVIDENCES_FR_FILE).is_file():
            return folder / EVIDENCES_FR_FILE
    raise InputFileError(
        f"{stats_file.name} is keyed by French evidence names; put {EVIDENCES_FR_FILE} from the same release "
        f"next to it or in {kb_dir}, or build without the stats file"
    )


def _french_names(fr_file: Path, evidences: dict[str, _Evidence]) -> dict[str, tuple[str, dict[str, str]]]:
    """French evidence name -> (code, French value -> value); joined on the English question."""
    by_question = {(ev.question_en, ev.data_type): code for code, ev in evidences.items()}
    out: dict[str, tuple[str, dict[str, str]]] = {}
    for fr_name, fr in _load_entries(fr_file, _Evidence).items():
        code = by_question.get((fr.question_en, fr.data_type))
        if code is None:
            raise InputFileError(
                f"{fr_file}: evidence {fr_name!r} matches no question of {EVIDENCES_FILE}; use files of one release"
            )
        en = evidences[code]
        en_values = [_value_str(v) for v in en.possible_values]
        en_by_fr_text = {en.meaning(v, "fr"): v for v in en_values}
        values = {}
        for v in map(_value_str, fr.possible_values):
            if fr.value_meaning:  # coded values (V_89 / "nez"): join on the French meaning
                en_value = en_by_fr_text.get(fr.meaning(v, "fr"))
            else:  # numeric scales: the same numbers
                en_value = v if v in en_values else None
            if en_value is None:
                raise InputFileError(f"{fr_file}: value {v!r} of {fr_name!r} has no match in {EVIDENCES_FILE}")
            values[v] = en_value
        out[fr_name] = (code, values)
    return out


def _stats_annotations(
    conditions: dict[str, _Condition],
    evidences: dict[str, _Evidence],
    d_ids: dict[str, str],
    stats_file: Path,
    fr_file: Path,
) -> tuple[dict[str, float], list[Annotation]]:
    stats = _load_entries(stats_file, _ConditionStats)
    fr_names = _french_names(fr_file, evidences)
    by_fr = {c.cond_name_fr: name for name, c in conditions.items() if c.cond_name_fr}
    unknown = sorted(set(stats) - set(by_fr))
    missing = sorted(set(by_fr) - set(stats))
    if unknown or missing or len(by_fr) != len(conditions):
        raise InputFileError(
            f"{stats_file.name} and {CONDITIONS_FILE} name different conditions "
            f"(unknown: {unknown[:3]}, missing: {missing[:3]}); use files of one release or no stats file"
        )
    priors: dict[str, float] = {}
    annotations: list[Annotation] = []
    covered: set[tuple[str, str]] = set()
    for fr_cond, entry in stats.items():
        name = by_fr[fr_cond]
        priors[name] = entry.prior
        for fr_ev, probs in entry.findings.items():
            if fr_ev not in fr_names:
                raise InputFileError(f"{stats_file.name}: evidence {fr_ev!r} is not in {EVIDENCES_FR_FILE}")
            code, values = fr_names[fr_ev]
            covered.add((name, code))
            annotations += _evidence_annotations(d_ids[name], evidences[code], code, probs, values, stats_file)
    annotations += _listed_annotations(conditions, evidences, d_ids, covered)
    return priors, annotations


def _evidence_annotations(
    did: str, ev: _Evidence, code: str, probs: float | dict[str, float], values: dict[str, str], source: Path
) -> list[Annotation]:
    if ev.data_type == "B":
        if isinstance(probs, dict):
            raise InputFileError(f"{source.name}: binary evidence {code} has per-value probabilities")
        return [Annotation(disease=did, finding=finding_id(code), frequency=_probability(probs, source))]
    if not isinstance(probs, dict):
        raise InputFileError(f"{source.name}: evidence {code} needs per-value probabilities")
    keep = set(ev.values())
    out = []
    for fr_value, p in probs.items():
        value = values.get(fr_value)
        if value is None:
            raise InputFileError(f"{source.name}: value {fr_value!r} of {code} is not in {EVIDENCES_FR_FILE}")
        if value in keep:
            out.append(Annotation(disease=did, finding=finding_id(code, value), frequency=_probability(p, source)))
    return out


def _probability(p: float, source: Path) -> float:
    if not -1e-6 <= p <= 1 + 1e-6:
        raise InputFileError(f"{source.name} holds probability {p}, outside [0, 1]; the file is corrupt")
    return min(1.0, max(0.0, p))


def _value_str(value: str | int | float | None) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# ---- cases -------------------------------------------------------------------------------------------


def parse_evidence_token(token: str) -> tuple[str, str | None]:
    """ "E_55_@_V_89" -> ("E_55", "V_89"); "E_91" -> ("E_91", None)."""
    code, sep, value = token.strip().partition(_TOKEN_SEP)
    return code, (value if sep else None)


class DdxplusEvidenceMap:
    """Turns a case's EVIDENCES into a definite answer for every DDXPlus finding of a pack.

    Built once per pack (the finding list is long). A value token whose finding the pack lacks but
    whose group exists is the group's default ("none"): all of the group's values are absent.
    """

    def __init__(self, pack: Pack) -> None:
        self.pack_name = pack.meta.name
        self.finding_ids = [f.id for f in pack.findings if f.id.startswith(f"{NAMESPACE}:")]
        self._known = set(self.finding_ids)
        self._groups = {g.id for g in pack.groups}

    def present(self, evidences: Iterable[str]) -> set[str]:
        found: set[str] = set()
        for token in evidences:
            code, value = parse_evidence_token(str(token))
            fid = finding_id(code, value)
            if fid in self._known:
                found.add(fid)
            elif value is None and finding_id(code) in self._groups:
                raise CaseError(f"evidence {token!r} needs a value ({code}{_TOKEN_SEP}VALUE); fix the case")
            elif value is None or finding_id(code) not in self._groups:
                raise CaseError(
                    f"evidence {token!r} is not in pack {self.pack_name!r}; "
                    "build the pack from the DDXPlus release the cases come from"
                )
        return found

    def answers(self, evidences: Iterable[str]) -> dict[str, Answer]:
        found = self.present(evidences)
        return {fid: ("present" if fid in found else "absent") for fid in self.finding_ids}


def ddxplus_case_findings(evidences: list[str], pack: Pack) -> dict[str, Answer]:
    """Every DDXPlus finding of `pack` as present/absent for one case; raises CaseError on unknown codes."""
    return DdxplusEvidenceMap(pack).answers(evidences)


def ddxplus_disease_names(pack: Pack) -> dict[str, str]:
    """Casefolded English name, French name (synonym) or id -> disease id, for PATHOLOGY and differentials."""
    names: dict[str, str] = {}
    for d in pack.diseases:
        for n in (d.id, d.name, *d.synonyms):
            names.setdefault(n.casefold(), d.id)
    return names
