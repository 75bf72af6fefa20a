"""Is a finding named in a sentence present, absent or unsure? Negation and uncertainty cues per language.

`polarity(text, start, end, language)` gives the status of the mention `text[start:end]` in English (en),
Spanish (es), French (fr), Chinese (zh), Arabic (ar) and Hindi (hi). The cues are data (the `_EN` ... `_HI`
tables below, written for this project); one engine reads them. `FindingMatcher` (matcher.py) decides the
status of its English mentions with the same engine and the English tables (`token_statuses`).

Words. Text is cut into words (Chinese: one word per Han character, so "没有" is the two words 没 有) and
folded per language: lower case; es / fr / en accents removed ("quizás" = "quizas"); Arabic diacritics and
tatweel removed, أ إ آ -> ا, ى -> ي, ة -> ه; Hindi nasal marks and nukta removed ("नहीं" = "नही"); Chinese
traditional characters of the cue words mapped to simplified ones. Cue phrases are folded the same way, so
both sides always agree. Arabic cues also match with the conjunction و attached ("ولا", "ولكن").

Clauses and lists. A clause ends at . ! ? ; line breaks (and ।, 。, ؟ ...) and at a clause word ("but":
pero / mais / 但是 / لكن / लेकिन ...): nothing crosses it. Commas and "and" words (y / et / 和 / و / और) cut a
clause into list items. A cue's scope runs from the cue to the end of its list item, and on into the next
items while they look like list items (a few words, no verb or subject such as "I have" / "tengo" / "عندي"):
"sin fiebre, tos ni mocos" -> all absent; "no tengo fiebre, tengo tos" -> tos present. In Chinese only the
enumeration comma 、 and 和 / 跟 / 与 continue a list; the ordinary comma ， ends the scope, as Chinese
punctuation intends ("我没有发烧，咳嗽": 咳嗽 present; "没有发烧、咳嗽": absent).

Cues before the mention. Negation -> absent ("no", "sin", "pas de", "没有", "لا", "बिना"); uncertainty ->
unsure ("maybe", "quizás", "peut-être", "可能", "ربما", "शायद"); the latest cue wins. Uncertainty before a
negation in the same list item stays unsure ("quizás no tenga fiebre", "creo que no tengo fiebre"; English:
only right before it, "maybe not"). A subject with a verb ("I have", "tengo", "j'ai", "有", "عندي") ends a
negation, except right after it ("no me duele", "لم يعد عندي"). Some phrases contain a negation word but are
not one, and shadow it: "no se me quita" (it does not go away), "pas mal de" (quite a lot of), "n'ai que"
(only have), "不舒服", "喘不过气", inability ("no puedo", "睡不着").

Cues after the mention. Hindi puts negation after the term ("बुखार नहीं है"): any cue that follows mentions
applies to them (the mentions since the last cue), and a following verb (है, था) does not undo it. In the
other languages a cue after the mention counts only at the end of its list item ("fiebre no", "发烧没有",
"咳嗽也没有", "la fièvre, je crois") and can reach back over earlier list items ("发烧、咳嗽都没有": both
absent). A negation after an unsure mention keeps it unsure ("शायद बुखार नहीं है").

Double negation is not resolved: a second negation keeps "absent". That is right for the negative concord of
es / fr / ar / hi ("no tengo ningún dolor", "je n'ai pas de fièvre", "न ... नहीं") and wrong only for the
rare "no es que no tenga fiebre".

Questions (`polarity` only; the matcher does not use this rule). A mention in a yes/no question is unsure:
"Do I have a fever?", "¿Tengo fiebre?", "我发烧了吗？", "هل عندي حمى؟", "क्या मुझे बुखार है?". The question is the
last comma piece before the question mark (Spanish: from ¿), or a clause opened by هل / क्या / est-ce que.
A question that takes the finding as given keeps it present: wh-words and possessives ("Why do I have a
headache?", "¿Por qué tengo tanta tos?", "Is my cough serious?", "为什么我一直咳嗽？"); so does "I don't
know why" ("no sé por qué me sale sangre"). When the writer answers the question right after it ("Fever?
No.", "发烧？没有。"), the answer decides (`answers.parse_answer`).

History. A past mention is present ("tuve fiebre la semana pasada"); "no longer" is absent ("ya no tengo
fiebre", "je n'ai plus de fièvre", "不再咳嗽", "لم يعد عندي سعال", "अब खांसी नहीं है"). A later elliptic "but
not now" does not reach back over "but": "I had a fever but not anymore" reads fever as present (history).

Family mentions ("my mother has diabetes") are out of scope: the caller decides whose finding it is.

English. The English tables are the finding matcher's, and `token_statuses(..., "en", known=True)` is
exactly its former decision (so its behaviour did not change). `polarity(..., "en")` reads the same tables
and rules; it differs from the matcher only where it cannot know the other findings: a comma piece continues
a list when it is short and has no verb (the matcher: when it holds only findings and filler words), a cue
after the mentions never reaches back over a clause-like piece ("I have a cough, fever absent": cough stays
present; the matcher still reads it absent), and the question rule.

`polarity` never raises: text that is not a string, offsets out of range or reversed, unknown languages
(read as English) all give an answer. Only the clause around the mention is read (at most `WINDOW` characters
on each side), so a call costs well under a millisecond.
"""

