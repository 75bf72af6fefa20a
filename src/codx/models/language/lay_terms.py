"""Everyday English rewritten into the clinical words finding labels use, before English retrieval.

MiniLM knows "small head" is close to "small" and "head", not that it is microcephaly; and it confuses
"wide" with "narrow" more easily than "broad" with "wide". Patients (and HPO's own lay synonyms) say "outermost
bone of the big toe", labels say "distal phalanx of the hallux". A query is searched as written and, when it
contains a phrase of codx's lay-to-clinical lexicon (`data/en_lay_medical.tsv`, written for codx from
standard medical terminology), once more rewritten; each finding keeps its better score.
"""

from __future__ import annotations

import re
from functools import lru_cache

from codx.models.language.retrieval import Hit, PhraseIndex
from codx.models.language.word_tables import word_pairs

#: Rewrites are applied twice, so "decreased size of head" -> "small head" -> "microcephaly".
PASSES = 2


@lru_cache(maxsize=1)
def _lexicon() -> tuple[re.Pattern[str], dict[str, str]]:
    table = {lay.lower(): clinical for lay, clinical in word_pairs("en_lay_medical.tsv").items()}
    longest_first = sorted(table, key=len, reverse=True)
    pattern = re.compile(r"\b(" + "|".join(re.escape(p) for p in longest_first) + r")\b", re.IGNORECASE)
    return pattern, table


def clinical_rewrite(text: str) -> str:
    """`text` with every lay phrase of the lexicon replaced by its clinical words (unchanged if none)."""
    pattern, table = _lexicon()
    for _ in range(PASSES):
        text = pattern.sub(lambda m: table[m.group(0).lower()], text)
    return text


class RewritingIndex:
    """An English index searched with each query as written and as rewritten; same interface."""

    def __init__(self, english: PhraseIndex):
        self.english = english
        self.encoder = english.encoder

    def search(self, queries: list[str], k: int = 5, pool: int = 50) -> list[list[Hit]]:
        results = self.english.search(queries, k=k, pool=pool)
        rewritten = [(i, clinical_rewrite(q)) for i, q in enumerate(queries)]
        changed = [(i, r) for i, r in rewritten if r != queries[i]]
        if not changed:
            return results
        again = self.english.search([r for _, r in changed], k=k, pool=pool)
        for (i, _), hits in zip(changed, again, strict=True):
            best: dict[int, Hit] = {}
            for h in [*results[i], *hits]:
                if h.finding not in best or h.score > best[h.finding].score:
                    best[h.finding] = h
            results[i] = sorted(best.values(), key=lambda h: -h.score)[:k]
        return results
