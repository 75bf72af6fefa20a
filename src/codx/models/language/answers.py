"""Replies to a yes/no question ("Do you have a fever?"): present, absent, unsure, or None for free text.

A reply is read as an answer when, ignoring case, accents, apostrophes and surrounding whitespace, punctuation
and emoji, it is one of the phrases below or starts with one followed by a word break ("Yes, and I also have a
headache" -> present; the caller still runs the finding matcher on the whole text). The longest phrase wins,
so "not sure" is unsure, not "not", and "no sé" is unsure, not "no". Single letters ("y", "n") and a few words
("right", "not", "I have": "I have a headache" is free text) only count alone. Anything else is None, also
"yesterday..." and "never mind".

Choices: mild or occasional ("a little", "sometimes", "kind of") is present; "I think so" / "I don't think so"
are the usual polite yes / no; "maybe", "probably", "possibly" are unsure. A reply of only question marks is
unsure, a thumbs up / down is present / absent.

Languages: English, Spanish, French, Chinese (simplified and traditional), Arabic and Hindi. Chinese replies
need a break after the answer ("没有，..."), since without spaces "没有发烧" cannot be told from other text.
"""

from __future__ import annotations

import unicodedata

from codx.models.diagnosis.evidence import Status

#: Replies longer than this are free text, not answers (only their start is looked at anyway).
MAX_ANSWER_CHARS = 2000

_PRESENT = """
yes | y | yeah | yea | yep | yup | ya | yes i do | yes i have | i do | i have | i did | sure | of course | definitely |
absolutely | certainly | correct | right | true | affirmative | indeed | a little | a little bit | a bit | a lot |
sometimes | occasionally | often | always | kind of | kinda | sort of | somewhat | slightly | mildly | i think so |
si | claro | un poco | a veces | siempre | creo que si |
oui | ouais | un peu | parfois | souvent | toujours | bien sur |
是 | 是的 | 有 | 有的 | 对 | 对的 | 對 | 對的 | 嗯 | 有一点 | 有一點 | 有点 | 有點 |
一点点 | 一點點 | 有时候 | 有時候 | 偶尔 | 偶爾 |
نعم | أجل | ايوه | أحيانا | قليلا | شوية |
हाँ | हां | हा | जी | जी हाँ | जी हां | थोड़ा | थोड़ा सा | कभी कभी
"""
_ABSENT = """
no | nope | nah | n | never | not really | not at all | not that i know of | no way | none | nothing | negative |
no i dont | no i do not | i dont | i do not | i dont think so | not | not anymore | no never |
nunca | para nada | en absoluto |
non | jamais | pas vraiment | pas du tout |
没有 | 沒有 | 没 | 沒 | 不是 | 不 | 不对 | 不對 | 从来没有 | 從來沒有 |
لا | أبدا | ابدا | كلا |
नहीं | नही | जी नहीं | कभी नहीं | बिल्कुल नहीं
"""
_UNSURE = """
not sure | im not sure | i am not sure | unsure | dont know | i dont know | i do not know | do not know | dunno |
idk | maybe | perhaps | possibly | probably | probably not | maybe not | no idea | not certain | hard to say |
cant say | i cant tell | no clue | i guess | who knows |
no se | no lo se | tal vez | quizas | quiza | a lo mejor | no estoy seguro | no estoy segura |
je ne sais pas | je sais pas | sais pas | peut etre | je ne suis pas sur | je ne suis pas sure | pas sur | pas sure |
不知道 | 不清楚 | 不确定 | 不確定 | 可能 | 也许 | 也許 | 说不清 | 說不清 |
لا أعرف | لا اعرف | مش عارف | لست متأكدا | لست متأكدة | ربما | يمكن |
पता नहीं | नहीं पता | मालूम नहीं | शायद | पक्का नहीं
"""
#: Start like an answer but are not one.
_NOT_ANSWERS = "never mind | nevermind | no problem | no worries"

_EMOJI: dict[str, Status] = {"\N{THUMBS UP SIGN}": "present", "\N{THUMBS DOWN SIGN}": "absent"}
#: Only answers when alone: "right knee" or "not only..." are free text.
_EXACT_ONLY = {"y", "n", "ya", "right", "correct", "true", "not", "i do", "i have", "i did", "i dont", "i do not"}


def _norm(text: str) -> str:
    """NFKC, lower case, accents and apostrophes removed, hyphens and whitespace runs made one space."""
    s = unicodedata.normalize("NFKC", text).lower()
    s = s.replace("'", "").replace("\u2019", "").replace("`", "")
    if not s.isascii():
        s = unicodedata.normalize(
            "NFC", "".join(c for c in unicodedata.normalize("NFKD", s) if unicodedata.category(c) != "Mn")
        )
    s = s.replace("-", " ")
    return " ".join(s.split())


def _strip(s: str) -> str:
    """Whitespace, punctuation and symbols (emoji) removed from both ends."""
    start, end = 0, len(s)
    while start < end and _is_edge(s[start]):
        start += 1
    while end > start and _is_edge(s[end - 1]):
        end -= 1
    return s[start:end]


def _is_edge(c: str) -> bool:
    return c.isspace() or unicodedata.category(c)[0] in "PSZC"


def _table() -> dict[str, Status | None]:
    out: dict[str, Status | None] = {}
    for block, status in ((_PRESENT, "present"), (_ABSENT, "absent"), (_UNSURE, "unsure"), (_NOT_ANSWERS, None)):
        for phrase in block.split("|"):
            key = _norm(phrase)
            if key:
                out[key] = status  # type: ignore[assignment]
    return out


_ANSWERS = _table()
_BY_LENGTH = sorted(_ANSWERS, key=len, reverse=True)


def parse_answer(text: str) -> Status | None:
    """present / absent / unsure when the text answers a yes/no question, else None (see the module docstring)."""
    if not isinstance(text, str):
        return None
    raw = text.strip()[:MAX_ANSWER_CHARS]
    if not raw:
        return None
    norm = _strip(_norm(raw))
    if not norm:
        for c in raw:
            if c in _EMOJI:
                return _EMOJI[c]
        return "unsure" if set(raw) <= set("?\uff1f\u061f ") else None
    if norm in _ANSWERS:
        return _ANSWERS[norm]
    for phrase in _BY_LENGTH:
        if phrase in _EXACT_ONLY or not norm.startswith(phrase):
            continue
        nxt = norm[len(phrase)]
        if unicodedata.category(nxt)[0] not in "LMN":  # a word break after the phrase
            return _ANSWERS[phrase]
    return None
