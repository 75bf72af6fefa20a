"""Patient words to findings in any of the six languages: exact phrases first, meaning second.

1. Exact: the language's `FindingMatcher` (the packs' English labels and synonyms, plus the labels the packs
   give in that language) with its clause-level negation and uncertainty.
2. Meaning: the message is cut into pieces (clauses and list items: at sentence ends, commas, "and", "but"
   in each language); every piece that no exact match touched is looked up in the FAISS index of the
   finding phrases (`retrieval.FindingIndex`: the English encoder for English and, through a word gloss,
   Chinese (`gloss.GlossedIndex`), its findings re-ordered by BM25 (`lexical`); the multilingual encoder for
   the others). The first finding whose cosine reaches the encoder's threshold is kept; its status comes
   from the polarity rules of the language, read over the piece.

Why pieces and not n-grams: one embedding per clause keeps a message to a handful of encoder calls (the
50 ms budget), and a clause is what a patient uses to describe one complaint.
"""

from __future__ import annotations

from collections.abc import Callable

from codx.models.diagnosis.knowledge import Knowledge
from codx.models.language.cues import CUES
from codx.models.language.encoder import E5_NAME, MINILM_NAME
from codx.models.language.matcher import MAX_SCAN_CHARS, DirectIds, Extraction, FindingMatcher, Mention
from codx.models.language.polarity import phrase_at, polarity
from codx.models.language.retrieval import Hit, PhraseIndex
from codx.models.language.trained import TRAINED_NAME, base_name
from codx.models.language.words import COMMA, HARD_COMMA, LANGUAGES, STRONG, lang_tokens

#: At most this many pieces of one message go to the encoder (the rest are read exactly only).
MAX_PIECES = 24
#: Pieces longer than this (characters) describe more than one complaint; they are read exactly only.
MAX_PIECE_CHARS = 160
#: A piece needs this many words of three letters or more (a Han character counts as a word): single words
#: ("Normal", "Elevated", "place") match too many findings by meaning and are left to the exact reader.
MIN_PIECE_WORDS = 2
#: Cosine an embedding hit needs, per encoder. Chosen by reading hits on patient sentences and on the
#: AgentClinic dev vignettes' clinical text: MiniLM hits below 0.7 were mostly wrong there ("Drinks alcohol
#: socially" -> heavy alcohol use 0.65); e5's cosines are compressed (0.86-0.92 for right and wrong alike),
#: so only close matches pass.
#: The encoder trained by `codx train encoder` (looked up without its "@weights" suffix) puts every text a
#: little closer (unrelated clauses 0.37-0.77 instead of 0.22-0.65), so its threshold is higher: 0.75 is the
#: highest at which it accepts at least as many right answers on the held-out lay synonyms as MiniLM at 0.7
#: (0.295 vs 0.240 of them, at precision 0.49 vs 0.28; the model card's threshold table and
#: `suggested_min_score`); of its 20 control clauses only "the weather has been cold" (-> Coldness) passes.
MIN_SCORE = {MINILM_NAME: 0.7, E5_NAME: 0.90, TRAINED_NAME: 0.75}
DEFAULT_MIN_SCORE = 0.9
#: How far below the threshold a hit may be when its phrase shares a word stem (first `STEM` letters) with
#: the piece.
SHARED_WORD_MARGIN = 0.15
STEM = 5


#: Words that say a part was examined and found normal: "Normal bowel sounds" is close in meaning to
#: "Abnormal bowel sounds", so a meaning hit in such a piece is read as that finding being absent.
NORMAL_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        "normal normally normoactive unremarkable regular intact clear symmetric symmetrical "
        "wnl unchanged appropriate non-tender nontender".split()
    ),
    "es": frozenset("normal normales regular conservado conservada sin alteraciones".split()),
    "fr": frozenset("normal normale normaux normales régulier réguliere".split()),
    "zh": frozenset("正常"),
    "ar": frozenset("طبيعي طبيعية".split()),
    "hi": frozenset("सामान्य".split()),
}


def pieces(text: str, language: str) -> list[tuple[int, int]]:
    """Character spans of the clauses and list items of `text` (the words "and" / "but" themselves dropped)."""
    toks = lang_tokens(text, language)
    cues = CUES.get(language, CUES["en"])
    idx = list(range(len(toks)))
    spans: list[tuple[int, int]] = []
    start: int | None = None
    last_end = 0
    u = 0
    while u < len(toks):
        t = toks[u]
        if start is not None and t.gap in (COMMA, STRONG, HARD_COMMA):
            spans.append((start, last_end))
            start = None
        brk = phrase_at(toks, idx, u, cues.breaks)
        if brk is not None:
            if start is not None:
                spans.append((start, last_end))
                start = None
            u += len(brk[0])
            continue
        if start is None:
            start = t.start
        last_end = t.end
        u += 1
    if start is not None:
        spans.append((start, last_end))
    return spans


