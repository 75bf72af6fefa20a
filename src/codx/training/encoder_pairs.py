"""Training pairs for the encoder: (phrase, label) of the same finding, from the packs' own words.

Every finding gives pairs from its synonyms, lay label, lay synonyms and the labels the pack gives it in the
chosen languages, each paired with its English label (a finding shared by several packs, such as an HPO
term the common pack also uses, is one finding with the phrases of all of them). Held-out phrases (the
benchmark's lay synonyms, and the dev slice kept for the model card) are removed on either side of a pair:
the encoder never sees their text, so its benchmark numbers are numbers on unseen words.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from codx.models.language.matcher import phrase_key
from codx.models.packs.schema import Pack

Key = tuple[str, ...]
STOPWORDS = {"a", "an", "and", "at", "by", "for", "in", "of", "on", "or", "the", "to", "with"}


@dataclass(frozen=True)
class Pair:
    phrase: str
    label: str
    finding: str  # finding id: pairs of one finding are never each other's negatives
    source: str  # "<pack>:<field>", for the model card's counts


@dataclass
class PairSet:
    """The pairs to train on, the dev slice, and what was removed (the model card reports each count)."""

    train: list[Pair]
    dev: list[Pair]
    excluded_heldout: int  # pairs dropped because one side is a benchmark held-out phrase
    neighbours: dict[str, list[str]]  # finding id -> ids of its parents, children and siblings
    labels: dict[str, str]  # finding id -> English label


def collect_pairs(packs: Sequence[Pack], languages: Iterable[str] = ("en",)) -> tuple[list[Pair], dict[str, str]]:
    """(pairs, label per finding) over every finding of the packs; a phrase equal to its label is no pair."""
    langs = set(languages)
    labels: dict[str, str] = {}
    pairs: list[Pair] = []
    seen: set[tuple[str, Key]] = set()
    for pack in packs:
        for f in pack.findings:
            label = labels.setdefault(f.id, f.label)
            fields: list[tuple[str, list[str]]] = [
                ("synonym", list(f.synonyms)),
                ("lay_label", [f.lay_label] if f.lay_label else []),
                ("lay_synonym", list(f.lay_synonyms)),
                ("label", [f.label]),  # another pack's label for a shared id
                *((f"label_{lang}", [text]) for lang, text in sorted(f.labels.items()) if lang in langs),
            ]
            seen.add((f.id, phrase_key(label)))
            for field, phrases in fields:
                for p in phrases:
                    key = phrase_key(p)
                    if not key or (f.id, key) in seen:
                        continue
                    seen.add((f.id, key))
                    pairs.append(Pair(p, label, f.id, f"{pack.meta.name}:{field}"))
    return pairs, labels


def neighbours_of(packs: Sequence[Pack]) -> dict[str, list[str]]:
    """Parents, children and siblings of each finding: the labels an encoder most easily confuses."""
    parents: dict[str, set[str]] = {}
    for pack in packs:
        for f in pack.findings:
            parents.setdefault(f.id, set()).update(f.parents)
    children: dict[str, set[str]] = {}
    for fid, ps in parents.items():
        for p in ps:
            children.setdefault(p, set()).add(fid)
    out: dict[str, list[str]] = {}
    for fid, ps in parents.items():
        near = set(ps) | children.get(fid, set())
        for p in ps:
            near |= children.get(p, set())
        near.discard(fid)
        out[fid] = sorted(n for n in near if n in parents)
    return out


def pair_weight(pair: Pair) -> float:
    """How much a pair can teach: 1 minus the overlap of its content words ("Athelia" / "Absent nipple": 1.0;
    "Ischaemic stroke" / "Ischemic stroke": 0.67), plus 0.5 for lay words (the kind of words the encoder
    must learn), plus 0.1 so that every pair comes up."""
    a, b = (set(phrase_key(t)) - STOPWORDS for t in (pair.phrase, pair.label))
    overlap = len(a & b) / max(len(a | b), 1)
    return 0.1 + (1.0 - overlap) + (0.5 if ":lay" in pair.source else 0.0)


def split_pairs(
    packs: Sequence[Pack],
    heldout: Iterable[str],
    languages: Iterable[str] = ("en",),
    dev_size: int = 300,
    seed: int = 0,
) -> PairSet:
    """Pairs minus every pair with a held-out phrase on either side, then a dev slice of `dev_size` pairs
    whose phrases are removed from training the same way (so the dev numbers are on unseen phrases too)."""
    pairs, labels = collect_pairs(packs, languages)
    held = {phrase_key(p) for p in heldout}
    kept = [p for p in pairs if phrase_key(p.phrase) not in held and phrase_key(p.label) not in held]
    excluded = len(pairs) - len(kept)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(kept))
    dev = [kept[i] for i in order[: min(dev_size, len(kept) // 5)]]
    dev_keys = {phrase_key(p.phrase) for p in dev}
    train = [kept[i] for i in order[len(dev) :] if phrase_key(kept[i].phrase) not in dev_keys]
    train = [p for p in train if phrase_key(p.label) not in dev_keys]
    labels = {fid: text for fid, text in labels.items() if phrase_key(text) not in held | dev_keys}
    return PairSet(train, dev, excluded, neighbours_of(packs), labels)
