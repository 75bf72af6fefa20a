"""`codx bench phenopackets`: rank diseases from the phenotypes of GA4GH Phenopacket v2 cases.

Only `subject` and `phenotypicFeatures` are used for prediction; `interpretations` / `diseases` give the
gold for scoring and `metaData.externalReferences` the case's paper for the non-leaky subset (cases
whose paper is not among the gold disease's annotation references in phenotype.hpoa).
"""

from __future__ import annotations

import gzip
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel

from codx.bench.report import predictions, ranking_summary
from codx.errors import CaseError, InputFileError
from codx.models.diagnosis.evidence import CaseEvidence, Observation
from codx.models.diagnosis.model import DiagnosisModel
from codx.models.diagnosis.scoring import gold_rank

ExcludedMode = Literal["ignore", "use"]
_DURATION = re.compile(r"^P(?:(\d+(?:\.\d+)?)Y)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?")


class PhenopacketCase(BaseModel):
    id: str
    gold: str | None
    age_years: float | None = None
    sex: Literal["female", "male"] | None = None
    present: list[str]
    excluded: list[str]
    references: list[str] = []
    messages: list[str] = []


def iso_duration_years(text: str | None) -> float | None:
    if not text:
        return None
    m = _DURATION.match(text.strip())
    if not m or not any(m.groups()):
        return None
    y, mo, w, d = (float(g) if g else 0.0 for g in m.groups())
    return y + mo / 12 + w / 52.18 + d / 365.25


def parse_phenopacket(obj: Any, fallback_id: str) -> PhenopacketCase:
    """Raises CaseError (with the case id) for anything that is not a usable phenopacket."""
    if not isinstance(obj, dict):
        raise CaseError(f"case {fallback_id}: not a JSON object; each line must be one phenopacket", fallback_id)
    cid = str(obj.get("id") or fallback_id)
    try:
        return _parse(obj, cid)
    except CaseError:
        raise
    except (AttributeError, TypeError, ValueError) as exc:
        raise CaseError(f"case {cid}: not a GA4GH Phenopacket v2 ({type(exc).__name__}: {exc})", cid) from exc


def _obj(value: Any) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise TypeError(f"expected a JSON object, got {type(value).__name__}")
    return value


def _parse(obj: dict, cid: str) -> PhenopacketCase:
    feats = obj.get("phenotypicFeatures") or []
    if not isinstance(feats, list):
        raise CaseError(f"case {cid}: phenotypicFeatures must be a list", cid)
    present, excluded = [], []
    for f in feats:
        tid = _obj(_obj(f).get("type")).get("id")
        if not isinstance(tid, str) or not tid:
            raise CaseError(f"case {cid}: a phenotypic feature has no type.id; expected e.g. HP:0001250", cid)
        (excluded if f.get("excluded") else present).append(tid)
    subject = _obj(obj.get("subject"))
    sex = str(subject.get("sex", "")).lower()
    age = _obj(_obj(subject.get("timeAtLastEncounter")).get("age")).get("iso8601duration")
    gold = None
    for interp in obj.get("interpretations") or []:
        gold = _obj(_obj(_obj(interp).get("diagnosis")).get("disease")).get("id")
        if gold:
            break
    if gold is None:
        for dis in obj.get("diseases") or []:
            gold = _obj(_obj(dis).get("term")).get("id")
            if gold:
                break
    refs = [_obj(r).get("id") for r in _obj(obj.get("metaData")).get("externalReferences") or []]
    refs = [r for r in refs if isinstance(r, str)]
    age_years = iso_duration_years(age) if isinstance(age, str) else None
    messages = []
    if age_years is not None and age_years > 130:
        messages.append(f"age {age} is not plausible; ignored")
        age_years = None
    return PhenopacketCase(
        id=cid,
        gold=gold,
        age_years=age_years,
        sex=sex if sex in ("female", "male") else None,  # type: ignore[arg-type]
        present=present,
        excluded=excluded,
        references=refs,
        messages=messages,
    )


