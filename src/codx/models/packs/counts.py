"""Turning labelled yes/no symptom records into a pack (shared by the goal-set and exp/imp importers).

These datasets give no frequencies, only patients; P(yes | disease) and P(no | disease) are counted
from a training split. Small diseases would get 0 or 1 from raw counts, so both are shrunk toward the
symptom's overall rate: (n_yes + s * bg_yes) / (n_d + s). A record that never mentions a symptom counts
as neither yes nor no, so frequency + absent_frequency <= 1 and the rest is "not mentioned".
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from codx.errors import InputFileError, PackError
from codx.models.packs.schema import Annotation, Disease, Finding, Pack, PackMeta
from codx.models.packs.userfiles import file_digest

Answer = Literal["present", "absent", "unsure"]

_PACK_NAME = re.compile(r"^[a-z][a-z0-9_\-]*$")
_WHITESPACE = re.compile(r"\s+")
_CJK = re.compile(r"[\u3400-\u9fff]")


@dataclass(frozen=True)
class Observation:
    """One training patient: the gold disease and every symptom the record mentions."""

    disease: str
    answers: Mapping[str, Answer]


def merge_answers(explicit: Mapping[str, Answer], implicit: Mapping[str, Answer]) -> dict[str, Answer]:
    """A symptom in both lists counts once; what the patient volunteered (explicit) wins a conflict."""
    return {**implicit, **explicit}


def id_part(text: str) -> str:
    """The part of an id after `name:`; ids may not contain whitespace, labels keep the original text."""
    part = _WHITESPACE.sub("_", text.strip())
    if not part:
        raise ValueError("empty symptom or disease name")
    return part


def check_pack_name(name: str) -> str:
    if not _PACK_NAME.match(name):
        raise PackError(
            f"pack name {name!r} is not allowed; use lowercase letters, digits, '_' or '-', starting with a letter"
        )
    return name


def languages_of(texts: Iterable[str]) -> list[str]:
    return ["zh"] if any(_CJK.search(t) for t in texts) else ["en"]


def build_dataset_pack(
    observations: Sequence[Observation], name: str, path: Path, description: str, source: str, smoothing: float
) -> Pack:
    """A population pack counted from a labelled training file (goal sets, exp/imp sets)."""
    labels = [o.disease for o in observations] + [s for o in observations for s in o.answers]
    meta = PackMeta(
        name=name,
        version=file_digest(path),
        description=description,
        source=f"{source}, additive smoothing s={smoothing}",
        languages=languages_of(labels),
        frequencies="population",
    )
    return build_count_pack(observations, meta, smoothing)


def build_count_pack(observations: Sequence[Observation], meta: PackMeta, smoothing: float) -> Pack:
    """Diseases (prior = count + 1), symptoms, and a smoothed annotation for every pair seen in training."""
    if smoothing < 0:
        raise PackError(f"smoothing must be >= 0, got {smoothing}")
    if not observations:
        raise InputFileError("the training records are empty; pass a file with labelled training cases")
    n_total = len(observations)
    n_disease: Counter[str] = Counter()
    yes: Counter[str] = Counter()
    no: Counter[str] = Counter()
    pair_yes: Counter[tuple[str, str]] = Counter()
    pair_no: Counter[tuple[str, str]] = Counter()
    seen: set[tuple[str, str]] = set()
    for obs in observations:
        n_disease[obs.disease] += 1
        for symptom, answer in obs.answers.items():
            seen.add((obs.disease, symptom))
            if answer == "present":
                yes[symptom] += 1
                pair_yes[obs.disease, symptom] += 1
            elif answer == "absent":
                no[symptom] += 1
                pair_no[obs.disease, symptom] += 1
    symptoms = sorted({s for _, s in seen})
    d_ids = _unique_ids(meta.name, sorted(n_disease), "disease")
    f_ids = _unique_ids(meta.name, symptoms, "symptom")
    diseases = [Disease(id=d_ids[d], name=d, prior=n + 1.0) for d, n in sorted(n_disease.items())]
    findings = [Finding(id=f_ids[s], label=s) for s in symptoms]
    annotations = []
    for d, s in sorted(seen):
        n_d = n_disease[d]
        bg_yes, bg_no = yes[s] / n_total, no[s] / n_total
        annotations.append(
            Annotation(
                disease=d_ids[d],
                finding=f_ids[s],
                frequency=_smoothed(pair_yes[d, s], n_d, bg_yes, smoothing),
                absent_frequency=_smoothed(pair_no[d, s], n_d, bg_no, smoothing),
            )
        )
    return Pack.from_records(meta, diseases, findings, annotations)


def _smoothed(count: int, n: int, background: float, s: float) -> float:
    return min(1.0, (count + s * background) / (n + s))


def _unique_ids(pack_name: str, names: Sequence[str], kind: str) -> dict[str, str]:
    ids: dict[str, str] = {}
    owner: dict[str, str] = {}
    for name in names:
        try:
            pid = f"{pack_name}:{id_part(name)}"
        except ValueError as exc:
            raise InputFileError(f"a training record has an empty {kind} name; remove or fix it") from exc
        if pid in owner:
            raise InputFileError(
                f"{kind}s {owner[pid]!r} and {name!r} both become id {pid}; rename one in the training file"
            )
        owner[pid] = name
        ids[name] = pid
    return ids
