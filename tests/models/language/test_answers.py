"""Replies to yes/no questions in the supported languages; free text is left to the matcher (None)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codx.models.language.answers import parse_answer

CASES = {
    "present": [
        "yes",
        "Yes!",
        "  YES.  ",
        "yeah",
        "yep",
        "y",
        "Y",
        "a little",
        "sometimes",
        "kind of",
        "sure",
        "👍",
        "yes, and I also have a headache",
        "Yes I do",
        "I think so",
        "sí",
        "Si",
        "si, un poco",
        "un poco",
        "oui",
        "Oui !",
        "un peu",
        "是",
        "有",
        "对",
        "有一点",
        "是的，我还头疼",
        "نعم",
        "نعم.",
        "हाँ",
        "हां",
        "थोड़ा",
    ],
    "absent": [
        "no",
        "No.",
        "nope",
        "n",
        "never",
        "not really",
        "No, but my head hurts",
        "I don't think so",
        "not at all",
        "no",
        "No, nunca",
        "non",
        "Non, jamais",
        "没有",
        "不是",
        "沒有",
        "لا",
        "لا،",
        "नहीं",
        "नहीं।",
    ],
    "unsure": [
        "not sure",
        "I'm not sure",
        "don't know",
        "I don’t know",
        "dunno",
        "maybe",
        "?",
        "??",
        "unsure",
        "idk",
        "IDK!",
        "no idea",
        "maybe not",
        "no sé",
        "No se",
        "no lo sé",
        "je ne sais pas",
        "Je sais pas",
        "peut-être",
        "不知道",
        "لا أعرف",
        "لا اعرف",
        "पता नहीं",
    ],
}


@pytest.mark.parametrize(("text", "expected"), [(t, s) for s, texts in CASES.items() for t in texts])
def test_answers(text, expected):
    assert parse_answer(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "...",
        "😀",
        "I have a headache and a sore throat",
        "yesterday I had a fever",
        "my knee hurts",
        "never mind",
        "right knee",
        "the cough is worse at night",
        "nosebleeds",
        "yesno",
        "没有发烧",
        "ok",
    ],
)
def test_free_text_is_not_an_answer(text):
    assert parse_answer(text) is None


def test_a_long_reply_that_starts_with_an_answer():
    assert parse_answer("yes. " + "it started last week and got worse " * 500) == "present"
    assert parse_answer("x" * 100_000) is None


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_never_raises(text):
    assert parse_answer(text) in ("present", "absent", "unsure", None)