def read_phenopackets(path: Path) -> Iterator[PhenopacketCase | CaseError]:
    """Cases from a .jsonl / .jsonl.gz file or a folder of .json phenopackets; bad ones become errors."""
    if path.is_dir():
        files = sorted(path.glob("*.json"))
        if not files:
            raise InputFileError(f"{path} has no .json phenopackets")
        for f in files:
            try:
                yield parse_phenopacket(json.loads(f.read_text(encoding="utf-8")), f.stem)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                yield CaseError(f"case {f.stem}: not valid JSON ({exc})", f.stem)
            except CaseError as exc:
                yield exc
        return
    if not path.exists():
        raise InputFileError(f"{path} does not exist; pass a .jsonl(.gz) file or a folder of .json phenopackets")
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:  # type: ignore[operator]
        for n, line in enumerate(fh):
            if not line.strip():
                continue
            try:
                yield parse_phenopacket(json.loads(line), f"line-{n + 1}")
            except json.JSONDecodeError as exc:
                yield CaseError(f"case line-{n + 1}: not valid JSON ({exc.msg})", f"line-{n + 1}")
            except CaseError as exc:
                yield exc


def run_phenopackets(
    model: DiagnosisModel,
    path: Path,
    namespaces: list[str] | None = None,
    excluded: ExcludedMode = "ignore",
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    kn = model.knowledge
    mask = None
    if namespaces:
        mask = np.array([d.split(":", 1)[0] in namespaces for d in kn.disease_ids])
    refs = {d.id: set(d.references) for d in kn.diseases}
    cases: list[dict[str, Any]] = []
    ranks, nonleaky_ranks, times = [], [], []
    n_errors = n_with_gold = n_missing = n_messages = 0
    for item in read_phenopackets(path):
        if isinstance(item, CaseError):
            n_errors += 1
            cases.append({"id": item.case_id, "gold": None, "predictions": [], "error": str(item)})
            continue
        obs = [Observation(finding=f, status="present") for f in item.present]
        if excluded == "use":
            obs += [Observation(finding=f, status="absent") for f in item.excluded]
        t0 = time.perf_counter()
        ev = model.normalise(CaseEvidence(observations=obs, age_years=item.age_years, sex=item.sex))
        record: dict[str, Any] = {"id": item.id, "gold": item.gold}
        messages = item.messages + ev.messages
        if messages:
            n_messages += len(messages)
            record["messages"] = messages
        if not ev.present:
            n_errors += 1
            record.update(predictions=[], error=f"case {item.id}: no usable present phenotype; nothing to rank")
            cases.append(record)
            continue
        ranking = model.rank(ev)
        times.append(time.perf_counter() - t0)
        record["predictions"] = predictions(kn, ranking, mask)
        if item.gold is not None:
            n_with_gold += 1
            r = gold_rank(kn, ranking, item.gold, mask)
            record["gold_rank"] = None if r is None else r.expected
            if r is not None and r.tied:
                record["gold_tied_with"] = r.tied
            if r is None:
                n_missing += 1
            else:
                ranks.append(r)
                leaky = bool(set(item.references) & refs.get(item.gold, set()))
                record["leaky"] = leaky
                if not leaky:
                    nonleaky_ranks.append(r)
        cases.append(record)
    summary: dict[str, Any] = {
        "n": len(cases),
        "errors": n_errors,
        "input_messages": n_messages,
        "with_gold": n_with_gold,
        "gold_missing_from_pack": n_missing,
        "coverage": round(1 - n_missing / n_with_gold, 4) if n_with_gold else None,
        **ranking_summary(ranks, "inkb_"),
        **ranking_summary(nonleaky_ranks, "nonleaky_"),
        "ms_per_case_median": round(1000 * float(np.median(times)), 3) if times else None,
        "namespaces": namespaces or "all",
        "excluded_features": excluded,
        "model": model.card.name,
        "packs": [f"{p.name} {p.version}" for p in model.card.packs],
    }
    return summary, cases