from __future__ import annotations

import operator
import re
from typing import NamedTuple

from codx.models.language.answers import parse_answer
from codx.models.language.cues import CUES, Cue, Cues, Phrase, PhraseTable, Pre
from codx.models.language.words import (
    COMMA,
    HARD_COMMA,
    JOIN,
    LANGUAGES,
    SOFT,
    STRONG,
    STRONG_ANY,
    WINDOW,
    Status,
    Token,
    lang_tokens,
)

__all__ = ["CUES", "LANGUAGES", "Status", "lang_tokens", "polarity", "token_statuses"]

Unit = tuple[str, int]  # ("m", mention number) or ("t", token index)


class Segment(NamedTuple):
    level: int  # the boundary before it: 3 sentence, 2 clause word / Chinese comma, 1 comma, 0 "and"
    units: list[Unit]
    first: int  # token index of its first unit
    last: int  # token index of its last unit


def phrase_at(toks: list[Token], idx: list[int], u: int, table: PhraseTable) -> tuple[Phrase, object] | None:
    """The longest phrase of `table` on the tokens idx[u:], words after the first joined by spaces only."""
    if idx[u] < 0:
        return None
    entries = table.get(toks[idx[u]].norm)
    if not entries:
        return None
    for words, value in entries:
        if u + len(words) > len(idx):
            continue
        for k in range(1, len(words)):
            t = idx[u + k]
            if t < 0 or toks[t].norm != words[k] or toks[t].gap not in (JOIN, SOFT):
                break
        else:
            return words, value
    return None


def _unit_tokens(units: list[Unit]) -> list[int]:
    return [x if kind == "t" else -1 for kind, x in units]


def _segments(toks: list[Token], spans: list[tuple[int, int]], cues: Cues) -> list[Segment]:
    """Clause and list pieces of the text; each mention (first token, number of tokens) is one unit."""
    starts = {i: k for k, (i, _) in enumerate(spans)}
    covered = {i + j for i, n in spans for j in range(n)}
    segments: list[Segment] = []
    units: list[Unit] = []
    first = last = 0
    level = 3

    def close(new_level: int) -> None:
        nonlocal units, level
        if units:
            segments.append(Segment(level, units, first, last))
            units, level = [], new_level
        else:
            level = max(level, new_level)

    free = [-1 if i in covered else i for i in range(len(toks))]
    i = 0
    while i < len(toks):
        gap = toks[i].gap if i else STRONG
        if gap == STRONG:
            close(3)
        elif gap == HARD_COMMA:
            close(2)
        elif gap == COMMA:
            close(1)
        if i in starts:
            k = starts[i]
            if not units:
                first = i
            units.append(("m", k))
            i += spans[k][1]
            last = i - 1
            continue
        brk = phrase_at(toks, free, i, cues.breaks)
        if brk is not None:
            cue = phrase_at(toks, free, i, cues.cues)
            if cue is None or len(cue[0]) <= len(brk[0]):
                close(int(brk[1]))  # type: ignore[call-overload]
                i += len(brk[0])
                continue
        if not units:
            first = i
        units.append(("t", i))
        last = i
        i += 1
    close(3)
    return segments


