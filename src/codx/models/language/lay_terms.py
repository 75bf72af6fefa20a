"""Everyday English rewritten into the clinical words finding labels use, before English retrieval.

MiniLM knows "small head" is close to "small" and "head", not that it is microcephaly; and it confuses
"wide" with "narrow" more easily than "broad" with "wide". Patients (and HPO's own lay synonyms) say "outermost
bone of the big toe", labels say "distal phalanx of the hallux". A query is searched as written and, when it
contains a phrase of codx's lay-to-clinical lexicon (`data/en_lay_medical.tsv`, written for codx from
standard medical terminology), once more rewritten; each finding keeps its better score.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from codx.models.language.retrieval import Hit, PhraseIndex, best_per_finding
from codx.models.language.word_tables import word_pairs

#: Rewrites are applied twice, so "decreased size of head" -> "small head" -> "microcephaly".
PASSES = 2


#: A lay phrase written "heart +" is rewritten only before another word: "heart defect" -> "cardiac defect",
#: while "fluid around heart" keeps its noun (or takes the entry written without the mark: "belly" ->
#: "abdomen"); an adjective there reads as nonsense to the encoder.
MODIFIER_MARK = " +"
_HEAD_OF = re.compile(r"\s+(?!(?:of|in|on|at|and|or|with|to|from|near|around|that|which)\b)[a-z]", re.IGNORECASE)


@dataclass(frozen=True)
class _Lexicon:
    pattern: re.Pattern[str]
    plain: dict[str, str]
    modifier: dict[str, str]

    def replace(self, m: re.Match[str]) -> str:
        lay = m.group(0).lower()
        if lay in self.modifier and _HEAD_OF.match(m.string, m.end()):
            return self.modifier[lay]
        return self.plain.get(lay, m.group(0))


@lru_cache(maxsize=1)
def _lexicon() -> _Lexicon:
    plain: dict[str, str] = {}
    modifier: dict[str, str] = {}
    for lay, clinical in word_pairs("en_lay_medical.tsv").items():
        key = lay.lower()
        if key.endswith(MODIFIER_MARK):
            modifier[key.removesuffix(MODIFIER_MARK)] = clinical
        else:
            plain[key] = clinical
    longest_first = sorted({*plain, *modifier}, key=len, reverse=True)
    pattern = re.compile(r"\b(" + "|".join(re.escape(p) for p in longest_first) + r")\b", re.IGNORECASE)
    return _Lexicon(pattern, plain, modifier)


@lru_cache(maxsize=4096)
def clinical_rewrite(text: str) -> str:
    """`text` with every lay phrase of the lexicon replaced by its clinical words (unchanged if none). Cached:
    the English reader's rewrite (`RewritingIndex`) and its lexical half (`lexical.HybridIndex`) both need it
    for the same piece."""
    lexicon = _lexicon()
    for _ in range(PASSES):
        text = lexicon.pattern.sub(lexicon.replace, text)
    return text


class RewritingIndex:
    """An English index searched with each query as written and as rewritten; same interface."""

    def __init__(self, english: PhraseIndex):
        self.english = english
        self.encoder = english.encoder

    def search(self, queries: list[str], k: int = 5, pool: int = 50) -> list[list[Hit]]:
        """One search for the queries and their rewrites together: a message's pieces cost one encoder call
        and one index scan, not two (a call of a few short texts is mostly fixed cost, ~20 ms)."""
        changed = [(i, r) for i, r in enumerate(map(clinical_rewrite, queries)) if r != queries[i]]
        results = self.english.search([*queries, *(r for _, r in changed)], k=k, pool=pool)
        for (i, _), hits in zip(changed, results[len(queries) :], strict=True):
            results[i] = best_per_finding([*results[i], *hits], k)
        return results[: len(queries)]
