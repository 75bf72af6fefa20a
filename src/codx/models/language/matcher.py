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

Status. The text is cut into clauses at . ! ? ; and line breaks, at "but", "although", "though", "however",
"except", "whereas", and into list items at commas and "and". A cue before the mention in its clause sets
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
from typing import Literal, NamedTuple

from pydantic import BaseModel, ConfigDict

from codx.errors import UnknownFindingError
from codx.models.diagnosis.evidence import Observation, Status
from codx.models.diagnosis.knowledge import Knowledge

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


# -- normalisation -------------------------------------------------------------------------------------------
_WORD = re.compile(r"[^\W_]+")
_STRONG = re.compile(r"[.!?;\n\r\u2028\u2029\u3002\uff01\uff1f\uff1b\u061f\u061b\u0964\u2026]")
_COMMA = re.compile(r"[,\uff0c\u3001\u060c]")
_JOIN = re.compile(r"(?:[^\S\r\n]|[-\u2010\u2011'\u2019/])*")
JOIN, SOFT, COMMA, STRONG = 0, 1, 2, 3  # what separates two words: may a phrase span it, does a clause end


def _fold(s: str) -> str:
    """NFKC, lower case, accents removed."""
    s = unicodedata.normalize("NFKC", s).lower()
    if s.isascii():
        return s
    decomposed = unicodedata.normalize("NFKD", s)
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if unicodedata.category(c) != "Mn"))


def _plural(w: str) -> str:
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    if len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    if len(w) > 3 and w.endswith(("che", "she", "sse", "xe", "ze")):
        w = w[:-1]
    return w


def phrase_key(phrase: str) -> tuple[str, ...]:
    """The normalised words a phrase is indexed under (see the module docstring)."""
    return tuple(_plural(w) for w in _WORD.findall(_fold(phrase)))


def _is_acronym(phrase: str) -> bool:
    return " " not in phrase.strip() and sum(c.isupper() for c in phrase) >= 2


class _Token(NamedTuple):
    start: int
    end: int
    norm: str  # folded word (cues are looked up with this)
    key: str  # folded word without plural (phrases are looked up with this)
    case: str  # NFKC word, case kept (acronyms)
    gap: int  # JOIN / SOFT / COMMA / STRONG: what separates it from the previous word


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    prev_end = 0
    for m in _WORD.finditer(text):
        s, e = m.span()
        between = text[prev_end:s]
        if _STRONG.search(between):
            gap = STRONG
        elif _COMMA.search(between):
            gap = COMMA
        elif _JOIN.fullmatch(between):
            gap = JOIN
        else:
            gap = SOFT
        word = m.group()
        case = word if word.isascii() else unicodedata.normalize("NFKC", word)
        norm = _fold(word)
        out.append(_Token(s, e, norm, _plural(norm), case, gap))
        prev_end = e
    return out


# -- cues ----------------------------------------------------------------------------------------------------
CueKind = Literal["neg", "unsure", "affirm"]


def _phrases(block: str) -> list[str]:
    """Phrases separated by |, written in folded form (lower case, apostrophes as word breaks: "don t")."""
    return [" ".join(p.split()) for p in block.split("|") if p.strip()]


_CONTRACTED = "don doesn didn haven hasn hadn isn wasn aren weren won can couldn shouldn wouldn ain".split()
_NEG = _phrases("""
    no | not | without | denies | denied | deny | denying | never | none | nor | neither | nothing | free of |
    negative for | absence of | ruled out | dont | doesnt | didnt | havent | hasnt | hadnt | isnt | wasnt | arent |
    werent | cant | cannot | couldnt | aint | no longer | no sign of | no signs of
""") + [f"{c} t" for c in _CONTRACTED]
_UNSURE = _phrases("""
    maybe | might | possibly | possible | perhaps | probably | unsure | uncertain | questionable | suspected |
    not sure | not certain | no idea | i think | i guess | i believe | don t know | dont know | do not know |
    don t think | dont think | do not think | could be | may be | may have | rule out | idk
""")
#: After the findings, ending their clause: "fever absent", "cough: none", "rash ruled out" ("cough yes" and
#: "cough present" keep them present and out of a later list's negation).
_POST = _phrases("absent | negative | no | none | denied | ruled out | not present | not seen | not found")
_SUBJECTS = "i he she they we it there patient child kid son daughter baby".split()
_VERBS = "have has had ve got get gets am m is s are re was were feel feels felt do does did".split()
_AFFIRM = [f"{s} {v}" for s in _SUBJECTS for v in _VERBS]


def _cue_table() -> dict[str, list[tuple[tuple[str, ...], CueKind]]]:
    table: dict[str, list[tuple[tuple[str, ...], CueKind]]] = {}
    for words, kind in (
        *((w, "neg") for w in _NEG),
        *((w, "unsure") for w in _UNSURE),
        *((w, "affirm") for w in _AFFIRM),
    ):
        t = tuple(words.split())
        table.setdefault(t[0], []).append((t, kind))  # type: ignore[arg-type]
    for entries in table.values():
        entries.sort(key=lambda e: -len(e[0]))
    return table


_CUES = _cue_table()
_POST_CUES: dict[tuple[str, ...], Status] = {
    **{tuple(p.split()): "absent" for p in _POST},
    ("yes",): "present",
    ("present",): "present",
}
_CLAUSE_WORDS = {"but", "although", "though", "however", "except", "whereas"}
_LIST_WORDS = {"and"}
#: Words that may sit between the findings of a list without ending a cue's scope.
_FILLERS = set(
    """a an the or nor and any some other also either neither no not none never without maybe possibly perhaps probably
    really etc of my his her their sign signs symptom symptoms recent new much many more too yes absent
    negative""".split()
)


