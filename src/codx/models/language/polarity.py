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

import dataclasses
import operator
import re
import unicodedata
from functools import lru_cache
from typing import Literal, NamedTuple

from codx.models.language.answers import parse_answer

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
_STRONG_ANY = re.compile(r"[.!?;\n\r\u2028\u2029\u3002\uff01\uff1f\uff1b\u061f\u061b\u0964\u0965\u2026]")
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
            gap = _gap(between, _STRONG_ANY, hard_comma=language == "zh")
        norm = _fold_word(word, language)
        out.append(Token(s, e, norm, norm, word, gap))
        prev_end = e
        prev_digit = word[-1].isdigit()
    return out


# -- cue tables ----------------------------------------------------------------------------------------------
Pre = Literal["neg", "unsure", "affirm"]


class Cue(NamedTuple):
    pre: Pre | None  # its meaning before a mention (None: a phrase that only shadows shorter cues)
    post: Status | None  # its meaning after mentions (None: not read after them)


Phrase = tuple[str, ...]
PhraseTable = dict[str, tuple[tuple[Phrase, object], ...]]  # first word -> (words, value), longest first


@dataclasses.dataclass(frozen=True)
class Cues:
    """The cue words of one language, as folded word tuples (see `_build`)."""

    language: str
    cues: PhraseTable  # value: Cue
    breaks: PhraseTable  # value: 2 clause word ("but"), 0 list word ("and")
    fillers: frozenset[str]  # words that may sit in a list item
    stops: frozenset[str]  # words that make a comma piece a clause, not a list item (open reading)
    max_unknown: int  # more other words than this: a clause, not a list item (open reading)
    presuppose: PhraseTable  # wh-words and possessives: a question that takes the finding as given
    question_first: PhraseTable  # clause-initial words that open a yes/no question (هل, क्या)
    question_last: frozenset[str]  # clause-final question particles (吗)
    post_anywhere: bool = False  # cues after mentions apply wherever they are (Hindi)
    legacy: bool = False  # English: the finding matcher's rules (see `_walk_legacy`)
    post_exact: dict[Phrase, Status] = dataclasses.field(default_factory=dict)  # legacy: cues that end a list item


def _phrases(block: str) -> list[str]:
    return [" ".join(p.split()) for p in block.split("|") if p.strip()]


def _key(phrase: str, language: str) -> Phrase:
    return tuple(t.norm for t in lang_tokens(phrase, language))


def _table(items: dict[Phrase, object]) -> PhraseTable:
    table: dict[str, list[tuple[Phrase, object]]] = {}
    for words, value in items.items():
        if words:
            table.setdefault(words[0], []).append((words, value))
    return {k: tuple(sorted(v, key=lambda e: -len(e[0]))) for k, v in table.items()}


def _variants(words: Phrase, language: str) -> list[Phrase]:
    """The phrase, and in Arabic also with the conjunction و attached to its first word."""
    if language == "ar" and not words[0].startswith("و"):
        return [words, ("و" + words[0], *words[1:])]
    return [words]


def _build(
    language: str,
    *,
    neg: str = "",
    unsure: str = "",
    affirm: str = "",
    shadow: str = "",
    post_neg: str = "",
    post_unsure: str = "",
    post_present: str = "",
    unsure_after: bool = True,
    clause: str = "",
    items: str = "",
    fillers: str = "",
    stops: str = "",
    max_unknown: int = 3,
    presuppose: str = "",
    question_first: str = "",
    question_last: str = "",
    post_anywhere: bool = False,
) -> Cues:
    """Cues from |-separated phrases written as people write them (folded and split here).

    `neg` / `unsure` / `affirm` are read before a mention, `post_*` after it; `unsure_after`: every
    uncertainty cue is also read after the mention ("tengo fiebre, creo"). A phrase with two meanings before
    a mention is a mistake in the table and raises."""
    pre: dict[Phrase, Pre | None] = {}
    post: dict[Phrase, Status] = {}

    def put_pre(block: str, kind: Pre | None) -> None:
        for p in _phrases(block):
            for words in _variants(_key(p, language), language):
                if words in pre and pre[words] != kind:
                    raise ValueError(f"{language}: {p!r} is both {pre[words]} and {kind}")
                pre[words] = kind

    def put_post(block: str, status: Status) -> None:
        for p in _phrases(block):
            for words in _variants(_key(p, language), language):
                if words in post and post[words] != status:
                    raise ValueError(f"{language}: {p!r} is both {post[words]} and {status} after a mention")
                post[words] = status

    put_pre(neg, "neg")
    put_pre(unsure, "unsure")
    put_pre(affirm, "affirm")
    put_pre(shadow, None)
    put_post(post_neg, "absent")
    put_post(post_unsure, "unsure")
    if unsure_after:
        put_post(unsure, "unsure")
    put_post(post_present, "present")
    cues = {w: Cue(pre.get(w), post.get(w)) for w in {*pre, *post}}
    breaks: dict[Phrase, object] = {}
    for block, level in ((items, 0), (clause, 2)):
        for p in _phrases(block):
            for words in _variants(_key(p, language), language):
                breaks[words] = level

    def words(block: str) -> frozenset[str]:
        return frozenset(w for p in _phrases(block) for w in _key(p, language))

    def table(block: str) -> PhraseTable:
        return _table({w: True for p in _phrases(block) for w in _variants(_key(p, language), language)})

    return Cues(
        language=language,
        cues=_table(cues),  # type: ignore[arg-type]
        breaks=_table(breaks),
        fillers=words(fillers),
        stops=words(stops),
        max_unknown=max_unknown,
        presuppose=table(presuppose),
        question_first=table(question_first),
        question_last=words(question_last),
        post_anywhere=post_anywhere,
    )