def _cue_at(toks: list[Token], idx: list[int], u: int, cues: Cues) -> tuple[Phrase, Cue] | None:
    return phrase_at(toks, idx, u, cues.cues)  # type: ignore[return-value]


def _shape(toks: list[Token], seg: Segment, idx: list[int], cues: Cues) -> int:
    """Open reading: 0 only cues and fillers, 1 a list item, 2 a clause (a verb, a subject, many words)."""
    unknown = 0
    mention = False
    u = 0
    while u < len(idx):
        if idx[u] < 0:
            mention = True
            u += 1
            continue
        hit = _cue_at(toks, idx, u, cues)
        if hit is not None:
            if hit[1].pre == "affirm":
                return 2
            u += len(hit[0])
            continue
        word = toks[idx[u]].norm
        if word in cues.stops:
            return 2
        if word not in cues.fillers:
            unknown += 1
        u += 1
    if unknown > cues.max_unknown:
        return 2
    return 1 if mention or unknown else 0


def _tail(toks: list[Token], idx: list[int], u: int, cues: Cues) -> bool:
    """Only cues and fillers from unit u to the end of the list item."""
    while u < len(idx):
        if idx[u] < 0:
            return False
        hit = _cue_at(toks, idx, u, cues)
        if hit is not None:
            u += len(hit[0])
        elif toks[idx[u]].norm in cues.fillers:
            u += 1
        else:
            return False
    return True


def _combine(current: Status, after: Status) -> Status:
    """A cue after a mention on top of the status the cues before it gave."""
    if after == "present":
        return current
    if after == "absent":
        return "unsure" if current == "unsure" else "absent"
    return "unsure"


def token_statuses(
    toks: list[Token], spans: list[tuple[int, int]], language: str = "en", known: bool = True
) -> list[Status]:
    """The status of each mention (first token, number of tokens; in text order, not overlapping).

    `known`: the spans are all the findings in the text, other words are not findings (the matcher); a piece
    after a comma or "and" continues a list only when it holds nothing but mentions and filler words. Open
    reading (`known=False`, `polarity`): other words may be findings too; a piece continues a list while it
    is short and has no verb or subject."""
    cues = CUES.get(language, CUES["en"])
    segments = _segments(toks, spans, cues)
    status: list[Status] = ["present"] * len(spans)
    state: Status | None = None
    pending: list[int] = []  # mentions since the last cue, which a cue after them may set
    closed = False  # a cue after them has been read: the next mention starts a new group
    prev_list = False
    for seg in segments:
        idx = _unit_tokens(seg.units)
        if known:
            has_match = any(kind == "m" for kind, _ in seg.units)
            listish = has_match and all(kind == "m" or toks[x].norm in cues.fillers for kind, x in seg.units)
            if seg.level >= 2 or not listish:
                state, pending = None, []
        else:
            shape = _shape(toks, seg, idx, cues)
            if seg.level >= 2 or shape == 2:
                state, pending, closed = None, [], False
            elif shape == 1 and not prev_list:
                pending, closed = [], False
            prev_list = shape == 1 or (shape == 0 and prev_list)
        if cues.legacy:
            state, pending = _walk_legacy(toks, seg, idx, cues, status, state, pending)
        else:
            state, pending, closed = _walk(toks, seg, idx, cues, status, state, pending, closed, known)
    return status


