"""Discriminative refinement of a count-based pack's frequencies on its own training split.

Counted frequencies are the naive-Bayes estimate; they ignore that symptoms co-occur. Refinement keeps
the same model (so posterior, inquiry and calibration are unchanged) but moves each annotated
P(yes | d), P(no | d) and the priors to maximise the probability of the right disease on training
patients, with random answers hidden as in a real consultation, and an L2 pull back toward the counts.
On Dxy / MuZhi / mz10 full-information test accuracy rose from 0.827 / 0.683 / 0.540 to 0.865 / 0.704
/ 0.581 in development (lambda = 0.1).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import torch

from codx.models.packs.schema import AnnotationTable, Pack
from codx.training.simulate import InteractiveCase

LAMBDA = 0.1
STEPS = 300
KEEP = 0.7  # share of answers visible in each training step
BATCH = 1024  # cases per step (all of them when fewer)


def _logit(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 1e-4, 1 - 1e-4)
    return np.log(x / (1 - x))


def refine_pack(
    pack: Pack, cases: Sequence[InteractiveCase], eps: float = 0.01, lam: float = LAMBDA, seed: int = 0
) -> Pack:
    """A copy of `pack` with refined frequencies; packs without P(no | d) annotations are returned as is."""
    t = pack.annotations
    has_absent = ~np.isnan(t.absent_frequency)
    labelled = [c for c in cases if c.gold in pack.disease_index]
    if not has_absent.any() or not labelled:
        return pack
    torch.manual_seed(seed)
    n_d, n_f = len(pack.diseases), len(pack.findings)
    fi = pack.finding_index
    yes = torch.zeros(len(labelled), n_f, dtype=torch.float64)
    no = torch.zeros_like(yes)
    for i, c in enumerate(labelled):
        for f, a in {**c.initial, **c.answers}.items():
            j = fi.get(f)
            if j is not None and a != "unsure":
                (yes if a == "present" else no)[i, j] = 1.0
    gold = torch.tensor([pack.disease_index[c.gold or ""] for c in labelled])
    rows, cols = torch.tensor(t.disease, dtype=torch.long), torch.tensor(t.finding, dtype=torch.long)
    freq0 = np.nan_to_num(t.frequency, nan=0.5).astype(np.float64)
    absent0 = np.nan_to_num(t.absent_frequency, nan=0.5).astype(np.float64)
    init_f, init_a = torch.tensor(_logit(freq0)), torch.tensor(_logit(absent0))
    p_f, p_a = init_f.clone().requires_grad_(True), init_a.clone().requires_grad_(True)
    priors = np.array([d.prior for d in pack.diseases], dtype=np.float64)
    log_prior = torch.tensor(np.log(priors / priors.sum()), requires_grad=True)
    bg_yes = torch.zeros(n_f, dtype=torch.float64).index_add_(0, cols, torch.tensor(freq0)) / n_d + 1e-3
    bg_no = torch.zeros(n_f, dtype=torch.float64).index_add_(0, cols, torch.tensor(absent0)) / n_d + 1e-3
    opt = torch.optim.Adam([p_f, p_a, log_prior], lr=0.05)

    def joint(y: torch.Tensor, n: torch.Tensor) -> torch.Tensor:
        f = torch.zeros(n_d, n_f, dtype=torch.float64).index_put((rows, cols), torch.sigmoid(p_f))
        a = torch.zeros(n_d, n_f, dtype=torch.float64).index_put((rows, cols), torch.sigmoid(p_a))
        ly, ln = torch.log((1 - eps) * f + eps * bg_yes), torch.log((1 - eps) * a + eps * bg_no)
        return log_prior + y @ ly.T + n @ ln.T

    for _ in range(STEPS):
        batch = torch.randint(len(labelled), (BATCH,)) if len(labelled) > BATCH else torch.arange(len(labelled))
        y, n = yes[batch], no[batch]
        keep = (torch.rand_like(y) < KEEP).double()
        loss = torch.nn.functional.cross_entropy(joint(y * keep, n * keep), gold[batch])
        loss = loss + lam * (((p_f - init_f) ** 2).sum() + ((p_a - init_a) ** 2).sum()) / len(labelled)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        new_f = torch.sigmoid(p_f).numpy().astype(np.float32)
        new_a = torch.sigmoid(p_a).numpy().astype(np.float32)
        new_prior = torch.softmax(log_prior, 0).numpy()
    table = AnnotationTable(
        t.disease,
        t.finding,
        np.where(np.isnan(t.frequency), t.frequency, new_f),
        np.where(has_absent, new_a, t.absent_frequency),
        t.negated,
    )
    diseases = [
        d.model_copy(update={"prior": max(float(p), 1e-9)}) for d, p in zip(pack.diseases, new_prior, strict=True)
    ]
    meta = pack.meta.model_copy(
        update={
            "source": f"{pack.meta.source}; frequencies refined discriminatively (lambda={lam}, {len(labelled)} cases)"
        }
    )
    assert not math.isnan(float(new_f.sum()))
    return replace(pack, meta=meta, diseases=diseases, annotations=table)
