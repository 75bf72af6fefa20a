"""`codx bench speed`: ranking and inquiry-step latency on the hpo pack, one thread, synthetic patients."""

from __future__ import annotations

import resource
import time
from pathlib import Path
from typing import Any

import numpy as np

from codx.bench.report import machine, predictions
from codx.models.diagnosis.evidence import CaseEvidence, Observation
from codx.models.diagnosis.inquiry import rank_questions
from codx.models.diagnosis.model import DiagnosisModel
from codx.models.packs.store import load_pack
from codx.training.simulate import full_evidence, sample_cases


def _ms(samples: list[float]) -> dict[str, float]:
    a = np.array(samples) * 1000
    return {
        "p50_ms": round(float(np.median(a)), 3),
        "p95_ms": round(float(np.percentile(a, 95)), 3),
        "max_ms": round(float(a.max()), 3),
    }


def run_speed(
    model: DiagnosisModel, pack_folder: Path | None, n_cases: int = 300, seed: int = 0
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    kn = model.knowledge
    rng = np.random.default_rng(seed)
    cases = sample_cases(model, n_cases, rng)
    load_s = None
    if pack_folder is not None:
        t0 = time.perf_counter()
        load_pack(pack_folder)
        load_s = time.perf_counter() - t0
    for c in cases[:10]:  # warm-up
        model.rank(full_evidence(c))
    rank_t, step_t, per_case = [], [], []
    for c in cases:
        ev_full = full_evidence(c)
        t0 = time.perf_counter()
        ranking = model.rank(ev_full)
        rank_t.append(time.perf_counter() - t0)
        # one inquiry step from what the patient said first: update + EIG over every askable finding
        ev0 = CaseEvidence(observations=[Observation(finding=f, status=s) for f, s in c.initial.items()])
        t0 = time.perf_counter()
        nev = model.normalise(ev0)
        r0 = model.rank(nev)
        qs = rank_questions(kn, nev, r0)
        step_t.append(time.perf_counter() - t0)
        per_case.append(
            {
                "id": c.id,
                "gold": c.gold,
                "rank_ms": round(rank_t[-1] * 1000, 3),
                "step_ms": round(step_t[-1] * 1000, 3),
                "n_findings": len(c.initial) + len(c.answers),
                "best_question": kn.finding_ids[qs[0].finding] if qs and qs[0].finding >= 0 else None,
                "predictions": predictions(kn, ranking, k=5),
            }
        )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    summary = {
        **machine(),
        "diseases": kn.n_diseases,
        "findings": kn.n_findings,
        "askable_findings": int(kn.askable.sum()),
        "cases": len(cases),
        "rank": _ms(rank_t),
        "inquiry_step": _ms(step_t),
        "warm_pack_load_s": round(load_s, 3) if load_s is not None else None,
        "peak_rss_mb": round(peak_mb, 1),
    }
    return summary, per_case
