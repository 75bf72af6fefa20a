"""The number check: generated text may only state the diagnosis model's probabilities (after rounding)."""

from __future__ import annotations

import pytest

from codx.models.language.number_check import check_numbers, find_probabilities, names_finding

TRUTH = {"Influenza": 0.6234, "Common cold": 0.201, "Streptococcal pharyngitis": 0.1502, "threshold": 0.5}


@pytest.mark.parametrize(
    "text",
    [
        "Influenza 62.3%; Common cold 20.1%; Streptococcal pharyngitis 15.0%.",
        "Influenza (62%), common cold (20%), streptococcal pharyngitis (15%).",
        "The most likely is influenza: 62.3 %. Next, common cold at 20.1 percent.",
        "62% for influenza, 20% for common cold.",
        "Influenza p = 0.62; Common cold 0.20.",
        "Influenza is the most likely condition, below the threshold of 50%.",
        "Influenza is above 50% but under 63%.",
        "Common cold is less than 25%.",
    ],
)
def test_right_numbers_pass(text: str):
    check = check_numbers(text, TRUTH)
    assert check.ok, check.summary()
    assert check.checked >= 1


@pytest.mark.parametrize(
    ("text", "attached"),
    [
        ("Influenza 26.3%; Common cold 20.1%.", "Influenza"),
        ("Influenza 20.1%; Common cold 62.3%.", "Influenza"),  # swapped: each is another disease's number
        ("Influenza (63%).", "Influenza"),  # 62.34 rounds to 62, not 63
        ("Influenza is about 60%.", "Influenza"),  # a hedge does not widen the rounding
        ("Influenza is below 50%.", "Influenza"),  # a false bound
        ("There is a 90% chance it is the flu.", None),  # a number the model never gave
        ("The probability is 0.87.", None),
    ],
)
def test_a_wrong_number_is_reported(text: str, attached: str | None):
    check = check_numbers(text, TRUTH)
    assert not check.ok
    problem = check.problems[0]
    assert problem.attached_to == attached
    if attached:
        assert problem.expected == TRUTH[attached] and attached in problem.reason


def test_numbers_that_are_not_probabilities_are_ignored():
    text = (
        "A 45-year-old (age 45) with fever for 3 days, 2 weeks of cough, temperature 38.5 °C, 0.5 mg of "
        "something, Step 5, type 2 diabetes, 1.5 litres. Influenza 62.3%."
    )
    assert [n.value for n in find_probabilities(text)] == [pytest.approx(0.623)]
    assert check_numbers(text, TRUTH).ok
    assert check_numbers("I have had it for 3 days.", TRUTH).checked == 0
    assert check_numbers("age 45", [0.2]).ok


def test_a_plain_list_of_numbers_and_ranges():
    assert check_numbers("It is 62% or 20%.", [0.62, 0.2]).ok
    assert not check_numbers("It is 62% or 21%.", [0.62, 0.2]).ok
    assert not check_numbers("somewhere in 20-30%", [0.2]).ok  # both ends of a range are checked
    assert check_numbers("somewhere in 20-30%", [0.2, 0.3]).ok


def test_gains_in_bits_are_checked_when_given():
    text = "I ask about muscle aches (0.57 bits)."
    assert check_numbers(text, TRUTH).ok  # no gains given: ignored
    assert check_numbers(text, TRUTH, gains=[0.5712]).ok
    assert not check_numbers(text, TRUTH, gains=[0.31]).ok


def test_tolerance_is_slack_beyond_the_written_precision():
    assert check_numbers("Influenza 62.4%", TRUTH).ok  # 62.34 rounded twice (62.35 -> 62.4): the default slack
    assert not check_numbers("Influenza 62.5%", TRUTH).ok
    assert check_numbers("Influenza 62.5%", TRUTH, tolerance=0.002).ok
    assert not check_numbers("Influenza 62.4%", TRUTH, tolerance=0.0).ok


def test_names_finding():
    labels = ["Myalgia", "Muscle aches", "muscle pain"]
    assert names_finding("Have you had any MUSCLE ACHES lately?", labels)
    assert names_finding("Any muscle-aches?", labels)
    assert names_finding("Do you have myalgias?", labels)  # a plural
    assert not names_finding("Do you have a fever?", labels)
    assert not names_finding("Do you have muscle achesome?", labels)  # word boundary
    assert not names_finding("Do you have anything?", ["", "  "])
    assert names_finding("您最近有发烧吗？", ["发烧"])  # no spaces between words in Chinese