# English: the finding matcher's tables (written in folded form: apostrophes are word breaks, "don t").
_CONTRACTED = "don doesn didn haven hasn hadn isn wasn aren weren won can couldn shouldn wouldn ain".split()
EN_NEG = """
    no | not | without | denies | denied | deny | denying | never | none | nor | neither | nothing | free of |
    negative for | absence of | ruled out | dont | doesnt | didnt | havent | hasnt | hadnt | isnt | wasnt | arent |
    werent | cant | cannot | couldnt | aint | no longer | no sign of | no signs of |
""" + " | ".join(f"{c} t" for c in _CONTRACTED)
EN_UNSURE = """
    maybe | might | possibly | possible | perhaps | probably | unsure | uncertain | questionable | suspected |
    not sure | not certain | no idea | i think | i guess | i believe | don t know | dont know | do not know |
    don t think | dont think | do not think | could be | may be | may have | rule out | idk
"""
#: After the findings, ending their list item: "fever absent", "cough: none", "rash ruled out" ("cough yes" and
#: "cough present" keep them present and out of a later list's negation).
EN_POST = "absent | negative | no | none | denied | ruled out | not present | not seen | not found"
_SUBJECTS = "i he she they we it there patient child kid son daughter baby".split()
_VERBS = "have has had ve got get gets am m is s are re was were feel feels felt do does did".split()
EN_AFFIRM = " | ".join(f"{s} {v}" for s in _SUBJECTS for v in _VERBS)
EN_CLAUSE = "but | although | though | however | except | whereas"
EN_ITEMS = "and"
EN_FILLERS = """a an the or nor and any some other also either neither no not none never without maybe possibly perhaps
    probably really etc of my his her their sign signs symptom symptoms recent new much many more too yes absent
    negative"""


def _english() -> Cues:
    base = _build(
        "en",
        neg=EN_NEG,
        unsure=EN_UNSURE,
        affirm=EN_AFFIRM,
        unsure_after=False,
        clause=EN_CLAUSE,
        items=EN_ITEMS,
        fillers=" | ".join(EN_FILLERS.split()),
        stops=" | ".join([*_SUBJECTS, *_VERBS, "just", "only", "still", "also"]),
        presuppose="why | how | when | what | where | which | who | my | our | his | her | their",
    )
    post: dict[Phrase, Status] = {_key(p, "en"): "absent" for p in _phrases(EN_POST)}
    post.update({("yes",): "present", ("present",): "present"})
    return dataclasses.replace(base, legacy=True, post_exact=post)