def _walk_legacy(
    toks: list[Token],
    seg: Segment,
    idx: list[int],
    cues: Cues,
    status: list[Status],
    state: Status | None,
    pending: list[int],
) -> tuple[Status | None, list[int]]:
    """English, as the finding matcher always read it: a cue after the mentions counts only when it ends the
    list item exactly and then sets them; uncertainty beats negation only right before it ("maybe not")."""
    last_cue: tuple[int, Pre | None] | None = None  # (unit after the cue, its kind)
    u = 0
    units = seg.units
    while u < len(units):
        kind, x = units[u]
        if kind == "m":
            status[x] = state or "present"
            pending.append(x)
            u += 1
            continue
        if pending and len(units) - u <= 2:
            post = _post_exact(toks, idx, u, cues)
            if post:
                for k in pending:
                    status[k] = post[1]
                pending = []
                u += post[0]
                continue
        hit = _cue_at(toks, idx, u, cues)
        if hit is None or hit[1].pre is None:
            u += 1
            continue
        size, ckind = len(hit[0]), hit[1].pre
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
    return state, pending


def _post_exact(toks: list[Token], idx: list[int], u: int, cues: Cues) -> tuple[int, Status] | None:
    for words, status in cues.post_exact.items():
        if len(idx) - u != len(words):
            continue
        if all(idx[u + k] >= 0 and toks[idx[u + k]].norm == w for k, w in enumerate(words)) and all(
            toks[idx[u + k]].gap in (JOIN, SOFT) for k in range(1, len(words))
        ):
            return len(words), status
    return None


def _walk(
    toks: list[Token],
    seg: Segment,
    idx: list[int],
    cues: Cues,
    status: list[Status],
    state: Status | None,
    pending: list[int],
    closed: bool,
    known: bool,
) -> tuple[Status | None, list[int], bool]:
    """One list item, for every language but English (see the module docstring)."""
    unsure_here = False
    neg_end = -1  # the unit right after the last negation: "no me duele", "لم يعد عندي" stay negated
    u = 0
    units = seg.units
    while u < len(units):
        kind, x = units[u]
        if kind == "m":
            status[x] = state or "present"
            if closed:
                pending, closed = [], False
            pending.append(x)
            u += 1
            continue
        hit = _cue_at(toks, idx, u, cues)
        if hit is None:
            if not known and closed and toks[x].norm not in cues.fillers:
                pending, closed = [], False  # another word, maybe another finding, after the cue
            u += 1
            continue
        words, cue = hit
        size = len(words)
        if cue.post and pending and (cues.post_anywhere or _tail(toks, idx, u + size, cues)):
            for k in pending:
                status[k] = _combine(status[k], cue.post)
            closed = True
        elif cue.pre == "neg":
            if not unsure_here:
                state = "absent"
            pending, closed = [], False
            neg_end = u + size
        elif cue.pre == "unsure":
            state = "unsure"
            unsure_here = True
            pending, closed = [], False
        elif cue.pre == "affirm" and state == "absent" and u != neg_end:
            state = None
        u += size
    return state, pending, closed


# -- questions -----------------------------------------------------------------------------------------------
_QUESTION_MARKS = "?\uff1f\u061f"


def _questioned(text: str, toks: list[Token], span: tuple[int, int], cues: Cues) -> bool:
    """Is the mention in a yes/no question that does not take it as given (see the module docstring)?"""
    i, n = span
    a = i
    while a > 0 and toks[a].gap != STRONG:
        a -= 1
    b = i + n
    while b < len(toks) and toks[b].gap != STRONG:
        b += 1
    after = text[toks[b - 1].end : toks[b].start if b < len(toks) else len(text)]
    clause = toks[a:b]
    free = [-1 if i <= t < i + n else t for t in range(a, b)]
    asks = any(c in after for c in _QUESTION_MARKS) or clause[-1].norm in cues.question_last
    opener = phrase_at(toks, free, 0, cues.question_first) is not None
    if not (asks or opener):
        return False
    clause_text = text[toks[a].start : toks[i].start]
    if "\u00bf" in clause_text:  # Spanish: the question starts at ¿
        q = text.rfind("\u00bf", toks[a].start, toks[i].start)
        lo = next(k for k in range(a, i + 1) if k == i or toks[k].start > q)
    elif opener:
        lo = a
    else:
        segments = _segments(toks[a:b], [(i - a, n)], cues)
        k = next(j for j, s in enumerate(segments) if s.first <= i - a <= s.last)
        if any(s.level >= 1 for s in segments[k + 1 :]):
            return False  # "I have a fever, is that bad?"
        while k > 0 and segments[k].level == 0:
            k -= 1
        lo = a + segments[k].first
    rel = [-1 if i <= t < i + n else t for t in range(lo, b)]
    return not any(phrase_at(toks, rel, u, cues.presuppose) for u in range(len(rel)) if rel[u] >= 0)


