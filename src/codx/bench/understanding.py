"""`codx bench understanding`: words to findings, measured four ways (DESIGN section 4, issue 4).

(a) translated HPO labels (babelon TSV) -> HPO id by multilingual retrieval; (b) English lay synonyms held
out of the index -> id; (c) negation / uncertainty polarity on our own written sentences; (d) finding
extraction on AgentClinic vignettes (how many findings, how many map to pack terms).
"""

from __future__ import annotations

import csv
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import torch

from codx.errors import InputFileError
from codx.models.diagnosis.knowledge import Knowledge
from codx.models.language.encoder import TextEncoder
from codx.models.language.extract import FindingExtractor
from codx.models.language.lexical import english_reader
from codx.models.language.matcher import FindingMatcher, phrase_key
from codx.models.language.retrieval import FindingIndex, PhraseIndex, Progress

BATCH = 256


def read_translations(path: Path) -> list[tuple[str, str, str]]:
    """(case id, translated label, gold id) rows of a babelon TSV; raises with the columns it needs."""
    if not path.exists():
        raise InputFileError(f"{path} does not exist; pass an HPO babelon TSV")
    rows = []
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh, delimiter="\t")
        missing = {"subject_id", "translation_value"} - set(reader.fieldnames or [])
        if missing:
            raise InputFileError(
                f"{path} lacks the columns {sorted(missing)}; a babelon TSV has subject_id and translation_value"
            )
        for n, rec in enumerate(reader):
            if rec.get("predicate_id") not in (None, "", "rdfs:label"):
                continue
            text = (rec.get("translation_value") or "").strip()
            if text and rec.get("subject_id"):
                rows.append((f"{path.stem}-{n}", text, rec["subject_id"].strip()))
    return rows


def translation_language(path: Path) -> str:
    """The babelon `translation_language` of a file's first row ("" when the column is absent)."""
    with path.open(encoding="utf-8", newline="") as fh:
        row = next(csv.DictReader(fh, delimiter="\t"), None) or {}
    return (row.get("translation_language") or "").strip().lower()


def _score(hits_per_case: list[list[int]], gold: list[int], numbers: list[int]) -> dict[str, float]:
    """Top-1 / top-5, and top-1 on the even and odd case numbers: the lexicon and glossary rounds read the
    failures of the even half only, so the odd half estimates new words."""
    top1 = [bool(h) and h[0] == g for h, g in zip(hits_per_case, gold, strict=True)]
    top5 = [g in h[:5] for h, g in zip(hits_per_case, gold, strict=True)]

    def mean(xs: list[bool]) -> float:
        return round(float(np.mean(xs)), 4) if xs else 0.0

    return {
        "top1": mean(top1),
        "top5": mean(top5),
        "top1_even": mean([t for t, n in zip(top1, numbers, strict=True) if n % 2 == 0]),
        "top1_odd": mean([t for t, n in zip(top1, numbers, strict=True) if n % 2 == 1]),
    }


