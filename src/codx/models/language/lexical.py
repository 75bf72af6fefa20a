"""The lexical half of English retrieval: BM25 over each finding's words re-ranks the encoder's findings.

The encoder ranks by meaning and can miss what a shared rare word says plainly; BM25 (the `bm25s` library)
weighs a shared word by how few findings use it. Each finding is one document: the word stems of all its
indexed phrases (names, lay words, definition); a query is its own words and those of its clinical rewrite
(`lay_terms`). The encoder's best findings are re-ordered by cosine + `WEIGHT` x the finding's BM25 score
over the best any finding gets for the query. Hits keep their cosine as `score`, so the reader's thresholds
stay the encoder's: the lexical half decides which finding comes first, never whether one is accepted.
"""

from __future__ import annotations

import bm25s

from codx.models.language.lay_terms import RewritingIndex, clinical_rewrite
from codx.models.language.retrieval import FindingIndex, Hit, PhraseIndex
from codx.models.language.words import lang_tokens

#: Weight of the lexical score (0..1) against the cosine, chosen on the even half of the held-out lay words.
WEIGHT = 0.05
#: Encoder hits re-ordered per query.
RERANK = 50
#: Letters that make a word's stem: plurals and most inflections share it ("fingers" / "finger").
STEM = 5
_STOP = frozenset("of the a an in on and or to with by for from at is are be as that which this its it my".split())


def stems(text: str) -> list[str]:
    return [t.norm[:STEM] for t in lang_tokens(text, "en") if t.norm not in _STOP]


class HybridIndex:
    """`searcher`'s hits (an English reader over `dense`) re-ordered with BM25 over `dense`'s phrases."""

    def __init__(self, searcher: PhraseIndex, dense: FindingIndex):
        self.searcher = searcher
        self.encoder = searcher.encoder
        docs: list[list[str]] = [[] for _ in range(dense.kn.n_findings)]
        for phrase, owner in zip(dense.phrases, dense.owners, strict=True):
            docs[int(owner)].extend(stems(phrase))
        self.bm25 = bm25s.BM25(k1=1.2, b=0.75)
        self.bm25.index(docs, show_progress=False)

    def search(self, queries: list[str], k: int = 5, pool: int = 50) -> list[list[Hit]]:
        out: list[list[Hit]] = []
        for query, hits in zip(queries, self.searcher.search(queries, k=max(k, RERANK), pool=pool), strict=True):
            words = stems(query)
            rewritten = clinical_rewrite(query)
            if rewritten != query:
                words += stems(rewritten)
            lexical = self.bm25.get_scores(words) if words else None
            top = float(lexical.max()) if lexical is not None else 0.0
            if top > 0:
                bonus = {h.finding: WEIGHT * float(lexical[h.finding]) / top for h in hits}
                hits = sorted(hits, key=lambda h: -(h.score + bonus[h.finding]))
            out.append(hits[:k])
        return out


def english_reader(dense: FindingIndex) -> HybridIndex:
    """How the app reads English (and glossed Chinese): each query as written and in clinical words over the
    encoder's index, re-ordered by the lexical half."""
    return HybridIndex(RewritingIndex(dense), dense)
