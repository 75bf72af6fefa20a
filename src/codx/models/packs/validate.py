"""Consistency checks a pack must pass before anything scores with it."""

from __future__ import annotations

import numpy as np

from codx.models.packs.schema import Pack


def find_problems(pack: Pack) -> list[str]:
    """Every problem found, each phrased so the pack author knows what to fix. Empty list = valid."""
    problems: list[str] = []
    problems += _duplicates("disease", [d.id for d in pack.diseases])
    problems += _duplicates("finding", [f.id for f in pack.findings])
    problems += _duplicates("group", [g.id for g in pack.groups])
    f_index = pack.finding_index
    g_index = pack.group_index
    for f in pack.findings:
        for p in f.parents:
            if p not in f_index:
                problems.append(f"finding {f.id} has unknown parent {p}; add the parent or drop the link")
        if f.group is not None and f.group not in g_index:
            problems.append(f"finding {f.id} names unknown group {f.group}; add the group")
    problems += _cycles(pack)
    for old in pack.aliases:
        target, seen = old, set()
        while target in pack.aliases and target not in seen:
            seen.add(target)
            target = pack.aliases[target]
        if target not in f_index:
            problems.append(f"alias {old} -> {pack.aliases[old]} leads to no finding; fix or drop the alias")
    t = pack.annotations
    n_d, n_f = len(pack.diseases), len(pack.findings)
    if len(t):
        if t.disease.min() < 0 or t.disease.max() >= n_d or t.finding.min() < 0 or t.finding.max() >= n_f:
            problems.append("annotation rows point outside the disease or finding lists; rebuild the pack")
        for name, col in (("frequency", t.frequency), ("absent_frequency", t.absent_frequency)):
            known = col[~np.isnan(col)]
            if known.size and (known.min() < 0 or known.max() > 1):
                problems.append(f"annotation {name} outside [0, 1]; frequencies are probabilities")
        pairs = t.disease.astype(np.int64) * n_f + t.finding
        _, counts = np.unique(pairs, return_counts=True)
        if (counts > 1).any():
            problems.append(f"{int((counts > 1).sum())} disease-finding pairs are annotated twice; merge them")
    annotated = np.zeros(n_d, dtype=bool)
    annotated[t.disease] = True
    missing = [pack.diseases[i].id for i in np.flatnonzero(~annotated)[:5]]
    if missing:
        problems.append(
            f"{int((~annotated).sum())} diseases have no findings (e.g. {', '.join(missing)}); "
            "they can never be told apart"
        )
    return problems


def _duplicates(kind: str, ids: list[str]) -> list[str]:
    seen: set[str] = set()
    dups = sorted({i for i in ids if i in seen or seen.add(i)})  # type: ignore[func-returns-value]
    return [f"duplicate {kind} id {i}; ids must be unique" for i in dups[:20]]


def _cycles(pack: Pack) -> list[str]:
    """Iterative DFS over is-a links; a cycle makes true-path propagation undefined."""
    f_index = pack.finding_index
    parents = [[f_index[p] for p in f.parents if p in f_index] for f in pack.findings]
    state = np.zeros(len(parents), dtype=np.int8)  # 0 new, 1 on stack, 2 done
    for start in range(len(parents)):
        if state[start]:
            continue
        stack = [(start, 0)]
        state[start] = 1
        while stack:
            node, k = stack[-1]
            if k < len(parents[node]):
                stack[-1] = (node, k + 1)
                nxt = parents[node][k]
                if state[nxt] == 1:
                    return [f"is-a cycle through finding {pack.findings[nxt].id}; the hierarchy must be acyclic"]
                if state[nxt] == 0:
                    state[nxt] = 1
                    stack.append((nxt, 0))
            else:
                state[node] = 2
                stack.pop()
    return []
