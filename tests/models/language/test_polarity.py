"""Negation and uncertainty per language (polarity.py), and that the English matcher decides the same way."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codx.models.diagnosis.knowledge import Knowledge
from codx.models.diagnosis.params import DiagnosisParams
from codx.models.language.matcher import FindingMatcher
from codx.models.language.polarity import CUES, LANGUAGES, lang_tokens, polarity
from codx.models.packs.schema import Annotation, Disease, Finding, Pack, PackMeta


def pol(text: str, term: str, language: str, nth: int = 0) -> str:
    """The status of the nth occurrence of term."""
    start = -1
    for _ in range(nth + 1):
        start = text.index(term, start + 1)
    return polarity(text, start, start + len(term), language)


CASES = [
    # (language, text, term, expected)
    # English
    ("en", "I don't have a fever.", "fever", "absent"),
    ("en", "No fever, chills or night sweats.", "night sweats", "absent"),
    ("en", "I have a cough but no fever.", "cough", "present"),
    ("en", "No fever, but I have a terrible headache.", "headache", "present"),
    ("en", "Rash: none.", "Rash", "absent"),
    ("en", "Maybe a slight fever last night.", "fever", "unsure"),
    ("en", "Maybe not a fever.", "fever", "unsure"),
    ("en", "Do I have a fever?", "fever", "unsure"),
    ("en", "I have a fever, is that bad?", "fever", "present"),
    ("en", "Why do I keep getting nosebleeds?", "nosebleeds", "present"),
    ("en", "Fever? No.", "Fever", "absent"),
    # Spanish
    ("es", "No tengo fiebre.", "fiebre", "absent"),
    ("es", "Sin fiebre ni vómitos.", "vómitos", "absent"),
    ("es", "No tengo tos, fiebre ni dolor de garganta.", "dolor de garganta", "absent"),
    ("es", "Tengo dolor de cabeza pero no fiebre.", "fiebre", "absent"),
    ("es", "Tengo dolor de cabeza pero no fiebre.", "dolor de cabeza", "present"),
    ("es", "No tengo fiebre, pero sí tengo tos.", "tos", "present"),
    ("es", "No tengo fiebre, tengo tos.", "tos", "present"),
    ("es", "No me duele el pecho.", "pecho", "absent"),
    ("es", "La tos no se me quita.", "tos", "present"),
    ("es", "Fiebre no, solo un poco de tos.", "Fiebre", "absent"),
    ("es", "Fiebre no, solo un poco de tos.", "tos", "present"),
    ("es", "Quizás tengo un poco de fiebre.", "fiebre", "unsure"),
    ("es", "Creo que no tengo fiebre.", "fiebre", "unsure"),
    ("es", "Tengo fiebre, creo.", "fiebre", "unsure"),
    ("es", "¿Tengo fiebre?", "fiebre", "unsure"),
    ("es", "Tengo fiebre, ¿es grave?", "fiebre", "present"),
    ("es", "Ya no tengo náuseas.", "náuseas", "absent"),
    ("es", "Tuve fiebre la semana pasada.", "fiebre", "present"),
    # French
    ("fr", "Je n'ai pas de fièvre.", "fièvre", "absent"),
    ("fr", "Je ne tousse pas.", "tousse", "absent"),
    ("fr", "Pas de toux ni de fièvre.", "fièvre", "absent"),
    ("fr", "Sans fièvre, ni frissons, ni sueurs.", "sueurs", "absent"),
    ("fr", "Je n'ai pas de fièvre mais j'ai mal à la gorge.", "mal à la gorge", "present"),
    ("fr", "J'ai pas mal de toux le soir.", "toux", "present"),
    ("fr", "Je n'ai que de la toux.", "toux", "present"),
    ("fr", "Mal de ventre, pas du tout.", "Mal de ventre", "absent"),
    ("fr", "J'ai peut-être une infection urinaire.", "infection urinaire", "unsure"),
    ("fr", "Peut-être pas de fièvre.", "fièvre", "unsure"),
    ("fr", "Je ne suis pas sûr d'avoir de la fièvre.", "fièvre", "unsure"),
    ("fr", "Est-ce que j'ai de la tension ?", "tension", "unsure"),
    # Chinese
    ("zh", "我不发烧。", "发烧", "absent"),
    ("zh", "我没有发烧、咳嗽和流鼻涕。", "流鼻涕", "absent"),
    ("zh", "我没有发烧，咳嗽得很厉害。", "咳嗽", "present"),  # ， ends the scope, 、 continues a list
    ("zh", "我咳嗽，但是不发烧。", "咳嗽", "present"),
    ("zh", "我咳嗽，但是不发烧。", "发烧", "absent"),
    ("zh", "我咳嗽但是不发烧", "咳嗽", "present"),
    ("zh", "发烧没有。", "发烧", "absent"),
    ("zh", "头疼也没有。", "头疼", "absent"),
    ("zh", "发烧、咳嗽都没有。", "发烧", "absent"),
    ("zh", "我喘不过气。", "喘", "present"),  # 不过 is not "but" here
    ("zh", "我可能有点发烧。", "发烧", "unsure"),
    ("zh", "我好像没有发烧。", "发烧", "unsure"),
    ("zh", "我发烧了吗？", "发烧", "unsure"),
    ("zh", "為什麼我一直咳嗽？", "咳嗽", "present"),  # traditional characters
    ("zh", "我沒有發燒。", "發燒", "absent"),
    # Arabic
    ("ar", "ليس عندي حمى.", "حمى", "absent"),
    ("ar", "ما عندي إسهال ولا تقيؤ.", "تقيؤ", "absent"),
    ("ar", "بدون حمى أو قشعريرة.", "قشعريرة", "absent"),
    ("ar", "عندي سعال ولكن ليس عندي حمى.", "سعال", "present"),
    ("ar", "عندي سعال ولكن ليس عندي حمى.", "حمى", "absent"),
    ("ar", "لم يعد عندي صداع.", "صداع", "absent"),
    ("ar", "الحمى: لا.", "حمى", "absent"),
    ("ar", "لا أستطيع النوم بسبب السعال.", "السعال", "present"),
    ("ar", "ربما عندي حمى.", "حمى", "unsure"),
    ("ar", "لست متأكدا إذا كان عندي حمى.", "حمى", "unsure"),
    ("ar", "ربما لا يوجد كسر.", "كسر", "unsure"),
    ("ar", "عندي حمى على ما أظن.", "حمى", "unsure"),
    ("ar", "هل عندي حمى؟", "حمى", "unsure"),
    ("ar", "لَيْسَ عِنْدِي حُمَّى.", "حُمَّى", "absent"),  # with harakat
    # Hindi
    ("hi", "मुझे बुखार नहीं है।", "बुखार", "absent"),
    ("hi", "मुझे बुखार नही है।", "बुखार", "absent"),  # without the nasal mark
    ("hi", "मुझे बुखार नहीं है लेकिन खांसी है।", "खांसी", "present"),
    ("hi", "मुझे बुखार नहीं है लेकिन खांसी है।", "बुखार", "absent"),
    ("hi", "मुझे खांसी है, बुखार नहीं।", "खांसी", "present"),
    ("hi", "मुझे खांसी है, बुखार नहीं।", "बुखार", "absent"),
    ("hi", "मुझे खांसी, जुकाम या बुखार नहीं है।", "खांसी", "absent"),
    ("hi", "मुझे दस्त और उल्टी दोनों नहीं हैं।", "दस्त", "absent"),
    ("hi", "न बुखार है, न खांसी।", "बुखार", "absent"),
    ("hi", "बिना बुखार के खांसी हो रही है।", "बुखार", "absent"),
    ("hi", "बिना बुखार के खांसी हो रही है।", "खांसी", "present"),
    ("hi", "शायद मुझे बुखार है।", "बुखार", "unsure"),
    ("hi", "यह एलर्जी हो सकती है।", "एलर्जी", "unsure"),
    ("hi", "शायद बुखार नहीं है।", "बुखार", "unsure"),
    ("hi", "पता नहीं मुझे बुखार है या नहीं।", "बुखार", "unsure"),
    ("hi", "क्या मुझे बुखार है?", "बुखार", "unsure"),
    ("hi", "मुझे बार-बार सिरदर्द क्यों होता है?", "सिरदर्द", "present"),
    ("hi", "मुझे भूख नहीं लगती।", "भूख", "absent"),
    ("hi", "मुझे नहीं लगता कि यह टाइफाइड है।", "टाइफाइड", "unsure"),
]


@pytest.mark.parametrize(("language", "text", "term", "expected"), CASES)
def test_cases(language, text, term, expected):
    assert pol(text, term, language) == expected


def test_every_language_has_cases_of_each_status():
    for lang in LANGUAGES:
        assert {c[3] for c in CASES if c[0] == lang} == {"present", "absent", "unsure"}


def test_scope_ends_at_the_sentence_and_the_clause_word():
    assert pol("No fever. Cough.", "Cough", "en") == "present"
    assert pol("Sin fiebre. Tos.", "Tos", "es") == "present"
    assert pol("没有发烧。咳嗽。", "咳嗽", "zh") == "present"
    assert pol("لا حمى. سعال.", "سعال", "ar") == "present"
    assert pol("बुखार नहीं। खांसी है।", "खांसी", "hi") == "present"
    assert pol("pas de fièvre mais de la toux", "toux", "fr") == "present"


def test_a_second_mention_is_read_in_its_own_clause():
    text = "No tenía fiebre ayer, pero hoy tengo fiebre."
    assert pol(text, "fiebre", "es", 0) == "absent"
    assert pol(text, "fiebre", "es", 1) == "present"


def test_numbers_do_not_end_the_sentence():
    assert pol("No tengo 38.5 de fiebre", "fiebre", "es") == "absent"


# -- English: the matcher and polarity() decide alike -----------------------------------------------------
@pytest.fixture(scope="module")
def fm() -> FindingMatcher:
    findings = [
        Finding(id="T:root", label="Phenotypic abnormality", askable=False),
        Finding(id="T:FEV", label="Fever", lay_label="High temperature", parents=["T:root"]),
        Finding(id="T:COUGH", label="Cough", parents=["T:root"]),
        Finding(id="T:HEAD", label="Headache", parents=["T:root"]),
        Finding(id="T:RASH", label="Rash", parents=["T:root"]),
        Finding(id="T:RHIN", label="Rhinorrhea", lay_synonyms=["Runny nose"], parents=["T:root"]),
    ]
    pack = Pack.from_records(
        PackMeta(name="pol", version="1"),
        [Disease(id="D:1", name="Cold")],
        findings,
        [Annotation(disease="D:1", finding="T:FEV", frequency=0.5)],
    )
    return FindingMatcher(Knowledge([pack], DiagnosisParams()))


MATCHER_SENTENCES = [
    "no fever",
    "I don't have a fever",
    "doesn’t have a fever",
    "She does not have a fever",
    "without fever",
    "denies fever",
    "never had a fever",
    "I have not had a fever",
    "free of fever",
    "negative for fever",
    "fever: none",
    "fever absent",
    "fever ruled out",
    "maybe a fever",
    "I might have a fever",
    "not sure if I have a fever",
    "I'm not sure I have a fever",
    "I think I have a fever",
    "I don't know if I have a fever",
    "maybe not a fever",
    "a bit of a fever",
    "I have had a fever",
    "no fever, cough or rash",
    "Denies fever, cough, and headache.",
    "maybe fever or cough",
    "no fever or cough but a headache",
    "no fever, I have a cough",
    "I don't have a fever I have a cough",
    "No fever. Cough.",
    "no fever\ncough",
    "I have a cough, no fever",
    "cough yes, fever no",
    "fever absent, cough present",
    "a cough and no fever",
    "no fever yesterday, but fever today and a cough",
    "my kid has had a runny nose and a bit of a cough, no fever",
    "I’ve had HEADACHES, a high-temperature and a runny  nose; no fever?",
]


@pytest.mark.parametrize("text", MATCHER_SENTENCES)
def test_english_polarity_agrees_with_the_matcher(fm, text):
    mentions = fm.extract(text)
    assert mentions
    for m in mentions:
        assert polarity(text, m.start, m.end, "en") == m.status, m.span


# -- robustness ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "start", "end", "language"),
    [
        ("", 0, 0, "en"),
        ("fever", -5, 99, "en"),
        ("no fever", 8, 3, "en"),  # reversed
        ("no fever", 4, 4, "en"),  # empty span: the word at it
        ("no fever", 2, 3, "en"),  # a space: the next word
        ("....", 0, 4, "zh"),
        ("no fiebre", 3, 9, "es-MX"),
        ("no fever", 3, 8, "xx"),
        ("no fever", 3, 8, None),
        (None, 0, 1, "en"),
        ("no fever", "3", 8, "en"),
        ("no fever", 3.5, 8, "en"),
    ],
)
def test_odd_input_gives_an_answer(text, start, end, language):
    assert polarity(text, start, end, language) in ("present", "absent", "unsure")  # type: ignore[arg-type]


def test_offsets_and_language_codes():
    assert polarity("no fever", 4, 4, "en") == "absent"
    assert polarity("no fiebre", 3, 9, "es-MX") == "absent"
    assert polarity("no fiebre", 3, 9, "ES") == "absent"
    assert polarity("no fever", 8, 3, "en") == "absent"


@settings(max_examples=400, deadline=None)
@given(st.text(), st.integers(-50, 500), st.integers(-50, 500), st.sampled_from([*LANGUAGES, "", "pt", "zh-TW"]))
def test_never_raises(text, start, end, language):
    assert polarity(text, start, end, language) in ("present", "absent", "unsure")


_SOUP = [
    "no", "not", "fever", "cough", ",", ".", "?", "¿", "but", "and", "maybe", "sin", "ni", "pero", "creo", "pas",
    "de", "ne", "peut-être", "没有", "不", "发烧", "、", "，", "但是", "吗", "可能", "لا", "حمى", "ربما", "ولكن", "هل",
    "नहीं", "बुखार", "है", "शायद", "लेकिन", "क्या", "और", "या", " ", "38.5", "\n",
]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_SOUP), max_size=30), st.data(), st.sampled_from(LANGUAGES))
def test_never_raises_on_cue_soup(words, data, language):
    text = " ".join(words)
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    assert polarity(text, start, end, language) in ("present", "absent", "unsure")


def test_long_text_reads_only_the_sentence():
    text = "a, " * 50_000 + "no fever" + ", b" * 50_000
    start = text.index("fever")
    t0 = time.perf_counter()
    assert polarity(text, start, start + 5, "en") == "absent"
    assert time.perf_counter() - t0 < 0.5


def test_fast():
    text = "Tengo dolor de cabeza y tos desde ayer, pero no tengo fiebre ni escalofríos."
    start = text.index("escalofríos")
    polarity(text, start, start + 11, "es")
    t0 = time.perf_counter()
    for _ in range(200):
        polarity(text, start, start + 11, "es")
    assert (time.perf_counter() - t0) / 200 < 0.002  # typically ~0.1 ms; generous for slow CI machines


# -- the tables ----------------------------------------------------------------------------------------------
def test_tables_are_folded_like_text():
    for lang, cues in CUES.items():
        for first, entries in cues.cues.items():
            for words, _ in entries:
                assert words[0] == first
                assert all(words), (lang, words)
                assert tuple(t.norm for t in lang_tokens(" ".join(words), lang)) == words or lang == "zh", words


def test_folding():
    assert [t.norm for t in lang_tokens("Quizás NINGÚN", "es")] == ["quizas", "ningun"]
    assert [t.norm for t in lang_tokens("لَيْسَ أنا", "ar")] == ["ليس", "انا"]
    assert [t.norm for t in lang_tokens("नहीं", "hi")] == [t.norm for t in lang_tokens("नही", "hi")]
    assert [t.norm for t in lang_tokens("沒有發燒", "zh")] == ["没", "有", "发", "烧"]