class FindingMatcher:
    """Finds the findings of `kn` named in text, with present / absent / unsure (see the module docstring).

    Immutable once built, so one instance can serve many threads."""

    def __init__(self, kn: Knowledge, askable_only: bool = True, min_chars: int = 3):
        self.kn = kn
        self.askable_only = askable_only
        self.min_chars = min_chars
        cands: dict[tuple[str, ...], dict[int, int]] = {}  # key -> finding index -> best rank (0 label, 1 other)
        acr: dict[tuple[str, ...], dict[int, int]] = {}
        for j, f in enumerate(kn.findings):
            if askable_only and not f.askable:
                continue
            phrases = [(f.label, 0)] + [(p, 1) for p in (f.lay_label, *f.synonyms, *f.lay_synonyms) if p]
            for phrase, rank in phrases:
                if _is_acronym(phrase):
                    key = tuple(unicodedata.normalize("NFKC", w) for w in _WORD.findall(phrase))
                    target = acr
                else:
                    key = phrase_key(phrase)
                    target = cands
                if not key or len(key) > MAX_PHRASE_WORDS or sum(map(len, key)) < min_chars:
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
        toks = _tokens(body)
        matches = self._matches(toks)
        statuses = self._statuses(toks, matches)
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

    def _matches(self, toks: list[_Token]) -> list[tuple[int, int, str, float]]:
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

    def _statuses(self, toks: list[_Token], matches: list[tuple[int, int, str, float]]) -> list[Status]:
        """The status of each match, from the cues of its clause (see the module docstring)."""
        # units: ("m", match number) or ("t", token index); segments end at clause and list boundaries
        segments: list[tuple[bool, list[tuple[str, int]]]] = []  # (starts a new clause, units)
        units: list[tuple[str, int]] = []
        reset = True
        starts = {m[0]: k for k, m in enumerate(matches)}
        i = 0

        def close(new_reset: bool) -> None:
            nonlocal units, reset
            if units:
                segments.append((reset, units))
                units, reset = [], new_reset
            else:
                reset = reset or new_reset

        while i < len(toks):
            gap = toks[i].gap if i else STRONG
            if gap in (STRONG, COMMA):
                close(gap == STRONG)
            if i in starts:
                k = starts[i]
                units.append(("m", k))
                i += matches[k][1]
                continue
            word = toks[i].norm
            if word in _CLAUSE_WORDS or word in _LIST_WORDS:
                close(word in _CLAUSE_WORDS)
            else:
                units.append(("t", i))
            i += 1
        close(True)

        status: list[Status] = ["present"] * len(matches)
        state: Status | None = None
        pending: list[int] = []  # matches since the last cue, which a cue after them may negate
        for new_clause, seg in segments:
            has_match = any(kind == "m" for kind, _ in seg)
            listish = has_match and all(kind == "m" or toks[x].norm in _FILLERS for kind, x in seg)
            if new_clause or not listish:
                state, pending = None, []
            last_cue: tuple[int, str] | None = None  # (unit position after the cue, its kind)
            u = 0
            while u < len(seg):
                kind, x = seg[u]
                if kind == "m":
                    status[x] = state or "present"
                    pending.append(x)
                    u += 1
                    continue
                post = _post_cue(toks, seg, u) if pending and len(seg) - u <= 2 else None
                if post:
                    for k in pending:
                        status[k] = post[1]
                    pending = []
                    u += post[0]
                    continue
                cue = _cue(toks, seg, u)
                if cue is None:
                    u += 1
                    continue
                size, ckind = cue
                if ckind == "affirm":
                    if state == "absent":
                        state = None
                elif ckind == "neg":
                    if last_cue != (u, "unsure"):
                        state = "absent"
                    pending = []
                else:
                    state = "unsure"
                    pending = []
                last_cue = (u + size, ckind)
                u += size
        return status

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


def _cue(toks: list[_Token], seg: list[tuple[str, int]], u: int) -> tuple[int, CueKind] | None:
    """The longest cue starting at unit u of the segment: (number of words, kind)."""
    for words, kind in _CUES.get(toks[seg[u][1]].norm, ()):
        if _words_at(toks, seg, u, words):
            return len(words), kind
    return None


def _post_cue(toks: list[_Token], seg: list[tuple[str, int]], u: int) -> tuple[int, Status] | None:
    """A cue that starts at unit u and ends the segment, setting the findings before it: (words, status)."""
    for words, status in _POST_CUES.items():
        if len(seg) - u == len(words) and _words_at(toks, seg, u, words):
            return len(words), status
    return None


def _words_at(toks: list[_Token], seg: list[tuple[str, int]], u: int, words: tuple[str, ...]) -> bool:
    if u + len(words) > len(seg):
        return False
    for k, w in enumerate(words):
        kind, t = seg[u + k]
        if kind != "t" or toks[t].norm != w or (k and toks[t].gap not in (JOIN, SOFT)):
            return False
    return True


_ID_TOKEN = re.compile(r"[^\s,;]+")
_ID_BODY = re.compile(
    r"[(\[]*(?P<sign>[+\-!?]?)[(\[]*(?P<prefix>[A-Za-z][A-Za-z0-9_.\-]*):(?P<local>[^\s()\[\]]+?)[)\].:!?]*"
)
_ID_LIKE = re.compile(r"[A-Z][A-Z0-9_]*:\d+")
_SIGNS: dict[str, Status] = {"": "present", "+": "present", "-": "absent", "!": "absent", "?": "unsure"}
