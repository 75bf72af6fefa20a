"""Opposite directions in English finding words: "wide" against "narrow", "fast" against "slow".

Sentence encoders place antonyms close together (they share contexts): MiniLM scores "Wide foot" nearer
"Narrow foot" (0.88) than "Broad foot", and "Increased heart rate" near nothing with "tachy-". For a
clinical reader that is the worst kind of error, a finding read as its opposite. Each axis below lists the
words of its two ends (written for codx from general English and medical word formation: hyper-/hypo-,
macro-/micro-, tachy-/brady-); a phrase points one way on an axis when it uses words of one end only. A
retrieval hit whose phrase points the other way than the query on some axis loses `PENALTY` per axis
(`retrieval.FindingIndex`); words on neither end change nothing.
"""

from __future__ import annotations

import re
from functools import lru_cache

#: Cosine taken off a hit per axis on which its phrase and the query point opposite ways.
PENALTY = 0.1

#: axis -> (words of one end, words of the other); `*` ends a prefix (at least 3 more letters follow).
AXES: dict[str, tuple[str, str]] = {
    "width": (
        "wide widened widening wider broad broadened broadening broader",
        "narrow narrowed narrowing narrower thin thinner slender",
    ),
    "size": (
        "large larger big bigger enlarged enlargement huge giant macro* megal* hypertroph* overgrowth",
        "small smaller tiny micro* hypoplas* underdeveloped undersized",
    ),
    "level": (
        "increased increase increasing high higher elevated elevation raised excess excessive hyper* "
        "overactive overweight profuse profusely copious",
        "decreased decrease decreasing reduced reduction low diminished deficient deficiency insufficient "
        "insufficiency hypo* underactive underweight lack lacking",
    ),
    "count": (
        "more extra supernumerary additional multiple many duplicated duplication",
        "fewer less missing absent absence agenesis aplasia oligo*",
    ),
    "length": ("long longer elongated elongation tall lengthened", "short shorter shortened shortening"),
    "thickness": ("thick thickened thickening thicker", "thin thinner thinning slender"),
    "speed": ("fast rapid quick accelerated tachy*", "slow slowed slowing brady* sluggish"),
    "timing": ("early premature precocious", "late delayed delay"),
    "sides": ("bilateral both", "unilateral one-sided"),
    "left_right": ("left", "right"),
    "proximal_distal": ("proximal", "distal"),
    "upper_lower": ("upper superior", "lower inferior"),
    "front_back": ("anterior", "posterior"),
}

#: Fixed names whose size or length word is not a direction ("big toe", "long bones").
_NAMES = re.compile(r"\b(big toes?|little (finger|toe)s?|long bones?|long-term|short-term)\b")


def _pattern(words: str) -> re.Pattern[str]:
    alts = [re.escape(w[:-1]) + "[a-z]{3,}" if w.endswith("*") else re.escape(w) for w in words.split()]
    return re.compile(r"\b(?:" + "|".join(alts) + r")\b")


_AXES = [(axis, _pattern(up), _pattern(down)) for axis, (up, down) in AXES.items()]


@lru_cache(maxsize=65536)
def directions(text: str) -> frozenset[tuple[str, int]]:
    """(axis, +1 or -1) for each axis on which `text` uses words of one end only."""
    t = _NAMES.sub(" ", text.lower())
    out = set()
    for axis, up, down in _AXES:
        u, d = up.search(t) is not None, down.search(t) is not None
        if u != d:
            out.add((axis, 1 if u else -1))
    return frozenset(out)


def conflicts(a: frozenset[tuple[str, int]], b: frozenset[tuple[str, int]]) -> int:
    """Number of axes on which the two point opposite ways."""
    return sum((axis, -sign) in b for axis, sign in a)