_ES = dict(
    neg="""no | sin | nunca | jamás | ningún | ninguna | ninguno | ningunos | ningunas | ni | tampoco | nada de |
        niega | niego | negó | niegan | negativo para | ausencia de | ya no | no tengo | no tiene | no presenta |
        no he tenido | no ha tenido | no hay | libre de | nunca he tenido | ni siquiera""",
    unsure="""tal vez | talvez | quizás | quizá | posiblemente | probablemente | puede que | puede ser | podría ser |
        podría | podría tener | a lo mejor | creo que | creo | me parece que | me parece | parece que | parece |
        supongo que | supongo | sospecho | sospecho que | no estoy seguro | no estoy segura | no sé | no sé si |
        no lo sé | no creo | no creo que | dudo | dudo que | es posible | posible | sospecha de | no estoy seguro de |
        no estoy segura de | igual es | será""",
    affirm="""tengo | tiene | tenía | tuve | tuvo | he tenido | siento | sentí | me siento | me duele | me duelen |
        me pica | hay | estoy | sí tengo | noto | presento | presenta | padezco | sufro de | me da | me dan |
        no se me quita | no se me va | no se quita | no se va | no se me pasa | no me deja | no puedo |
        no para | no paro de | no dejo de""",
    shadow="no sé por qué | no sé porqué | no sé cómo | no entiendo por qué",
    post_neg="""no | tampoco | nunca | ninguna | ninguno | nada | ausente | negativo | negativa | no tengo |
        no he tenido | descartado | descartada | para nada | en absoluto""",
    post_unsure="o no | no sé | no estoy seguro | no estoy segura",
    post_present="sí | presente",
    clause="""pero | aunque | sin embargo | excepto | salvo | sino | mientras que | no obstante | en cambio |
        aparte de eso""",
    items="y | e",
    fillers="""de | del | la | el | los | las | un | una | unos | unas | o | u | ni | mucho | mucha | muy | poco |
        nada | algo | más | ya | a | con | al | mis | tipo | ningún | ninguna | ninguno | ahora | hoy | nunca""",
    stops="""tengo | tiene | tenía | tuve | siento | me | yo | él | ella | es | son | está | estoy | hay | noto |
        solo | sólo | solamente | también | todavía | aún | sigo | sigue""",
    presuppose="""por qué | porque | cómo | cuándo | cuánto | cuánta | cuántos | cuántas | dónde | qué hago |
        qué puedo | qué tomo | mi | mis""",
)

_FR = dict(
    neg="""ne | n | pas | pas de | pas d | sans | jamais | aucun | aucune | ni | non | rien | nie | nié | niée |
        nient | absence de | n ai pas | n ai plus | ne plus | pas du tout | plus de | n a pas | n a plus |
        je n ai jamais eu""",
    unsure="""peut-être | peut être | je ne suis pas sûr | je ne suis pas sûre | je suis pas sûr | je suis pas sûre |
        pas sûr | pas sûre | pas certain | pas certaine | je ne sais pas | je sais pas | ne sais pas | sais pas |
        il me semble | il semble | semble | on dirait | je pense | je crois | je ne pense pas | je pense pas |
        je ne crois pas | je crois pas | ne pense pas | ne crois pas | possiblement | probablement | possible |
        éventuellement | sans doute | je me demande | je me demande si | soupçon de | suspicion de | il se peut |
        il est possible | pourrait | pourrait être | j ai l impression | l impression | je suppose""",
    affirm="""j ai | il a | elle a | il y a | je sens | je ressens | je me sens | je suis | j avais | j ai eu |
        j ai encore | je n ai que | n ai que | n a que | n avais que | ne peux pas | n arrive pas | n arrive pas à |
        ne peut pas | ne passe pas | ne part pas | ne s arrête pas | n arrête pas de | pas mal | pas mal de""",
    shadow="je ne sais pas pourquoi | je sais pas pourquoi | ne sais pas pourquoi | je ne comprends pas pourquoi",
    post_neg="""non | pas | aucune | aucun | jamais | absent | absente | absents | absentes | négatif | négative |
        non plus | pas non plus | pas du tout""",
    post_unsure="ou pas | ou non",
    post_present="oui | présent | présente",
    clause="""mais | cependant | pourtant | bien que | quoique | par contre | sauf | toutefois | en revanche |
        alors que | néanmoins | à part ça""",
    items="et",
    fillers="""de | du | des | la | le | les | l | d | un | une | ou | ni | mes | ma | mon | ses | sa | son | tout |
        très | trop | peu | beaucoup | plus | aucun | aucune | en | ce | moment | depuis""",
    stops="""je | j | il | elle | on | ai | a | est | suis | sens | avais | y | seulement | juste | que | aussi |
        encore | toujours""",
    presuppose="""pourquoi | comment | quand | combien | quel | quelle | quels | quelles | que faire | mon | ma |
        mes""",
    question_first="est-ce que | est-ce qu",
)