# -- the public function -------------------------------------------------------------------------------------
def _language(language: object) -> str:
    if isinstance(language, str):
        code = language.strip().lower()[:2]
        if code in CUES:
            return code
    return "en"


def _breaks_sentence(text: str, k: int, language: str) -> bool:
    """Does the character at k end a sentence? (Not the point of 38.5 outside English.)"""
    if language != "en" and text[k] in ".," and 0 < k < len(text) - 1:
        return not (text[k - 1].isdigit() and text[k + 1].isdigit())
    return True


def _window(text: str, start: int, end: int, language: str) -> tuple[int, int]:
    """The sentence around [start, end), at most WINDOW characters on each side."""
    lo = max(0, start - WINDOW)
    cut = -1
    for m in STRONG_ANY.finditer(text, lo, start):
        if _breaks_sentence(text, m.start(), language):
            cut = m.start()
    if cut >= 0:
        lo = cut + 1
    hi = min(len(text), end + WINDOW)
    for m in STRONG_ANY.finditer(text, end, hi):
        if _breaks_sentence(text, m.start(), language):
            hi = m.start()
            while hi < len(text) and hi < end + WINDOW and STRONG_ANY.match(text, hi):
                hi += 1
            break
    return lo, hi


def _span(toks: list[Token], start: int, end: int) -> tuple[int, int] | None:
    """The tokens the mention covers (first, number): those overlapping it, else the word at or after it."""
    inside = [k for k, t in enumerate(toks) if t.end > start and t.start < end]
    if inside:
        return inside[0], inside[-1] - inside[0] + 1
    for k, t in enumerate(toks):
        if t.end > start:
            return k, 1
    return (len(toks) - 1, 1) if toks else None


def polarity(text: str, start: int, end: int, language: str) -> Status:
    """The status of the mention `text[start:end]` from the cues of its clause (see the module docstring).

    Never raises: offsets are clamped (and swapped when reversed), an empty span reads the word at it, an
    unknown language is read as English, anything that is not text is "present"."""
    if not isinstance(text, str) or not text:
        return "present"
    try:
        s, e = operator.index(start), operator.index(end)
    except TypeError:
        return "present"
    n = len(text)
    s, e = min(max(s, 0), n), min(max(e, 0), n)
    if e < s:
        s, e = e, s
    lang = _language(language)
    lo, hi = _window(text, s, e, lang)
    body = text[lo:hi]
    toks = lang_tokens(body, lang)
    span = _span(toks, s - lo, e - lo)
    if span is None:
        return "present"
    status = token_statuses(toks, [span], lang, known=False)[0]
    if status == "present" and _questioned(body, toks, span, CUES[lang]):
        return _answer_after(text, hi) or "unsure"
    return status


_ANSWER_END = re.compile(r"[.!?;,\n\r\u3002\uff01\uff1f\uff1b\uff0c\u3001\u060c\u061f\u061b\u0964\u0965\u2026]")


def _answer_after(text: str, at: int) -> Status | None:
    """The writer's own answer right after a question: "Fever? No." -> absent ("answers.py" decides)."""
    m = _ANSWER_END.search(text, at, at + 200)
    return parse_answer(text[at : m.start() if m else at + 200]) if at < len(text) else None