class FindingExtractor:
    """Hybrid (exact + embedding) reader of one pack set; thread-safe once built.

    `matcher_for(language)` and `index_for(language)` are supplied by the caller, who caches them (the
    multilingual index takes minutes to build the first time); `index_for` may return None (exact only).
    An embedding hit counts when its cosine reaches `min_score[encoder name]`, else the threshold a trained
    encoder's card suggests (as many right lay readings as MiniLM at its own, fewer wrong), else
    `min_score[base name]` or `DEFAULT_MIN_SCORE`."""

    def __init__(
        self,
        kn: Knowledge,
        matcher_for: Callable[[str], FindingMatcher],
        index_for: Callable[[str], PhraseIndex | None] = lambda language: None,
        min_score: dict[str, float] | None = None,
    ):
        self.kn = kn
        self.matcher_for = matcher_for
        self.index_for = index_for
        self.min_score = {**MIN_SCORE, **(min_score or {})}

    def direct_ids(self, text: str) -> DirectIds:
        return self.matcher_for("en").direct_ids(text)

    def scan(self, text: str, language: str = "en") -> Extraction:
        if not isinstance(text, str) or not text:
            return Extraction(mentions=[], truncated=False, scanned_chars=0)
        body = text[:MAX_SCAN_CHARS]
        language = language if language in LANGUAGES else "en"
        exact = self.matcher_for(language).scan(body)
        mentions = list(exact.mentions)
        index = self.index_for(language)
        if index is not None:
            mentions += self._by_meaning(body, language, index, mentions)
        mentions.sort(key=lambda m: (m.start, m.end))
        return Extraction(mentions=mentions, truncated=len(text) > MAX_SCAN_CHARS, scanned_chars=len(body))

    def extract(self, text: str, language: str = "en") -> list[Mention]:
        return self.scan(text, language).mentions

    def _by_meaning(self, body: str, language: str, index: PhraseIndex, taken: list[Mention]) -> list[Mention]:
        todo = [
            (s, e)
            for s, e in pieces(body, language)
            if e - s <= MAX_PIECE_CHARS
            and _lookup_worthy(body[s:e], language)
            and not any(m.start < e and m.end > s for m in taken)
        ][:MAX_PIECES]
        if not todo:
            return []
        name = index.encoder.name
        threshold = self.min_score.get(name) or getattr(index.encoder, "suggested_min_score", None)
        threshold = threshold or self.min_score.get(base_name(name), DEFAULT_MIN_SCORE)
        found: list[Mention] = []
        for (s, e), hits in zip(todo, index.search([body[s:e] for s, e in todo], k=5), strict=True):
            hit = _accepted(hits, body[s:e], language, threshold)
            if hit is None:
                continue
            fid = self.kn.finding_ids[hit.finding]
            toks = lang_tokens(body[s:e], language)
            normal = NORMAL_WORDS.get(language, NORMAL_WORDS["en"])
            if language == "zh":
                status = "absent" if "正常" in body[s:e] else polarity(body, s + toks[-1].start, e, language)
            elif any(t.norm in normal for t in toks):
                status = "absent"
            else:
                status = polarity(body, s + toks[-1].start, e, language)
            found.append(
                Mention(
                    finding_id=fid,
                    status=status,
                    span=body[s:e],
                    start=s,
                    end=e,
                    confidence=round(float(hit.score), 4),
                )
            )
        return found


def _accepted(hits: list[Hit], piece: str, language: str, threshold: float) -> Hit | None:
    """The first hit (in the index's order, which the lexical half may have changed) whose cosine reaches the
    threshold; else, down to `SHARED_WORD_MARGIN` below it, the first hit whose phrase shares a word stem with
    the piece ("crusted vesicles" -> "vesicular eruption"): a shared word vouches for a meaning the encoder is
    less sure of. A definition does not vouch: its many words share a stem with most sentences on its topic
    ("born at 39 weeks' gestation" and preterm birth's)."""
    for h in hits:
        if h.score >= threshold:
            return h
    stems = _stems(piece, language)
    for h in hits:
        if h.score >= threshold - SHARED_WORD_MARGIN and not h.definition and stems & _stems(h.phrase, language):
            return h
    return None


def _stems(text: str, language: str) -> set[str]:
    if language == "zh":  # two-character words
        han = [t.norm for t in lang_tokens(text, language) if not t.norm.isascii()]
        return {a + b for a, b in zip(han, han[1:], strict=False)}
    found = {t.norm[:STEM] for t in lang_tokens(text, language) if len(t.norm) >= STEM and t.norm.isalpha()}
    return found - _FILLER_STEMS


#: Stems of words that say nothing about which finding is meant (case-report and conversation filler).
_FILLER_STEMS = frozenset(
    "patie prese sympt histo repor noted exami there which about witho durin after befor since years month "
    "weeks hours other feeli havin right sever sligh recen sudde areas aroun sever abnor quite every "
    "sympt probl issue thing times daily start still".split()
)


def _lookup_worthy(piece: str, language: str) -> bool:
    """Enough words to carry a meaning, and not a measurement ("14 breaths/min", "BP 125/80")."""
    toks = lang_tokens(piece, language)
    words = sum(1 for t in toks if (len(t.norm) >= 3 and t.norm.isalpha()) or not t.norm.isascii())
    has_number = any(t.norm[:1].isdigit() for t in toks)
    return words >= MIN_PIECE_WORDS + (1 if has_number else 0)