_ZH = dict(
    neg="""没有 | 没 | 无 | 不 | 否认 | 未 | 并无 | 并没有 | 并不 | 不是 | 从来没有 | 从没 | 从未 | 从不 | 毫无 |
        不再 | 已经不 | 已经没有 | 也没有 | 也不 | 都没有 | 一点也不 | 一点都不 | 没什么 | 没啥 | 未见 | 未发现 |
        排除""",
    unsure="""可能 | 也许 | 或许 | 好像 | 似乎 | 不确定 | 不太确定 | 说不清 | 说不准 | 不知道 | 不清楚 | 大概 |
        怀疑 | 疑似 | 感觉像 | 像是 | 有可能 | 我觉得是 | 觉得是 | 我想 | 估计 | 不敢肯定 | 拿不准 | 是不是 |
        有没有 | 会不会 | 算不算 | 不太清楚 | 不一定 | 应该 | 应该是""",
    affirm="""有 | 我有 | 还有 | 觉得 | 感觉 | 感到 | 不舒服 | 不停 | 不断 | 不了 | 不住 | 不但 | 不仅 | 不错 |
        不过气 | 睡不着 | 吃不下 | 受不了 | 止不住 | 停不下来 | 不行 | 没完没了""",
    shadow="不知道为什么 | 不明白为什么 | 不知道怎么",
    post_neg="没有 | 没 | 无 | 也没有 | 都没有 | 没有了 | 也没 | 都没 | 一直没有 | 从来没有",
    post_present="有 | 也有 | 都有",
    clause="但是 | 但 | 不过 | 可是 | 然而 | 只是 | 却 | 虽然 | 尽管 | 除了",
    items="和 | 跟 | 与 | 及 | 以及",
    fillers="""的 | 了 | 也 | 都 | 啊 | 呀 | 呢 | 吧 | 哦 | 嘛 | 或 | 或者 | 很 | 太 | 过 | 点 | 一 | 倒 | 是 |
        什么 | 任何""",
    stops="我 | 他 | 她 | 有 | 还 | 只 | 就 | 又",
    max_unknown=8,
    presuppose="为什么 | 怎么 | 多久 | 什么时候 | 多少 | 哪 | 几天 | 我的 | 老是 | 一直 | 总是",
    question_last="吗 | 么",
)

_AR = dict(
    neg="""لا | ليس | ليست | لست | لسنا | لم | لن | بدون | دون | من دون | من غير | بلا | غير | ينفي | تنفي | أنفي |
        نفى | ما عندي | ما عنده | ما عندها | ماعندي | ما في | مافي | ما فيه | ما كان عندي | ما حسيت | ما أحس |
        ما اشعر | مش | مو | مافيش | ما فيش | لا يوجد | لا توجد | ليس لدي | ليس عندي | لم يعد | لم تعد | لم أعد |
        لم يكن | لم تكن | لم أكن | لا أعاني من | لا أشعر | لا أحس | عدم | أبدا""",
    unsure="""ربما | قد يكون | قد تكون | قد أكون | يمكن | ممكن | من الممكن | محتمل | من المحتمل | احتمال | لعل |
        لعله | أظن | أعتقد | يبدو | يبدو أن | يبدو لي | على ما يبدو | على ما أظن | لست متأكد | لست متأكدا |
        لست متأكدة | غير متأكد | غير متأكدة | مش متأكد | مش متأكدة | مو متأكد | لا أعرف | لا أدري | ما أعرف |
        ما بعرف | مش عارف | لا أظن | لا أعتقد | ما أظن | أشك | أشك أن | يشتبه | اشتباه | أحتمل | ربما لا""",
    affirm="""عندي | لدي | عنده | عندها | لديه | لديها | أعاني | أعاني من | أشعر | أحس | حاسس | حاسة | يوجد | فيه |
        صار عندي | أصبت | أصابني | لا أستطيع | ما أقدر | لا أقدر | مش قادر | لا يتوقف | ما يوقف | لا يزول |
        ما راح""",
    shadow="لا أعرف لماذا | ما أعرف ليش | لا أفهم لماذا | مش عارف ليش",
    post_neg="""لا | أبدا | غير موجود | غير موجودة | لا يوجد | لا توجد | منفي | سلبي | سلبية | ولا مرة""",
    post_present="نعم | موجود | موجودة",
    clause="""لكن | لكنه | لكنها | لكني | لكنني | بس | إلا أن | غير أن | بينما | مع ذلك | رغم | رغم أن | بالرغم |
        إلا | عدا | ما عدا | سوى | أما""",
    items="و",
    fillers="""من | أي | أو | و | في | على | مع | شيء | كثير | قليل | شديد | شديدة | خفيف | خفيفة | الآن | اليوم""",
    stops="""أنا | هو | هي | فقط | أيضا | كمان | كذلك | عندي | لدي | أشعر | أحس""",
    presuppose="""لماذا | ليش | كيف | متى | كم | ماذا | شو | ايش | وش | ما سبب | ما هو سبب""",
    question_first="هل",
)

