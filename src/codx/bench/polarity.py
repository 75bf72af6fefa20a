"""Negation / uncertainty polarity on our own written sentences (issue 4, `codx bench understanding` part c).

The set is `data/polarity.jsonl`: one JSON object a line, `{"id", "language", "text", "term", "polarity"}`,
where `term` occurs verbatim in `text` (its first occurrence is the mention) and `polarity` is present, absent
or unsure. The sentences were written for codx (six languages, realistic patient phrasing; family mentions
are left out). Every case is read with `codx.models.language.polarity.polarity`; a line that cannot be read
becomes a per-case error and the run goes on.
"""

from __future__ import annotations

import json
import statistics
import time
from collections import Counter
from pathlib import Path
from typing import Any, get_args

from codx.errors import InputFileError
from codx.models.language.polarity import LANGUAGES, Status, polarity

DEFAULT_SET = Path(__file__).parent / "data" / "polarity.jsonl"
STATUSES: tuple[str, ...] = get_args(Status)


def _case(obj: Any, cid: str) -> tuple[str, str, str, str, Status]:
    """(id, language, text, term, gold) of one line; raises ValueError with the reason."""
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")
    cid = str(obj.get("id") or cid)
    missing = [k for k in ("language", "text", "term", "polarity") if not isinstance(obj.get(k), str)]
    if missing:
        raise ValueError(f"missing or not text: {', '.join(missing)}")
    language, text, term, gold = obj["language"], obj["text"], obj["term"], obj["polarity"]
    if language not in LANGUAGES:
        raise ValueError(f"language {language!r} is not one of {', '.join(LANGUAGES)}")
    if gold not in STATUSES:
        raise ValueError(f"polarity {gold!r} is not one of {', '.join(STATUSES)}")
    if not term or term not in text:
        raise ValueError(f"term {term!r} does not occur in the text")
    return cid, language, text, term, gold


def run_polarity(path: Path = DEFAULT_SET) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Accuracy overall and per language, a confusion matrix (gold -> predicted -> count) and one record per
    case in the bench JSON shape (`predictions` holds the one predicted status with probability 1.0)."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"{path} does not exist or is not a file; pass a polarity .jsonl set")
    cases: list[dict[str, Any]] = []
    seen: set[str] = set()
    confusion = {g: dict.fromkeys(STATUSES, 0) for g in STATUSES}
    right: Counter[str] = Counter()
    total: Counter[str] = Counter()
    times: list[float] = []
    n_errors = 0
    with path.open(encoding="utf-8", errors="replace") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            cid = f"line-{n}"
            obj: Any = None
            try:
                obj = json.loads(line)
                if isinstance(obj, dict) and obj.get("id") not in (None, ""):
                    cid = str(obj["id"])
                cid, language, text, term, gold = _case(obj, cid)
                if cid in seen:
                    raise ValueError("duplicate id")
            except (json.JSONDecodeError, ValueError) as exc:
                n_errors += 1
                record: dict[str, Any] = {"id": cid, "gold": None, "predictions": [], "error": f"case {cid}: {exc}"}
                if isinstance(obj, dict):
                    record["gold"] = obj.get("polarity") if obj.get("polarity") in STATUSES else None
                    record["language"] = obj.get("language")
                cases.append(record)
                continue
            seen.add(cid)
            start = text.index(term)
            t0 = time.perf_counter()
            pred = polarity(text, start, start + len(term), language)
            times.append(time.perf_counter() - t0)
            correct = pred == gold
            confusion[gold][pred] += 1
            total[language] += 1
            right[language] += correct
            cases.append(
                {
                    "id": cid,
                    "gold": gold,
                    "language": language,
                    "text": text,
                    "term": term,
                    "predictions": [{"id": pred, "label": pred, "probability": 1.0}],
                    "prediction": pred,
                    "correct": correct,
                }
            )
    scored = sum(total.values())
    summary: dict[str, Any] = {
        "n": len(cases),
        "errors": n_errors,
        "scored": scored,
        "accuracy": round(sum(right.values()) / scored, 4) if scored else None,
        "per_language": {
            lang: {"n": total[lang], "accuracy": round(right[lang] / total[lang], 4)}
            for lang in LANGUAGES
            if total[lang]
        },
        "gold_counts": {g: sum(confusion[g].values()) for g in STATUSES},
        "confusion": confusion,
        "recall": {g: round(confusion[g][g] / k, 4) if (k := sum(confusion[g].values())) else None for g in STATUSES},
        "ms_per_case_median": round(1000 * statistics.median(times), 4) if times else None,
        "set": path.name,
    }
    return summary, cases
