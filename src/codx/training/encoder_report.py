"""The encoder's evaluation and model card: dev-slice retrieval, the threshold table, and MODEL_CARD.md.

Kept apart from the training loop so the card can be read (and tested) without torch training code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from codx.bench.understanding import lay_heldout_cases
from codx.models.diagnosis.knowledge import Knowledge
from codx.models.language.encoder import MINILM_NAME, TextEncoder
from codx.models.language.extract import MIN_SCORE
from codx.models.language.retrieval import FindingIndex
from codx.models.language.trained import TRAINED_NAME
from codx.training.encoder_pairs import Pair

#: Clauses that name no finding (what a patient also says), for the threshold table: a threshold should
#: let few of them through. Written for codx; not from any dataset.
CONTROL_SENTENCES = [
    "I went to see my doctor yesterday",
    "my wife told me to come here",
    "I work in an office",
    "we had pasta for dinner",
    "I came by bus this morning",
    "my appointment was last week",
    "I am here for a check-up",
    "the weather has been cold",
    "I live with my two children",
    "I have been busy at work",
    "my mother came with me today",
    "I drove here by car",
    "I read about it on the internet",
    "my insurance covers this visit",
    "I usually walk the dog in the evening",
    "we moved to a new house last month",
    "I am a teacher at a primary school",
    "my son plays football on Saturdays",
    "I forgot my glasses at home",
    "thank you for seeing me so quickly",
]


#: Labels the dev slice is ranked among (its own findings' and a random sample of the others).
DEV_CANDIDATES = 3000


def dev_metrics(
    encoder: TextEncoder, dev: list[Pair], labels: dict[str, str], candidates: int = DEV_CANDIDATES, seed: int = 0
) -> dict[str, Any]:
    """Dev-slice phrases -> their finding, ranked among `candidates` labels: the dev findings' own and a
    seeded random sample of the others (top-1 / top-5). A sample keeps this to seconds, not minutes."""
    if not dev:
        return {"n": 0, "top1": 0.0, "top5": 0.0, "candidates": 0}
    own = list(dict.fromkeys(p.finding for p in dev if p.finding in labels))
    rest = sorted(set(labels) - set(own))
    pick = np.random.default_rng(seed).permutation(len(rest))[: max(0, candidates - len(own))]
    ids = own + [rest[i] for i in sorted(pick)]
    cand = encoder.encode([labels[f] for f in ids], kind="passage")
    q = encoder.encode([p.phrase for p in dev], kind="query")
    top = np.argsort(-(q @ cand.T), axis=1)[:, :5]
    where = {f: i for i, f in enumerate(ids)}
    gold = [where.get(p.finding, -1) for p in dev]
    return {
        "n": len(dev),
        "top1": round(float(np.mean([t[0] == g for t, g in zip(top, gold, strict=True)])), 4),
        "top5": round(float(np.mean([g in t for t, g in zip(top, gold, strict=True)])), 4),
        "candidates": len(ids),
    }


def threshold_table(
    kn: Knowledge, encoder: TextEncoder, cases: list[dict[str, Any]], cache_dir: Path | None
) -> list[dict[str, float]]:
    """Per cosine threshold: the share of held-out lay phrases whose best hit passes, how many of those are
    right, and the share of control sentences (no finding named) that pass: what `MIN_SCORE` is chosen from."""
    exclude = set(lay_heldout_cases(kn))
    index = FindingIndex.build(kn, encoder, cache_dir, exclude=exclude)
    controls = [hits[0].score if hits else 0.0 for hits in index.search(CONTROL_SENTENCES, k=1)]
    best = [(c["predictions"][0]["probability"], c["predictions"][0]["id"] == c["gold"]) for c in cases]
    rows = []
    for t in np.arange(0.4, 0.951, 0.05):
        passed = [ok for s, ok in best if s >= t]
        rows.append(
            {
                "threshold": round(float(t), 2),
                "lay_accepted": round(len(passed) / max(len(best), 1), 4),
                "lay_accepted_correct": round(float(np.mean(passed)), 4) if passed else 0.0,
                "controls_accepted": round(float(np.mean([s >= t for s in controls])), 4),
            }
        )
    return rows


def suggest_threshold(after: list[dict[str, float]], before: list[dict[str, float]]) -> float | None:
    """The highest threshold at which the trained encoder accepts at least as many right answers on the
    held-out lay phrases as MiniLM does at its own `MIN_SCORE` (so recall is kept, precision gained)."""
    base = MIN_SCORE[MINILM_NAME]
    ref = [r for r in before if abs(r["threshold"] - base) < 1e-9]
    if not ref:
        return None
    right = ref[0]["lay_accepted"] * ref[0]["lay_accepted_correct"]
    ok = [r["threshold"] for r in after if r["lay_accepted"] * r["lay_accepted_correct"] >= right]
    return max(ok) if ok else None


def model_card(m: dict[str, Any]) -> str:
    """MODEL_CARD.md from the manifest: data, parameters, metrics, and how the held-out words were kept out."""
    d, met = m["data"], m["metrics"]
    lb, la = met["lay_heldout_before"], met["lay_heldout_after"]
    db, da = met["dev_before"], met["dev_after"]
    lines = [
        f"# Encoder `{m['name']}` (weights sha256 {m['fingerprint'][:12]})",
        "",
        f"- Base: {m['base']['name']} ({m['base']['package']} {m['base']['version']}), "
        "fine-tuned by `codx train encoder`",
        f"- Created: {m['created']}; training {m['seconds']['train']} s, all {m['seconds']['total']} s",
        "- Packs: " + ", ".join(f"{p['name']} {p['version']}" for p in d["packs"]),
        f"- Use: English patient words -> finding (retrieval over the packs' phrases); {m['pooling']}",
        "",
        "## Data",
        "",
        f"{d['pairs_train']} (phrase, label) pairs of the same finding, from the packs' synonyms, lay labels, lay "
        f"synonyms and labels in {', '.join(d['languages'])}:",
        "",
        *(f"- {src}: {n}" for src, n in d["pairs_by_source"].items()),
        "",
        f"**Held out**: the {d['heldout_phrases']} phrases the benchmark queries ({d['heldout_from']}) are "
        f"removed on either side of a pair before training ({d['excluded_heldout_pairs']} pairs dropped): the "
        f"encoder never saw them. A dev slice of {d['pairs_dev']} pairs is removed the same way.",
        "",
        "## Parameters",
        "",
        *(f"- `{k}` = {v}" for k, v in m["parameters"].items()),
        "",
        "## Metrics",
        "",
        "| set | n | top-1 before | top-1 after | top-5 before | top-5 after |",
        "|---|---|---|---|---|---|",
        f"| held-out lay synonyms -> id (`run_lay_heldout`) | {la['n']} | {lb['top1']} | {la['top1']} | "
        f"{lb['top5']} | {la['top5']} |",
        f"| dev pairs: phrase -> finding among {da['candidates']} labels | {da['n']} | {db['top1']} | {da['top1']} | "
        f"{db['top5']} | {da['top5']} |",
        "",
        f"Loss (in-batch, no dropout) on 256 training pairs: {met['loss']['probe_before']} -> "
        f"{met['loss']['probe_after']}; training loss, first / last 50 steps: {met['loss']['train_first_50']} / "
        f"{met['loss']['train_last_50']}.",
        "",
        "## Thresholds",
        "",
        "The best hit's cosine decides whether a clause names a finding (`extract.MIN_SCORE`). Held-out lay "
        "phrases whose best hit passes, the share of those that are right, and the share of "
        f"{len(CONTROL_SENTENCES)} control clauses that name no finding which pass; after training, and before "
        f"({MINILM_NAME}):",
        "",
        "| threshold | lay accepted | accepted correct | controls accepted | before: lay accepted | accepted "
        "correct | controls accepted |",
        "|---|---|---|---|---|---|---|",
        *(
            f"| {r['threshold']} | {r['lay_accepted']} | {r['lay_accepted_correct']} | {r['controls_accepted']} "
            f"| {b['lay_accepted']} | {b['lay_accepted_correct']} | {b['controls_accepted']} |"
            for r, b in zip(met["thresholds"], met["thresholds_before"], strict=True)
        ),
        "",
        f"Suggested threshold: {met['suggested_min_score']}, the highest at which this encoder accepts at least "
        f"as many right answers as {MINILM_NAME} at its {MIN_SCORE[MINILM_NAME]} (codx uses "
        f"{MIN_SCORE[TRAINED_NAME]}).",
        "",
        "## Limits",
        "",
        "English only. Trained on terminology pairs, not on patient sentences; the held-out lay words are "
        "HPO's own, so the held-out numbers say how well it generalises to unseen lay wording of terms it "
        "knows, not to everything a patient may say.",
        "",
    ]
    return "\n".join(lines)


__all__ = ["CONTROL_SENTENCES", "dev_metrics", "model_card", "suggest_threshold", "threshold_table"]
