"""Words of the six consultation languages with what separates them (clause break, comma, joiner, space):
the tokens both the finding matcher and the polarity rules read."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Literal, NamedTuple

Status = Literal["present", "absent", "unsure"]
Language = Literal["en", "es", "fr", "zh", "ar", "hi"]
LANGUAGES: tuple[Language, ...] = ("en", "es", "fr", "zh", "ar", "hi")
#: Characters read on each side of the mention (the clause around it, cut at this length).
WINDOW = 1000

# -- words ---------------------------------------------------------------------------------------------------
JOIN, SOFT, COMMA, STRONG, HARD_COMMA = 0, 1, 2, 3, 4  # what separates a word from the previous one
WORD = re.compile(r"[^\W_]+")
_STRONG = re.compile(r"[.!?;\n\r\u2028\u2029\u3002\uff01\uff1f\uff1b\u061f\u061b\u0964\u2026]")
_COMMA = re.compile(r"[,\uff0c\u3001\u060c]")
_JOIN = re.compile(r"(?:[^\S\r\n]|[-\u2010\u2011'\u2019/])*")


class Token(NamedTuple):
    start: int
    end: int
    norm: str  # folded word (cues are looked up with this)
    key: str  # folded word without plural (the matcher's phrases are looked up with this)
    case: str  # NFKC word, case kept (acronyms)
    gap: int  # JOIN / SOFT / COMMA / STRONG / HARD_COMMA: what separates it from the previous word


def fold(s: str) -> str:
    """NFKC, lower case, accents removed (English, Spanish, French)."""
    s = unicodedata.normalize("NFKC", s).lower()
    if s.isascii():
        return s
    decomposed = unicodedata.normalize("NFKD", s)
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if unicodedata.category(c) != "Mn"))


def plural(w: str) -> str:
    """A simple English singular: headaches -> headache, allergies -> allergy, rashes -> rash."""
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    if len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    if len(w) > 3 and w.endswith(("che", "she", "sse", "xe", "ze")):
        w = w[:-1]
    return w


def _gap(between: str, strong: re.Pattern[str], hard_comma: bool = False) -> int:
    """What separates two words: a clause break, a (Chinese full-width) comma, a joiner, or a space."""
    if strong.search(between):
        return STRONG
    if hard_comma and _ZH_HARD_COMMA.search(between):
        return HARD_COMMA
    if _COMMA.search(between):
        return COMMA
    return JOIN if _JOIN.fullmatch(between) else SOFT


def tokens(text: str) -> list[Token]:
    """English words (the finding matcher's tokens): runs of letters and digits."""
    out: list[Token] = []
    prev_end = 0
    for m in WORD.finditer(text):
        s, e = m.span()
        gap = _gap(text[prev_end:s], _STRONG)
        word = m.group()
        case = word if word.isascii() else unicodedata.normalize("NFKC", word)
        norm = fold(word)
        out.append(Token(s, e, norm, plural(norm), case, gap))
        prev_end = e
    return out


_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_MARKS = (
    "\u0300-\u036f\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e8\u06ea-\u06ed"
    "\u0900-\u0903\u093a-\u094f\u0951-\u0957\u0962\u0963"
)
#: One Han character, or a run of letters, digits and combining marks (Devanagari vowel signs, harakat).
_WORD_ANY = re.compile(rf"[{_HAN}]|(?:(?![{_HAN}])[^\W_]|[{_MARKS}])+")
STRONG_ANY = re.compile(r"[.!?;\n\r\u2028\u2029\u3002\uff01\uff1f\uff1b\u061f\u061b\u0964\u0965\u2026]")
_ZH_HARD_COMMA = re.compile(r"[,\uff0c]")
_AR_MARKS = re.compile(r"[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
_AR_MAP = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه"})
_HI_MAP = str.maketrans({"\u0901": None, "\u0902": None, "\u093c": None})
#: Traditional -> simplified, for the characters of the Chinese cue words.
_ZH_PAIRS = (
    "沒没 無无 許许 確确 說说 過过 認认 雖虽 還还 會会 覺觉 發发 現现 見见 這这 為为 麼么 樣样 時时 從从 來来 對对 "
    "頭头 問问 題题 嗎吗 絕绝 並并 兒儿 點点 幾几 應应 該该 懷怀 聽听 謂谓 夠够 總总 裡里 後后 陣阵 當当 與与 難难 "
    "燒烧 斷断 僅仅 錯错 腦脑 聲声 種种 麽么 啥啥 盡尽 雖虽 猜猜 適适 舒舒 睡睡 著着 ⻅见"
)
_ZH_MAP = str.maketrans({p[0]: p[1] for p in _ZH_PAIRS.split() if p[0] != p[1]})


@lru_cache(maxsize=65536)
def _fold_word(word: str, language: str) -> str:
    if language == "zh":
        return unicodedata.normalize("NFKC", word).lower().translate(_ZH_MAP)
    if language == "ar":
        return _AR_MARKS.sub("", unicodedata.normalize("NFKC", word)).translate(_AR_MAP)
    if language == "hi":
        return unicodedata.normalize("NFKC", word).translate(_HI_MAP)
    return fold(word)


def lang_tokens(text: str, language: str) -> list[Token]:
    """Words of any of the six languages (English: `tokens`)."""
    if language == "en":
        return tokens(text)
    out: list[Token] = []
    prev_end = 0
    prev_digit = False
    for m in _WORD_ANY.finditer(text):
        s, e = m.span()
        word = m.group()
        between = text[prev_end:s]
        digit = word[0].isdigit()
        if not between:
            gap = JOIN
        elif prev_digit and digit and between in (".", ","):
            gap = JOIN  # 38.5 / 38,5
        else:
            gap = _gap(between, STRONG_ANY, hard_comma=language == "zh")
        norm = _fold_word(word, language)
        out.append(Token(s, e, norm, norm, word, gap))
        prev_end = e
        prev_digit = word[-1].isdigit()
    return out