def run_translations(
    kn: Knowledge,
    index: PhraseIndex,
    path: Path,
    limit: int | None = None,
    progress: Progress | None = None,
    reader: str = "",
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    rows = read_translations(path)
    if limit:
        rows = rows[:limit]
    cases, gold_idx, hits_idx, numbers = [], [], [], []
    not_in_pack = 0
    t0 = time.perf_counter()
    for start in range(0, len(rows), BATCH):
        chunk = rows[start : start + BATCH]
        results = index.search([text for _, text, _ in chunk], k=50)
        for (cid, text, gold), hits in zip(chunk, results, strict=True):
            try:
                g = kn.resolve(gold)
            except Exception:  # noqa: BLE001 - an id this release does not know
                g = None
            preds = [
                {
                    "id": kn.finding_ids[h.finding],
                    "label": kn.findings[h.finding].label,
                    "probability": round(max(h.score, 0.0), 4),
                }
                for h in hits
            ]
            cases.append({"id": f"{reader}-{cid}" if reader else cid, "text": text, "gold": gold, "predictions": preds})
            if g is None or not kn.askable[g]:
                not_in_pack += 1
                continue
            gold_idx.append(g)
            hits_idx.append([h.finding for h in hits])
            numbers.append(int(cid.rsplit("-", 1)[1]))
        if progress:
            progress(f"{path.name} {start + len(chunk)}/{len(rows)}", (start + len(chunk)) / max(len(rows), 1))
    seconds = time.perf_counter() - t0
    summary = {
        "file": path.name,
        "reader": reader or index.encoder.name,
        "n": len(gold_idx),
        "gold_not_askable_or_unknown": not_in_pack,
        **_score(hits_idx, gold_idx, numbers),
        "ms_per_label": round(1000 * seconds / max(len(rows), 1), 2),
    }
    return summary, cases


def lay_heldout_cases(kn: Knowledge) -> list[tuple[int, str]]:
    """(finding, lay synonym) pairs whose words are not already a label or synonym of that finding."""
    out = []
    for j, f in enumerate(kn.findings):
        if not kn.askable[j]:
            continue
        known = {phrase_key(p) for p in [f.label, *f.synonyms]}
        for lay in f.lay_synonyms:
            if phrase_key(lay) not in known:
                out.append((j, lay))
    return out


def run_lay_heldout(
    kn: Knowledge,
    encoder: TextEncoder,
    cache_dir: Path | None,
    progress: Progress | None = None,
    app_reader: bool = False,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """`app_reader`: read as the app does (`lexical.english_reader`: clinical rewrite, lexical re-ordering);
    otherwise the encoder alone."""
    pairs = lay_heldout_cases(kn)
    dense = FindingIndex.build(kn, encoder, cache_dir, exclude=set(pairs), progress=progress)
    index: PhraseIndex = english_reader(dense) if app_reader else dense
    results = index.search([lay for _, lay in pairs], k=50)
    cases = [
        {
            "id": f"lay-{n}",
            "text": lay,
            "gold": kn.finding_ids[j],
            "predictions": [
                {
                    "id": kn.finding_ids[h.finding],
                    "label": kn.findings[h.finding].label,
                    "probability": round(max(h.score, 0.0), 4),
                }
                for h in hits
            ],
        }
        for n, ((j, lay), hits) in enumerate(zip(pairs, results, strict=True))
    ]
    summary = {
        "n": len(pairs),
        "encoder": encoder.name,
        "app_reader": app_reader,
        **_score([[h.finding for h in hits] for hits in results], [j for j, _ in pairs], list(range(len(pairs)))),
    }
    return summary, cases


def vignette_text(case: dict) -> str:
    """The patient's side of an AgentClinic OSCE case: what a patient could tell (history, symptoms, ROS)."""
    osce = case.get("OSCE_Examination", case)
    actor = osce.get("Patient_Actor", {}) if isinstance(osce, dict) else {}
    parts: list[str] = []

    def walk(v: Any) -> None:
        if isinstance(v, str):
            parts.append(v)
        elif isinstance(v, list):
            for x in v:
                walk(x)
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)

    for key in ("History", "Symptoms", "Review_of_Systems"):
        walk(actor.get(key))
    return "\n".join(parts)


def run_vignette_extraction(
    matcher: FindingMatcher | FindingExtractor, path: Path
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    if not path.exists():
        raise InputFileError(f"{path} does not exist; pass an AgentClinic .jsonl file")
    cases: list[dict[str, Any]] = []
    counts: Counter[str] = Counter()
    times: list[float] = []
    errors = 0
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh):
            if not line.strip():
                continue
            try:
                text = vignette_text(json.loads(line))
            except (json.JSONDecodeError, AttributeError) as exc:
                errors += 1
                cases.append({"id": f"line-{n + 1}", "gold": None, "predictions": [], "error": str(exc)})
                continue
            t0 = time.perf_counter()
            mentions = matcher.extract(text)
            times.append(time.perf_counter() - t0)
            counts.update(m.status for m in mentions)
            cases.append(
                {
                    "id": f"line-{n + 1}",
                    "gold": None,
                    "predictions": [],
                    "findings": [{"id": m.finding_id, "status": m.status, "span": m.span} for m in mentions],
                }
            )
    ok = [c for c in cases if "findings" in c]
    per = [len(c["findings"]) for c in ok]
    summary = {
        "file": path.name,
        "n": len(cases),
        "errors": errors,
        "findings": sum(per),
        "mapped_to_pack_terms": sum(per),
        "mean_findings_per_case": round(float(np.mean(per)), 2) if per else 0,
        "cases_without_findings": sum(p == 0 for p in per),
        "by_status": dict(counts),
        "ms_per_case_median": round(1000 * float(np.median(times)), 3) if times else None,
        "ms_per_case_p95": round(1000 * float(np.percentile(times, 95)), 3) if times else None,
    }
    return summary, cases


def run_message_speed(extractor: FindingExtractor, path: Path, repeats: int = 3) -> dict[str, Any]:
    """Milliseconds to read one patient message with the agent's extractor (exact + meaning), per language,
    after one warm-up pass; messages are the sentences of the polarity set (`language`, `text`)."""
    messages: list[tuple[str, str]] = []
    with Path(path).open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                row = json.loads(line)
                messages.append((row["language"], row["text"]))
    for lang, text in messages:
        extractor.extract(text, lang)
    per_lang: dict[str, list[float]] = {}
    for _ in range(repeats):
        for lang, text in messages:
            t0 = time.perf_counter()
            extractor.extract(text, lang)
            per_lang.setdefault(lang, []).append(1000 * (time.perf_counter() - t0))
    every = [t for ts in per_lang.values() for t in ts]

    def stats(ts: list[float]) -> dict[str, float]:
        return {
            "n": len(ts),
            "ms_p50": round(float(np.median(ts)), 2),
            "ms_p95": round(float(np.percentile(ts, 95)), 2),
            "ms_max": round(float(np.max(ts)), 2),
        }

    return {
        "threads": torch.get_num_threads(),
        "semantic": extractor.index_for("en") is not None,
        **stats(every),
        "by_language": {lang: stats(ts) for lang, ts in sorted(per_lang.items())},
    }
