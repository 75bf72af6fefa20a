import pytest
from hypothesis import given
from hypothesis import strategies as st

from codx.models.language.detect import LANGUAGES, detect_language


@pytest.mark.parametrize(
    "text, lang",
    [
        ("I have had a headache for three days and it is getting worse", "en"),
        ("my kid has a runny nose and a bit of a cough, no fever", "en"),
        ("tengo dolor de cabeza desde hace tres días", "es"),
        ("Me duele mucho la garganta y tengo fiebre", "es"),
        ("j'ai mal à la tête depuis trois jours", "fr"),
        ("Je me sens très fatigué et j'ai de la fièvre", "fr"),
        ("我头疼了三天，还有点发烧", "zh"),
        ("أعاني من صداع منذ ثلاثة أيام", "ar"),
        ("मुझे तीन दिन से सिरदर्द है", "hi"),
    ],
)
def test_languages(text, lang):
    got, conf = detect_language(text)
    assert got == lang and conf > 0


@pytest.mark.parametrize("text", ["", "   ", "😀😀", "123 456", "ok"])
def test_unclear_text_keeps_the_default(text):
    assert detect_language(text, default="fr") == ("fr", 0.0)


def test_mixed_scripts_follow_the_majority():
    assert detect_language("头疼 headache 发烧三天了")[0] == "zh"


@given(st.text(max_size=500))
def test_never_raises(text):
    lang, conf = detect_language(text)
    assert lang in LANGUAGES and 0.0 <= conf <= 1.0
