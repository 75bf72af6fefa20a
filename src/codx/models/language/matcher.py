"""Finding mentions in free text: an exact label / synonym matcher with clause-level negation.

This is the simple, predictable first reader of patient and doctor messages (English phrases, because the
packs' labels and synonyms are English). It never raises on input text and never guesses beyond the packs'
own words.

Phrases. Every askable finding contributes its label, lay label, synonyms and lay synonyms. Phrases and text
are normalised the same way: Unicode NFKC, lower case, accents folded (café -> cafe), every run of characters
that are not letters or digits is a word break (so "Focal-onset" = "focal onset", "Crohn's" = "crohn s"), and
each word loses a simple English plural ("headaches" -> "headache", "allergies" -> "allergy", "rashes" ->
"rash"; words ending in ss / us / is are left alone). The plural rule is applied to every word, not only the
last, so that both sides always agree. Phrases that are shorter than `min_chars` letters, have no letter, or
are longer than `MAX_PHRASE_WORDS` words are skipped. Acronyms (one word with two or more capitals in the
pack, e.g. "ASD", "GERD", "TgAbs") only match the same spelling in the text, so "odd" is not "ODD".

Ambiguity. A phrase naming several findings goes to the finding whose label it is; among equals (several
labels, or only synonyms) to the most general one when they lie on one branch (an ancestor is implied by
its descendants, so it is the safe reading); otherwise to the shallowest finding, with confidence
`AMBIGUOUS_CONFIDENCE` so callers can treat it with care.

Matching. Greedy longest match: every phrase found (up to 8 words, never across clause punctuation) is a
candidate; the longest win, then the earliest, and no two mentions overlap ("focal seizures" is one mention
of Focal-onset seizure, not also a Seizure). A finding named twice is returned twice (see `observations`).

Status (decided by `polarity.token_statuses` with the English tables of polarity.py, which holds the rules of
all six languages). The text is cut into clauses at . ! ? ; and line breaks, at "but", "although", "though",
"however", "except", "whereas", and into list items at commas and "and". A cue before the mention in its clause sets
the status: negation ("no", "not", "n't", "without", "denies", "never", "none", "free of", "negative for",
...) -> absent; uncertainty ("maybe", "might", "possibly", "perhaps", "probably", "not sure", "unsure",
"I think", "I guess", "don't know", "could be", "rule out", ...) -> unsure. Uncertainty wins when it directly
precedes a negation ("maybe not"); otherwise the latest cue wins. "a bit", "a little", "kind of" are not
cues: a mild finding is present. A cue carries over a comma or "and" into list items that hold only findings
and filler words ("no fever, cough or rash": all absent), and stops at anything else ("no fever, I have a
cough": cough present) and always at "but". A subject with a verb ("I have", "she's", "there is") ends a
negation in the same clause ("I don't have a fever I have a cough"). A few cues after the findings, at the end
of their clause, negate them: "fever absent", "cough: none", "rash ruled out", "fever no" ("cough yes, fever no").

Limits. Only the first `MAX_SCAN_CHARS` characters are read; `scan` says when the text was cut
(`Extraction.truncated`); `extract` returns the mentions alone.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict

from codx.errors import UnknownFindingError
from codx.models.diagnosis.evidence import Observation, Status
from codx.models.diagnosis.knowledge import Knowledge
from codx.models.language.polarity import token_statuses
from codx.models.language.words import JOIN, WORD, Token, fold, lang_tokens, plural, tokens

#: Characters of a message that are read; the rest is ignored (`Extraction.truncated` says so).
MAX_SCAN_CHARS = 20_000
#: Longest phrase, in words, that is indexed and matched.
MAX_PHRASE_WORDS = 8
LABEL_CONFIDENCE = 1.0
SYNONYM_CONFIDENCE = 0.9
#: A phrase that also names an unrelated finding (e.g. "ASD": atrial septal defect / autistic behaviour).
AMBIGUOUS_CONFIDENCE = 0.7


class Mention(BaseModel):
    """One finding named in the text; `text[start:end] == span`."""

    model_config = ConfigDict(frozen=True)
    finding_id: str
    status: Status
    span: str
    start: int
    end: int
    confidence: float


class Extraction(BaseModel):
    model_config = ConfigDict(frozen=True)
    mentions: list[Mention]
    truncated: bool = False  # True when only the first `scanned_chars` characters were read
    scanned_chars: int = 0


class DirectIds(NamedTuple):
    """Finding ids typed by a clinician (`mentions`), and one message per id that is not in the packs."""

    mentions: list[Mention]
    problems: list[str]


def observations(mentions: Iterable[Mention]) -> list[Observation]:
    """One observation per finding, in order of first mention; a finding named again takes the later status."""
    status: dict[str, Status] = {}
    for m in mentions:
        status[m.finding_id] = m.status
    return [Observation(finding=f, status=s) for f, s in status.items()]


# -- normalisation (shared with polarity.py, whose tokens the status decision reads) -------------------------
def phrase_key(phrase: str) -> tuple[str, ...]:
    """The normalised words a phrase is indexed under (see the module docstring)."""
    return tuple(plural(w) for w in WORD.findall(fold(phrase)))


def _is_acronym(phrase: str) -> bool:
    return " " not in phrase.strip() and sum(c.isupper() for c in phrase) >= 2


class FindingMatcher:
    """Finds the findings of `kn` named in text, with present / absent / unsure (see the module docstring).

    Immutable once built, so one instance can serve many threads."""

    def __init__(self, kn: Knowledge, askable_only: bool = True, min_chars: int = 3, language: str = "en"):
        self.kn = kn
        self.askable_only = askable_only
        self.min_chars = min_chars if language not in _CHARACTER_SCRIPTS else 1
        self.language = language
        self.max_words = MAX_PHRASE_WORDS * (3 if language in _CHARACTER_SCRIPTS else 1)
        min_chars = self.min_chars
        cands: dict[tuple[str, ...], dict[int, int]] = {}  # key -> finding index -> best rank (0 label, 1 other)
        acr: dict[tuple[str, ...], dict[int, int]] = {}
        for j, f in enumerate(kn.findings):
            if askable_only and not f.askable:
                continue
            phrases = [(f.label, 0)] + [(p, 1) for p in (f.lay_label, *f.synonyms, *f.lay_synonyms) if p]
            if language != "en" and f.labels.get(language):
                phrases.append((f.labels[language], 0))
            for phrase, rank in phrases:
                if _is_acronym(phrase):
                    key = tuple(unicodedata.normalize("NFKC", w) for w in WORD.findall(phrase))
                    target = acr
                else:
                    key = self._key(phrase)
                    target = cands
                if not key or len(key) > self.max_words or sum(map(len, key)) < min_chars:
                    continue
                if not any(c.isalpha() for w in key for c in w):
                    continue
                slot = target.setdefault(key, {})
                slot[j] = min(rank, slot.get(j, rank))
        self._phrases = {k: self._choose(v) for k, v in cands.items()}
        self._acronyms = {k: self._choose(v) for k, v in acr.items()}
        self._max_len: dict[str, int] = {}
        for k in self._phrases:
            self._max_len[k[0]] = max(self._max_len.get(k[0], 0), len(k))
        self._acr_max_len: dict[str, int] = {}
        for k in self._acronyms:
            self._acr_max_len[k[0]] = max(self._acr_max_len.get(k[0], 0), len(k))
        self._namespaces = {fid.split(":", 1)[0].lower(): fid.split(":", 1)[0] for fid in kn.finding_ids}
        for alias in kn.aliases:
            self._namespaces.setdefault(alias.split(":", 1)[0].lower(), alias.split(":", 1)[0])

    def _key(self, phrase: str) -> tuple[str, ...]:
        if self.language == "en":
            return phrase_key(phrase)
        return tuple(t.key for t in lang_tokens(phrase, self.language))

    def _tokens(self, text: str) -> list[Token]:
        return tokens(text) if self.language == "en" else lang_tokens(text, self.language)

    def __len__(self) -> int:
        """Number of distinct indexed phrases."""
        return len(self._phrases) + len(self._acronyms)

    def _choose(self, found: dict[int, int]) -> tuple[str, float]:
        """The finding a phrase stands for, and the confidence of a match on it."""
        if len(found) == 1:
            ((j, rank),) = found.items()
            return self.kn.finding_ids[j], LABEL_CONFIDENCE if rank == 0 else SYNONYM_CONFIDENCE
        best = min(found.values())
        pool = [j for j, r in found.items() if r == best]
        conf = LABEL_CONFIDENCE if best == 0 else SYNONYM_CONFIDENCE
        anc = self.kn.ancestors
        general = [j for j in pool if all(j in set(anc[k].tolist()) for k in pool)]
        if general:
            return self.kn.finding_ids[general[0]], conf
        j = min(pool, key=lambda k: (len(anc[k]), k))
        return self.kn.finding_ids[j], AMBIGUOUS_CONFIDENCE

    # -- free text ---------------------------------------------------------------------------------------
    def extract(self, text: str) -> list[Mention]:
        """Mentions in text order; only the first `MAX_SCAN_CHARS` characters are read (see `scan`)."""
        return self.scan(text).mentions

    def scan(self, text: str) -> Extraction:
        if not isinstance(text, str) or not text:
            return Extraction(mentions=[], truncated=False, scanned_chars=0)
        body = text[:MAX_SCAN_CHARS]
        toks = self._tokens(body)
        matches = self._matches(toks)
        statuses = token_statuses(toks, [(i, n) for i, n, _, _ in matches], self.language, known=False)
        mentions = [
            Mention(
                finding_id=fid,
                status=st,
                span=body[toks[i].start : toks[i + n - 1].end],
                start=toks[i].start,
                end=toks[i + n - 1].end,
                confidence=conf,
            )
            for (i, n, fid, conf), st in zip(matches, statuses, strict=True)
        ]
        return Extraction(mentions=mentions, truncated=len(text) > MAX_SCAN_CHARS, scanned_chars=len(body))

    def _matches(self, toks: list[Token]) -> list[tuple[int, int, str, float]]:
        """Non-overlapping (first token, number of tokens, finding id, confidence), longest first, in text order."""
        n = len(toks)
        run_end = [n] * (n + 1)  # first token after i that a phrase starting at i cannot reach
        for i in range(n - 1, -1, -1):
            run_end[i] = i + 1 if i + 1 < n and toks[i + 1].gap != JOIN else run_end[i + 1]
        cands: list[tuple[int, int, str, float]] = []
        for i in range(n):
            reach = run_end[i] - i
            longest = min(self._max_len.get(toks[i].key, 0), reach)
            for size in range(longest, 0, -1):
                hit = self._phrases.get(tuple(t.key for t in toks[i : i + size]))
                if hit:
                    cands.append((i, size, *hit))
            longest = min(self._acr_max_len.get(toks[i].case, 0), reach)
            for size in range(longest, 0, -1):
                hit = self._acronyms.get(tuple(t.case for t in toks[i : i + size]))
                if hit:
                    cands.append((i, size, *hit))
        cands.sort(key=lambda c: (-c[1], c[0], -c[3]))
        taken = [False] * n
        chosen = []
        for c in cands:
            i, size = c[0], c[1]
            if not any(taken[i : i + size]):
                taken[i : i + size] = [True] * size
                chosen.append(c)
        chosen.sort()
        return chosen

    # -- ids -----------------------------------------------------------------------------------------------
    def direct_ids(self, text: str) -> DirectIds:
        """Finding ids typed in the text (doctor mode): `HP:0001945` or `+HP:0001945` present, `-HP:…` or
        `!HP:…` absent, `?HP:…` unsure. Obsolete ids are mapped to the current one; non-askable findings are
        accepted. A token counts as an id when its prefix is a namespace of the packs (any case) or it looks
        like one (capitals, colon, digits: `OMIM:123`); unknown ids give one message each in `problems`."""
        mentions: list[Mention] = []
        problems: list[str] = []
        if not isinstance(text, str):
            return DirectIds(mentions, problems)
        body = text[:MAX_SCAN_CHARS]
        for tok in _ID_TOKEN.finditer(body):
            m = _ID_BODY.fullmatch(tok.group())
            if not m:
                continue
            sign, prefix, local = m.group("sign"), m.group("prefix"), m.group("local")
            canonical = self._namespaces.get(prefix.lower())
            if canonical is None and not _ID_LIKE.fullmatch(f"{prefix}:{local}"):
                continue
            fid = f"{canonical or prefix}:{local}"
            start = tok.start() + m.start("sign" if sign else "prefix")
            end = tok.start() + m.end("local")
            try:
                j = self.kn.resolve(fid)
            except UnknownFindingError as exc:
                problems.append(str(exc))
                continue
            mentions.append(
                Mention(
                    finding_id=self.kn.finding_ids[j],
                    status=_SIGNS[sign],
                    span=body[start:end],
                    start=start,
                    end=end,
                    confidence=LABEL_CONFIDENCE,
                )
            )
        return DirectIds(mentions, problems)


#: Languages written without spaces, whose tokens are single characters.
_CHARACTER_SCRIPTS = frozenset({"zh"})
_ID_TOKEN = re.compile(r"[^\s,;]+")
_ID_BODY = re.compile(
    r"[(\[]*(?P<sign>[+\-!?]?)[(\[]*(?P<prefix>[A-Za-z][A-Za-z0-9_.\-]*):(?P<local>[^\s()\[\]]+?)[)\].:!?]*"
)
_ID_LIKE = re.compile(r"[A-Z][A-Z0-9_]*:\d+")
_SIGNS: dict[str, Status] = {"": "present", "+": "present", "-": "absent", "!": "absent", "?": "unsure"}
