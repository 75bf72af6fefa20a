"""Which of the six consultation languages a message is in (en, es, fr, zh, ar, hi).

Deterministic and dependency-free: the script decides Chinese, Arabic and Hindi; for Latin-script text,
function words and letters with diacritics that only one of English, Spanish and French uses decide.
Short or unclear text falls back to the caller's default (usually the thread's language so far).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

Language = Literal["en", "es", "fr", "zh", "ar", "hi"]
LANGUAGES: tuple[Language, ...] = ("en", "es", "fr", "zh", "ar", "hi")

_STOPWORDS: dict[str, set[str]] = {
    "en": set(
        "the and i have has had a my of to is it with in not no for since but am feel pain been days "
        "was do does don't doesn't can't this that what".split()
    ),
    "es": set(
        "el la los las y yo tengo tiene mi de que es con en no por desde pero estoy me siento dolor "
        "hace días un una muy también mucho".split()
    ),
    "fr": set(
        "le la les et je j'ai ai mon ma mes de du des que est avec en ne pas pour depuis mais suis "
        "me sens douleur jours un une très aussi beaucoup".split()
    ),
}
_MARKS = {"es": set("ñ¿¡"), "fr": set("çœèêëîïûù")}
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)


def _script_counts(text: str) -> dict[str, int]:
    counts = {"zh": 0, "ar": 0, "hi": 0, "latin": 0}
    for ch in text:
        o = ord(ch)
        if 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0xF900 <= o <= 0xFAFF:
            counts["zh"] += 1
        elif 0x0600 <= o <= 0x06FF or 0x0750 <= o <= 0x077F or 0xFB50 <= o <= 0xFDFF or 0xFE70 <= o <= 0xFEFF:
            counts["ar"] += 1
        elif 0x0900 <= o <= 0x097F:
            counts["hi"] += 1
        elif ch.isalpha() and unicodedata.name(ch, "").startswith("LATIN"):
            counts["latin"] += 1
    return counts


def detect_language(text: str, default: Language = "en") -> tuple[Language, float]:
    """(language, confidence in [0, 1]); the default with confidence 0 when the text says too little."""
    if not isinstance(text, str) or not text.strip():
        return default, 0.0
    sample = text[:2000]
    counts = _script_counts(sample)
    letters = sum(counts.values())
    if letters == 0:
        return default, 0.0
    for script in ("zh", "ar", "hi"):
        if counts[script] >= 2 and counts[script] >= 0.3 * letters:
            return script, min(1.0, counts[script] / letters + 0.2)  # type: ignore[return-value]
    lowered = sample.lower().replace("’", "'")
    words = _WORD.findall(lowered)
    scores = {lang: sum(w in sw for w in words) for lang, sw in _STOPWORDS.items()}
    for lang, marks in _MARKS.items():
        scores[lang] += 2 * sum(ch in marks for ch in lowered)
    best = max(scores, key=lambda k: scores[k])
    total = sum(scores.values())
    if scores[best] == 0 or (len(words) < 2 and scores[best] < 2):
        return default, 0.0
    ranked = sorted(scores.values(), reverse=True)
    if ranked[0] == ranked[1]:
        return (default if scores.get(default, -1) == ranked[0] else best), 0.3  # type: ignore[return-value]
    return best, round(scores[best] / total, 3)  # type: ignore[return-value]