_HI = dict(
    neg="नहीं | नही | न | ना | बिना | कभी नहीं | मत | बिल्कुल नहीं | बिलकुल नहीं | कोई नहीं",
    unsure="""शायद | हो सकता है | हो सकती है | हो सकते हैं | पता नहीं | नहीं पता | मालूम नहीं | नहीं मालूम |
        पक्का नहीं | यकीन नहीं | पक्का नहीं पता | लगता है | ऐसा लगता है | संभवतः | संभव है | शक है |
        शायद नहीं | कह नहीं सकता | कह नहीं सकती | क्या पता | नहीं लगता | नहीं लगती | मुझे नहीं लगता""",
    affirm="के | नहीं रुक | नहीं रुकती | नहीं रुकता | नहीं पा रहा | नहीं पा रही | नहीं जा रहा | नहीं जा रही",
    shadow="पता नहीं क्यों | समझ नहीं आता क्यों",
    post_neg="""नहीं | नही | ना | कभी नहीं | बिल्कुल नहीं | बिलकुल नहीं | भी नहीं | अब नहीं | नहीं लगता |
        नहीं लगती | नहीं लगते""",
    post_unsure="""या नहीं | कि नहीं | शायद | हो सकता है | हो सकती है | हो सकते हैं | पता नहीं | मालूम नहीं |
        पक्का नहीं | यकीन नहीं | शायद नहीं | कह नहीं सकता | कह नहीं सकती | संभवतः""",
    unsure_after=False,
    post_present="""है | हैं | हूं | हूँ | था | थी | थे | हुआ | हुई | हुए | रहा | रही | रहे | होता | होती | होते | हो |
        गया | गई | आया | आई | आता | आती | हां | हाँ""",
    clause="लेकिन | पर | मगर | परन्तु | परंतु | किंतु | किन्तु | बल्कि | फिर भी | हालांकि | सिवाय | जबकि",
    items="और | तथा | एवं",
    fillers="""मुझे | मेरे | मेरी | मेरा | को | का | की | में | से | तो | भी | कोई | कुछ | बहुत | थोड़ा | थोड़ी | तेज |
        या | ही | अब | आज | कल | ज्यादा | हल्का | हल्की""",
    stops="सिर्फ | केवल | बस | मैं | वह | वो",
    post_anywhere=True,
    presuppose="क्यों | क्यूं | कैसे | कब | कितना | कितनी | कितने | कहां | कहाँ | मेरा | मेरी | मेरे",
    question_first="क्या",
)

CUES: dict[str, Cues] = {
    "en": _english(),
    "es": _build("es", **_ES),  # type: ignore[arg-type]
    "fr": _build("fr", **_FR),  # type: ignore[arg-type]
    "zh": _build("zh", **_ZH),  # type: ignore[arg-type]
    "ar": _build("ar", **_AR),  # type: ignore[arg-type]
    "hi": _build("hi", **_HI),  # type: ignore[arg-type]
}


# -- the engine ----------------------------------------------------------------------------------------------
Unit = tuple[str, int]  # ("m", mention number) or ("t", token index)


class Segment(NamedTuple):
    level: int  # the boundary before it: 3 sentence, 2 clause word / Chinese comma, 1 comma, 0 "and"
    units: list[Unit]
    first: int  # token index of its first unit
    last: int  # token index of its last unit


def _phrase_at(toks: list[Token], idx: list[int], u: int, table: PhraseTable) -> tuple[Phrase, object] | None:
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
        brk = _phrase_at(toks, free, i, cues.breaks)
        if brk is not None:
            cue = _phrase_at(toks, free, i, cues.cues)
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
    return _phrase_at(toks, idx, u, cues.cues)  # type: ignore[return-value]


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
    opener = _phrase_at(toks, free, 0, cues.question_first) is not None
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
    return not any(_phrase_at(toks, rel, u, cues.presuppose) for u in range(len(rel)) if rel[u] >= 0)


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
    for m in _STRONG_ANY.finditer(text, lo, start):
        if _breaks_sentence(text, m.start(), language):
            cut = m.start()
    if cut >= 0:
        lo = cut + 1
    hi = min(len(text), end + WINDOW)
    for m in _STRONG_ANY.finditer(text, end, hi):
        if _breaks_sentence(text, m.start(), language):
            hi = m.start()
            while hi < len(text) and hi < end + WINDOW and _STRONG_ANY.match(text, hi):
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
