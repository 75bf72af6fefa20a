"""Does a generated text say only the numbers the diagnosis model gave? And does a question name its finding?

Why: in codx every probability comes from the diagnosis model; a language model may only phrase. A small model
that rewrites "Influenza 62.3%" as "Influenza 26%" or invents "a 90% chance" would put a false number in front
of a patient, so every text a language model writes is checked here before it is shown (`codx.agent.phrasing`
falls back to the template text when a check fails).

The number rule (`check_numbers`):

- What counts as a probability: a number written as a percentage ("62%", "62.3 %", "62 percent", "62 per
  cent", full-width and Arabic percent signs, both ends of a range "20-30%"), and a decimal between 0 and 1
  written with its decimal point ("0.62", ".62", "p = 0.62") that no unit follows. Everything else is not a
  probability and is ignored: whole numbers without a percent sign ("3 days", "age 45", "a 45-year-old",
  "Step 5", "type 2 diabetes"), numbers above 1 without a percent sign ("38.5 °C"), and decimals followed by a
  unit ("0.5 mg", "0.25 days"). Numbers in bits are information gains: they are checked against `gains` when
  given, else ignored. Percentages that are not probabilities (an invented "oxygen saturation 92%") are still
  checked: the diagnosis model did not give them either.
- When it matches: the model's probability p, written with d decimals as a percentage v, matches when
  |v - 100 p| <= 0.5 * 10^-d + 100 * tolerance, i.e. the text may round the model's number to the precision it
  writes ("62%" and "62.3%" both match 0.6234, "63%" does not), plus a small slack (`tolerance`, in
  probability units) for a model that rounded twice. A decimal "0.62" is the same as "62%". Hedges do not widen
  this: "about 60%" for 0.623 is a problem.
- Bounds: a number right after "<", "≤", "less than", "under", "below", "at most" (or ">", "≥", "more than",
  "over", "above", "at least") is a bound, not a value: it must hold for the disease it is attached to, and is
  ignored when attached to none ("the top confidence is below 50%" says nothing false by itself).
- Attachment: with `truth` a dict of names (disease names, and e.g. "threshold") to probabilities, a number
  is attached to a name written in the same clause (the text between commas, semicolons, line breaks and
  sentence ends): the nearest name before it, else the nearest after it ("Influenza 62%", "Influenza: 62%",
  "Influenza (62.3%)", "62% for influenza"). Names match case-insensitively at word boundaries, the longest
  first. An attached number must match its name's probability; when the clause names several diseases and the
  number matches another of them, the attachment was ambiguous and the number is accepted. A number attached
  to no name (or `truth` given as a plain list) must match one of the model's numbers, whichever.

`names_finding(text, labels)`: the text names the finding when one of its labels (clinical label, lay label,
a synonym, a translation) occurs in it, case-insensitively, at word boundaries, with hyphens, underscores and
runs of spaces read as one space and an optional plural "s" / "es". Labels in Chinese or Japanese script (no
spaces between words) match as a plain substring.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from pydantic import BaseModel, Field

#: Default slack beyond the written precision, in probability units (0.05 percentage points).
TOLERANCE = 0.0005

_NUM = r"(?:\d+(?:[.,]\d+)?|[.,]\d+)"
_PERCENT_SIGN = r"(?:%|\uff05|\u066a|\s?percent\b|\s?per\s+cent\b)"
_PERCENT = re.compile(rf"(?<![\w.,])(?P<num>{_NUM})\s*{_PERCENT_SIGN}", re.IGNORECASE)
_RANGE = re.compile(
    rf"(?<![\w.,])(?P<num>{_NUM})\s*(?:-|\u2013|\u2014|to)\s*(?={_NUM}\s*{_PERCENT_SIGN})", re.IGNORECASE
)
_DECIMAL = re.compile(r"(?<![\w.,])(?P<num>0?\.\d+|[01]\.\d+)(?![\w%\uff05\u066a]|[.,]\d)")
_BITS = re.compile(r"(?<![\w.,])(?P<num>\d*\.\d+|\d+)\s*bits?\b", re.IGNORECASE)
#: words that make a bare decimal a measurement, not a probability
_UNITS = {
    "mg", "mcg", "ug", "µg", "g", "kg", "ml", "l", "dl", "mmol", "mol", "mm", "cm", "m", "km", "in", "inch",
    "inches", "c", "°c", "°f", "°", "s", "sec", "secs", "second", "seconds", "min", "mins", "minute", "minutes",
    "h", "hr", "hrs", "hour", "hours", "day", "days", "week", "weeks", "month", "months", "year", "years", "x",
    "times", "mmhg", "bpm", "iu", "units", "unit", "bit", "bits", "nat", "nats", "meq", "ng", "pg", "mu",
    "kcal", "lb", "lbs", "oz", "ft",
}  # fmt: skip
_UNIT_AFTER = re.compile(r"\s*(°\s*[cf]|[^\W\d_]+|°)", re.IGNORECASE)
_LOWER = re.compile(r"(?:<|≤|=<|\bless than|\bunder|\bbelow|\bat most|\bno more than|\bup to)\s*$", re.IGNORECASE)
_UPPER = re.compile(r"(?:>|≥|>=|\bmore than|\bover|\babove|\bat least|\bgreater than)\s*$", re.IGNORECASE)
_CLAUSE = re.compile(r"[,;\n\r\u3001\u060c\uff0c\uff1b]|[.!?\u3002\u061f](?=\s|$)")


class WrittenNumber(BaseModel):
    """A probability as written in the text, in probability units, with the precision it was written at."""

    text: str
    start: int
    end: int
    value: float
    precision: float = Field(description="Half a unit of the last written digit, in probability units.")
    bound: str | None = Field(None, description="'upper' (< x) or 'lower' (> x) when written as a bound.")
    attached_to: str | None = None


class NumberProblem(BaseModel):
    text: str
    start: int
    end: int
    value: float
    attached_to: str | None = None
    expected: float | None = Field(None, description="The model's probability for the attached name.")
    reason: str


class NumberCheck(BaseModel):
    ok: bool
    problems: list[NumberProblem] = []
    checked: int = Field(0, description="Probabilities (and gains) found in the text and checked.")

    def summary(self) -> str:
        return "; ".join(p.reason for p in self.problems) or "ok"


def _value(num: str) -> tuple[float, int]:
    """The number and its count of decimals ("62,3" is read as 62.3: a decimal comma)."""
    num = num.replace(",", ".")
    decimals = len(num.split(".", 1)[1]) if "." in num else 0
    return float(num), decimals


def _followed_by_unit(text: str, end: int) -> bool:
    m = _UNIT_AFTER.match(text, end)
    return bool(m) and m.group(1).replace(" ", "").lower() in _UNITS


def _bound(text: str, start: int) -> str | None:
    before = text[max(0, start - 24) : start]
    if _LOWER.search(before):
        return "upper"
    if _UPPER.search(before):
        return "lower"
    return None


def find_probabilities(text: str) -> list[WrittenNumber]:
    """Every probability written in `text` (see the module docstring), in order."""
    found: dict[int, WrittenNumber] = {}
    taken: list[tuple[int, int]] = []
    for pattern in (_PERCENT, _RANGE):
        for m in pattern.finditer(text):
            v, d = _value(m.group("num"))
            s, e = m.span("num")
            found[s] = WrittenNumber(
                text=m.group(0).strip(), start=s, end=m.end(), value=v / 100, precision=0.5 * 10**-d / 100
            )
            taken.append((s, m.end()))
    for m in _DECIMAL.finditer(text):
        s, e = m.span("num")
        if any(a <= s < b for a, b in taken) or _followed_by_unit(text, e):
            continue
        v, d = _value(m.group("num"))
        if 0.0 <= v <= 1.0:
            found[s] = WrittenNumber(text=m.group(0), start=s, end=e, value=v, precision=0.5 * 10**-d)
    out = sorted(found.values(), key=lambda n: n.start)
    for n in out:
        n.bound = _bound(text, n.start)
    return out


def _name_spans(text: str, names: Sequence[str]) -> list[tuple[int, int, str]]:
    """Non-overlapping mentions of the names, longest name first."""
    spans: list[tuple[int, int, str]] = []
    for name in sorted({n for n in names if n.strip()}, key=len, reverse=True):
        pattern = re.compile(r"(?<!\w)" + re.escape(name.strip()) + r"(?!\w)", re.IGNORECASE)
        for m in pattern.finditer(text):
            if not any(a < m.end() and m.start() < b for a, b, _ in spans):
                spans.append((m.start(), m.end(), name))
    return sorted(spans)


def _clauses(text: str) -> list[tuple[int, int]]:
    cuts = [0] + [m.end() for m in _CLAUSE.finditer(text)] + [len(text)]
    return [(a, b) for a, b in zip(cuts, cuts[1:], strict=False) if b > a]


def _matches(n: WrittenNumber, p: float, tolerance: float) -> bool:
    if n.bound == "upper":
        return p <= n.value + n.precision + tolerance
    if n.bound == "lower":
        return p >= n.value - n.precision - tolerance
    return abs(n.value - p) <= n.precision + tolerance + 1e-12


def _pct(p: float) -> str:
    return f"{100 * p:.4g}%"


def check_numbers(
    text: str,
    truth: Mapping[str, float] | Sequence[float],
    tolerance: float = TOLERANCE,
    gains: Sequence[float] = (),
) -> NumberCheck:
    """Every probability in `text` must be one the diagnosis model gave (rule in the module docstring).
    `truth`: name -> probability (names let a number be checked against ITS disease), or just the numbers."""
    named = dict(truth) if isinstance(truth, Mapping) else {}
    values = list(named.values()) if isinstance(truth, Mapping) else [float(v) for v in truth]
    problems: list[NumberProblem] = []
    numbers = find_probabilities(text)
    spans = _name_spans(text, list(named))
    clauses = _clauses(text)
    for n in numbers:
        a, b = next(((a, b) for a, b in clauses if a <= n.start < b), (0, len(text)))
        inside = [s for s in spans if a <= s[0] and s[1] <= b]
        before = [s for s in inside if s[1] <= n.start]
        after = [s for s in inside if s[0] >= n.end]
        near = before[-1] if before else (after[0] if after else None)
        if near is not None:
            n.attached_to = near[2]
            p = float(named[near[2]])
            if _matches(n, p, tolerance) or any(_matches(n, float(named[s[2]]), tolerance) for s in inside):
                continue
            problems.append(
                NumberProblem(
                    text=n.text,
                    start=n.start,
                    end=n.end,
                    value=n.value,
                    attached_to=near[2],
                    expected=p,
                    reason=f"{n.text!r}{' as a bound' if n.bound else ''} for {near[2]}, but the diagnosis model "
                    f"gives {_pct(p)}",
                )
            )
        elif n.bound is None and not any(_matches(n, float(v), tolerance) for v in values):
            problems.append(
                NumberProblem(
                    text=n.text,
                    start=n.start,
                    end=n.end,
                    value=n.value,
                    reason=f"{n.text!r} is not a probability the diagnosis model gave",
                )
            )
    checked = len(numbers)
    if gains:
        for m in _BITS.finditer(text):
            v, d = _value(m.group("num"))
            checked += 1
            if not any(abs(v - g) <= 0.5 * 10**-d + 1e-9 for g in gains):
                problems.append(
                    NumberProblem(
                        text=m.group(0),
                        start=m.start("num"),
                        end=m.end(),
                        value=v,
                        reason=f"{m.group(0)!r} is not an information gain the diagnosis model gave",
                    )
                )
    return NumberCheck(ok=not problems, problems=problems, checked=checked)


_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")


def _norm(text: str) -> str:
    return re.sub(r"[\s\-_\u2010\u2011]+", " ", text.casefold()).strip()


def names_finding(text: str, labels: Sequence[str]) -> bool:
    """Does `text` name the finding under one of `labels` (rule in the module docstring)?"""
    hay = _norm(text)
    for label in labels:
        needle = _norm(label or "")
        if not needle:
            continue
        if _CJK.search(needle):  # no spaces between words: a plain substring
            if needle.replace(" ", "") in hay.replace(" ", ""):
                return True
            continue
        words = [re.escape(w) for w in needle.split(" ")]
        pattern = r"(?<!\w)" + r"\s".join(words) + r"(?:s|es)?(?!\w)"
        if re.search(pattern, hay):
            return True
    return False


__all__ = ["NumberCheck", "NumberProblem", "TOLERANCE", "WrittenNumber", "check_numbers", "find_probabilities"]
