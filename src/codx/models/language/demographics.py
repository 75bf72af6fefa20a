"""Age and sex stated in free text ("a 35-year-old woman", "my 6 week old son", "tengo 40 años", "我35岁").

Priors of the common pack depend on both, so the agent and the vignette benchmark read them from the text
when no form field gives them. The first statement wins (case reports open with the patient's age and sex).
"""

from __future__ import annotations

import re
from typing import Literal, NamedTuple

Sex = Literal["female", "male"]

_UNIT_YEARS = {
    "year": 1.0,
    "yr": 1.0,
    "month": 1 / 12,
    "mo": 1 / 12,
    "week": 7 / 365.25,
    "wk": 7 / 365.25,
    "day": 1 / 365.25,
}
_EN_AGE = re.compile(
    r"\b(\d{1,3}(?:\.\d)?)[\s-]*(year|yr|month|mo|week|wk|day)s?[\s-]*old\b|\baged?\s+(\d{1,3})\b|"
    r"\b(\d{1,3})\s*(?:y/?o|yo)\b|\b(\d{1,3})\s*(?:years?|yrs?)\s+of\s+age\b",
    re.IGNORECASE,
)
_OTHER_AGE = re.compile(
    r"(\d{1,3})\s*(?:años|ans|an|岁|周岁|歳|سنة|عاما|عامًا|साल|वर्ष)|(\d{1,3})\s*(meses|mois|个月|أشهر|महीने)",
    re.IGNORECASE,
)
_NEWBORN = re.compile(r"\b(newborn|neonate|new-born)\b|recién nacid|nouveau-né|新生儿|مولود|नवजात", re.IGNORECASE)
_FEMALE = re.compile(
    r"\b(woman|women|female|girl|lady|mother|mum|mom|she|her|daughter|wife|pregnant|gravida|"
    r"mujer|niña|señora|embarazada|femme|fille|enceinte)\b|女|امرأة|فتاة|महिला|लड़की",
    re.IGNORECASE,
)
_MALE = re.compile(
    r"\b(man|men|male|boy|gentleman|father|dad|he|his|him|son|husband|hombre|niño|señor|homme|garçon)\b|男|رجل|ولد|पुरुष|लड़का",
    re.IGNORECASE,
)


class Demographics(NamedTuple):
    age_years: float | None
    sex: Sex | None


def read_demographics(text: str) -> Demographics:
    """Age in years and sex when the text states them; (None, None) otherwise. Never raises."""
    if not isinstance(text, str) or not text:
        return Demographics(None, None)
    head = text[:2000]
    age: float | None = None
    m = _EN_AGE.search(head)
    if m:
        if m.group(1):
            age = float(m.group(1)) * _UNIT_YEARS[m.group(2).lower()]
        else:
            age = float(next(g for g in m.groups()[2:] if g))
    else:
        m = _OTHER_AGE.search(head)
        if m:
            age = float(m.group(1)) if m.group(1) else float(m.group(2)) / 12
        elif _NEWBORN.search(head):
            age = 0.01
    if age is not None and not 0 <= age <= 130:
        age = None
    f, male = _FEMALE.search(head), _MALE.search(head)
    sex: Sex | None = None
    if f and (not male or f.start() < male.start()):
        sex = "female"
    elif male:
        sex = "male"
    return Demographics(age, sex)
