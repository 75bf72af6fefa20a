"""What every benchmark shares: the JSON shape of DESIGN section 4, ranking metrics and a printed table."""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from codx.models.diagnosis.knowledge import Knowledge
from codx.models.diagnosis.posterior import Ranking
from codx.models.diagnosis.scoring import GoldRank, labelled_top

TOP_N = 50


def predictions(kn: Knowledge, ranking: Ranking, mask: np.ndarray | None = None, k: int = TOP_N) -> list[dict]:
    """The top-50 predictions of DESIGN section 4."""
    return labelled_top(kn, ranking, k, mask)


def ranking_summary(ranks: Sequence[GoldRank], prefix: str = "") -> dict[str, float | int]:
    """top-1/3/10 and MRR over cases whose gold is in the packs, ties scored as a random order."""
    out: dict[str, float | int] = {f"{prefix}n": len(ranks)}
    if not ranks:
        return out
    for k in (1, 3, 10):
        out[f"{prefix}top{k}"] = round(float(np.mean([r.within(k) for r in ranks])), 4)
    out[f"{prefix}mrr"] = round(float(np.mean([r.reciprocal() for r in ranks])), 4)
    out[f"{prefix}cases_with_ties_at_gold"] = sum(r.tied > 0 for r in ranks)
    return out


def machine() -> dict[str, Any]:
    import torch

    return {
        "machine": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "torch_threads": torch.get_num_threads(),
    }


def write_report(path: Path, summary: dict[str, Any], cases: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps({"summary": summary, "cases": cases}, ensure_ascii=False, indent=1))
    tmp.replace(path)


def print_table(title: str, rows: Sequence[tuple[str, Any]], console: Console | None = None) -> None:
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for k, v in rows:
        table.add_row(k, f"{v:.4f}" if isinstance(v, float) else str(v))
    (console or Console()).print(table)
