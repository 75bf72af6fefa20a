"""Age and sex read from free text in the six languages."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from codx.models.language.demographics import read_demographics


@pytest.mark.parametrize(
    ("text", "age", "sex"),
    [
        ("A 35-year-old female presents with double vision", 35, "female"),
        ("A 22-year-old man presented with painful lesions", 22, "male"),
        ("my 6 week old son has a fever", 6 * 7 / 365.25, "male"),
        ("A 13-month-old toddler is brought in by his mother", 13 / 12, "male"),
        ("newborn girl, jaundiced", 0.01, "female"),
        ("Patient is 70 yo, she has chest pain", 70, "female"),
        ("tengo 40 años y soy mujer", 40, "female"),
        ("J'ai 52 ans, je suis un homme", 52, "male"),
        ("我35岁，女，头痛", 35, "female"),
        ("I have a headache", None, None),
        ("", None, None),
    ],
)
def test_reads_age_and_sex(text, age, sex):
    demo = read_demographics(text)
    assert demo.sex == sex
    if age is None:
        assert demo.age_years is None
    else:
        assert demo.age_years == pytest.approx(age, rel=1e-3)


def test_impossible_age_is_ignored():
    assert read_demographics("a 400-year-old tree").age_years is None


@given(st.text(max_size=300))
def test_never_raises(text):
    demo = read_demographics(text)
    assert demo.age_years is None or 0 <= demo.age_years <= 130
