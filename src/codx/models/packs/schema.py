"""The typed, validated in-memory form of a knowledge pack.

Diseases, findings and groups are pydantic models (they cross boundaries: CLI, agent, UI). Annotations
are columnar numpy arrays, because the hpo pack has a quarter of a million of them and a warm load must
stay under a second; `Pack.annotation(i)` gives a typed `Annotation` when one is needed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from codx.errors import PackError, UnknownFindingError

Urgency = Literal["emergency", "urgent", "routine", "self_care"]
Sex = Literal["female", "male"]
GroupKind = Literal["categorical", "multi"]

_ID_PATTERN = r"^[A-Za-z][A-Za-z0-9_.\-]*:[^\s]+$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PackMeta(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_\-]*$")
    version: str
    description: str = ""
    source: str = Field("", description="Where the knowledge came from (files, release, citation).")
    license: str = ""
    languages: list[str] = ["en"]
    frequencies: Literal["literature", "population"] = Field(
        "literature",
        description="literature: curated from publications, incomplete and reported selectively (hpo); "
        "population: estimated on the population the cases come from, every finding answered (data sets).",
    )
    builder: str = Field(
        "",
        description="What built a built-in pack (codx's builder revision, data hash); a cached "
        "pack built otherwise is rebuilt.",
    )


class AgeBand(_Strict):
    """Multiplies the prior for patients whose age in years is in [min_years, max_years)."""

    min_years: float = Field(ge=0)
    max_years: float = Field(gt=0)
    factor: float = Field(ge=0)


class Modifiers(_Strict):
    sex: dict[Sex, float] = {}
    age: list[AgeBand] = []


class Disease(_Strict):
    id: str = Field(pattern=_ID_PATTERN)
    name: str = Field(min_length=1)
    synonyms: list[str] = []
    prior: float = Field(1.0, gt=0, description="Relative prevalence weight within the pack.")
    modifiers: Modifiers | None = None
    urgency: Urgency | None = None
    red_flags: list[str] = []
    onset: list[str] = []
    references: list[str] = Field([], description="Sources of the annotations (PMIDs, database ids).")
    genes: list[str] = Field([], description="Causal genes (symbols), where known.")
    icd10: str | None = None


class Finding(_Strict):
    id: str = Field(pattern=_ID_PATTERN)
    label: str = Field(min_length=1)
    lay_label: str | None = Field(None, description="Plain words; patients are asked only findings that have one.")
    synonyms: list[str] = []
    lay_synonyms: list[str] = []
    labels: dict[str, str] = Field({}, description="Label per language code.")
    definition: str | None = Field(
        None, description="The ontology's definition: patients often describe a finding rather than name it."
    )
    parents: list[str] = Field([], description="is-a parents (ids in this pack).")
    askable: bool = True
    group: str | None = Field(None, description="Id of the FindingGroup this value belongs to.")
    question: str | None = None
    base_rate: float | None = Field(
        None,
        ge=0,
        le=1,
        description="Share of people who have it whatever brings them (a risk factor or chronic condition: "
        "smoking, hypertension); diseases that do not list it still explain it at this rate.",
    )


class FindingGroup(_Strict):
    """Findings that are values of one question (e.g. pain location): asked once, answered together."""

    id: str = Field(pattern=_ID_PATTERN)
    label: str
    kind: GroupKind
    question: str | None = None


class Annotation(_Strict):
    disease: str
    finding: str
    frequency: float | None = Field(None, ge=0, le=1, description="P(finding present | disease); None = unknown.")
    absent_frequency: float | None = Field(None, ge=0, le=1, description="P(patient says absent | disease).")
    negated: bool = Field(False, description="The disease is known NOT to show this finding.")

    @field_validator("frequency", "absent_frequency")
    @classmethod
    def _finite(cls, v: float | None) -> float | None:
        if v is not None and not math.isfinite(v):
            raise ValueError("frequency must be a finite number in [0, 1]")
        return v


@dataclass(frozen=True)
class AnnotationTable:
    """Columnar annotations: row i links disease[i] to finding[i]. NaN frequency = unknown."""

    disease: np.ndarray  # int32 index into Pack.diseases
    finding: np.ndarray  # int32 index into Pack.findings
    frequency: np.ndarray  # float32, NaN when unknown
    absent_frequency: np.ndarray  # float32, NaN when not given
    negated: np.ndarray  # bool

    def __post_init__(self) -> None:
        n = len(self.disease)
        for name in ("finding", "frequency", "absent_frequency", "negated"):
            if len(getattr(self, name)) != n:
                raise PackError(f"annotation column {name!r} has {len(getattr(self, name))} rows, expected {n}")

    def __len__(self) -> int:
        return len(self.disease)

    @classmethod
    def empty(cls) -> AnnotationTable:
        return cls.from_columns([], [], [], [], [])

    @classmethod
    def from_columns(
        cls,
        disease: Sequence[int],
        finding: Sequence[int],
        frequency: Sequence[float],
        absent_frequency: Sequence[float],
        negated: Sequence[bool],
    ) -> AnnotationTable:
        return cls(
            np.asarray(disease, dtype=np.int32),
            np.asarray(finding, dtype=np.int32),
            np.asarray(frequency, dtype=np.float32),
            np.asarray(absent_frequency, dtype=np.float32),
            np.asarray(negated, dtype=bool),
        )


@dataclass
class Pack:
    meta: PackMeta
    diseases: list[Disease]
    findings: list[Finding]
    annotations: AnnotationTable
    groups: list[FindingGroup] = field(default_factory=list)
    aliases: dict[str, str] = field(default_factory=dict)  # obsolete / alternative id -> current id

    @classmethod
    def from_records(
        cls,
        meta: PackMeta,
        diseases: list[Disease],
        findings: list[Finding],
        annotations: Iterable[Annotation],
        groups: list[FindingGroup] | None = None,
        aliases: dict[str, str] | None = None,
    ) -> Pack:
        """Build from typed records (importers use this); unknown ids raise PackError naming them."""
        d_index = {d.id: i for i, d in enumerate(diseases)}
        f_index = {f.id: i for i, f in enumerate(findings)}
        cols: tuple[list, list, list, list, list] = ([], [], [], [], [])
        for a in annotations:
            if a.disease not in d_index:
                raise PackError(f"annotation names unknown disease {a.disease!r}; add it to the diseases first")
            if a.finding not in f_index:
                raise PackError(f"annotation names unknown finding {a.finding!r}; add it to the findings first")
            cols[0].append(d_index[a.disease])
            cols[1].append(f_index[a.finding])
            cols[2].append(math.nan if a.frequency is None else a.frequency)
            cols[3].append(math.nan if a.absent_frequency is None else a.absent_frequency)
            cols[4].append(a.negated)
        return cls(meta, diseases, findings, AnnotationTable.from_columns(*cols), groups or [], aliases or {})

    @cached_property
    def disease_index(self) -> dict[str, int]:
        return {d.id: i for i, d in enumerate(self.diseases)}

    @cached_property
    def finding_index(self) -> dict[str, int]:
        return {f.id: i for i, f in enumerate(self.findings)}

    @cached_property
    def group_index(self) -> dict[str, int]:
        return {g.id: i for i, g in enumerate(self.groups)}

    def resolve_finding(self, finding_id: str) -> str:
        """Map an obsolete or alternative id to the current one; raise with a hint when unknown."""
        fid = finding_id.strip()
        seen = set()
        while fid in self.aliases and fid not in seen:
            seen.add(fid)
            fid = self.aliases[fid]
        if fid not in self.finding_index:
            raise UnknownFindingError(
                f"finding {finding_id!r} is not in pack {self.meta.name!r}; "
                "check the id (e.g. HP:0001945) or search by label"
            )
        return fid

    def annotation(self, i: int) -> Annotation:
        t = self.annotations
        freq, absent = float(t.frequency[i]), float(t.absent_frequency[i])
        return Annotation(
            disease=self.diseases[int(t.disease[i])].id,
            finding=self.findings[int(t.finding[i])].id,
            frequency=None if math.isnan(freq) else freq,
            absent_frequency=None if math.isnan(absent) else absent,
            negated=bool(t.negated[i]),
        )

    def iter_annotations(self) -> Iterator[Annotation]:
        for i in range(len(self.annotations)):
            yield self.annotation(i)

    def summary(self) -> dict[str, object]:
        t = self.annotations
        namespaces: dict[str, int] = {}
        for d in self.diseases:
            ns = d.id.split(":", 1)[0]
            namespaces[ns] = namespaces.get(ns, 0) + 1
        return {
            "name": self.meta.name,
            "version": self.meta.version,
            "source": self.meta.source,
            "diseases": len(self.diseases),
            "disease_namespaces": namespaces,
            "findings": len(self.findings),
            "askable_findings": sum(f.askable for f in self.findings),
            "groups": len(self.groups),
            "annotations": len(t),
            "annotations_with_frequency": int(np.count_nonzero(~np.isnan(t.frequency))),
            "negated_annotations": int(np.count_nonzero(t.negated)),
            "lay_synonyms": sum(len(f.lay_synonyms) for f in self.findings),
            "aliases": len(self.aliases),
        }
