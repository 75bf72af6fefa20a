"""Word error rates as the Whisper paper computes them, plus an error rate over medical-term words only.

Texts are normalised with Whisper's `EnglishTextNormalizer` (spelling variants, numbers, punctuation) before
jiwer aligns them. Medical-term WER counts the reference words that belong to a term (a drug, a condition, a
finding) and were substituted or deleted, over all term words; insertions have no reference word to blame
and are left out. Both are corpus-level: errors summed over utterances, divided by words summed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import jiwer
from whisper.normalizers import BasicTextNormalizer, EnglishTextNormalizer

_english = EnglishTextNormalizer()
_basic = BasicTextNormalizer()


def normalize(text: str, language: str = "en") -> str:
    return _english(text) if language == "en" else _basic(text)


def _words(text: str, language: str) -> list[str]:
    norm = normalize(text, language)
    if language == "zh":  # no spaces between Chinese words: score characters (CER), as is usual
        return [c for c in norm if not c.isspace()]
    return norm.split()


@dataclass
class ErrorCounts:
    errors: int = 0
    words: int = 0
    term_errors: int = 0
    term_words: int = 0

    def add(self, other: ErrorCounts) -> None:
        self.errors += other.errors
        self.words += other.words
        self.term_errors += other.term_errors
        self.term_words += other.term_words

    @property
    def wer(self) -> float:
        return self.errors / self.words if self.words else 0.0

    @property
    def term_wer(self) -> float:
        return self.term_errors / self.term_words if self.term_words else 0.0


def _term_positions(ref: list[str], terms: Sequence[str], language: str) -> set[int]:
    positions: set[int] = set()
    for term in terms:
        tw = _words(term, language)
        if not tw:
            continue
        for i in range(len(ref) - len(tw) + 1):
            if ref[i : i + len(tw)] == tw:
                positions.update(range(i, i + len(tw)))
    return positions


def count_errors(reference: str, hypothesis: str, terms: Sequence[str] = (), language: str = "en") -> ErrorCounts:
    """Substitutions + deletions + insertions against the reference's word count, and the same over term words."""
    ref, hyp = _words(reference, language), _words(hypothesis, language)
    if not ref:
        return ErrorCounts(errors=len(hyp), words=0)
    if not hyp:
        term_pos = _term_positions(ref, terms, language)
        return ErrorCounts(errors=len(ref), words=len(ref), term_errors=len(term_pos), term_words=len(term_pos))
    out = jiwer.process_words(" ".join(ref), " ".join(hyp))
    term_pos = _term_positions(ref, terms, language)
    wrong: set[int] = set()
    for chunk in out.alignments[0]:
        if chunk.type in ("substitute", "delete"):
            wrong.update(range(chunk.ref_start_idx, chunk.ref_end_idx))
    return ErrorCounts(
        errors=out.substitutions + out.deletions + out.insertions,
        words=len(ref),
        term_errors=len(wrong & term_pos),
        term_words=len(term_pos),
    )
