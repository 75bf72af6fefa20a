"""Negation, uncertainty and clause words of en, es, fr, zh, ar and hi, written for codx as data (see
`polarity` for how they are read)."""

from __future__ import annotations

import dataclasses
from typing import Literal, NamedTuple

from codx.models.language.words import Status, lang_tokens

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
