"""Packs compiled into the arrays the posterior and the inquiry need.

`F` holds true-path frequencies: F[d, a] is the largest frequency of any finding at or below `a` that
disease d is annotated with (HPO's true-path rule: a patient with a specific term also has every
ancestor). Columns are stored CSC by hand (indptr / rows / values) because per-column scatter with
numpy is ~20x faster than scipy's sparse slicing for the few dozen columns a case touches.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.sparse import csr_matrix

from codx.errors import PackError, UnknownFindingError
from codx.models.diagnosis.params import DiagnosisParams
from codx.models.packs.schema import Disease, Finding, FindingGroup, Pack

#: Columns with at least this many diseases are kept dense too (general terms appear in most cases).
DENSE_COLUMN_MIN = 400
#: Findings whose `shared_information` column is kept (12.7k hpo diseases x 4 bytes each: ~13 MB).
SHARED_CACHE = 256


@dataclass(frozen=True)
class SparseColumns:
    """A diseases x findings matrix stored by column."""

    indptr: np.ndarray  # int64, len n_findings + 1
    rows: np.ndarray  # int32 disease indices
    values: np.ndarray  # float32

    def column(self, j: int, n_rows: int) -> np.ndarray:
        out = np.zeros(n_rows, dtype=np.float32)
        s, e = self.indptr[j], self.indptr[j + 1]
        out[self.rows[s:e]] = self.values[s:e]
        return out

    def nnz(self, j: int) -> int:
        return int(self.indptr[j + 1] - self.indptr[j])

    @classmethod
    def from_triples(cls, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, n_cols: int) -> SparseColumns:
        order = np.lexsort((rows, cols))
        rows, cols, vals = rows[order], cols[order], vals[order]
        indptr = np.zeros(n_cols + 1, dtype=np.int64)
        np.add.at(indptr, cols + 1, 1)
        return cls(np.cumsum(indptr), rows.astype(np.int32), vals.astype(np.float32))


class Knowledge:
    """One or several packs merged: diseases concatenated, findings unified by id."""

    def __init__(self, packs: Sequence[Pack], params: DiagnosisParams, pack_weights: dict[str, float] | None = None):
        if not packs:
            raise PackError("no pack given; build one with `codx pack build hpo`")
        self.pack_names = [p.meta.name for p in packs]
        self.params = params
        self.diseases: list[Disease] = []
        self.disease_pack: list[int] = []
        findings: dict[str, Finding] = {}
        parents: dict[str, set[str]] = {}
        self.aliases: dict[str, str] = {}
        groups: dict[str, FindingGroup] = {}
        for k, pack in enumerate(packs):
            self.diseases += pack.diseases
            self.disease_pack += [k] * len(pack.diseases)
            for f in pack.findings:
                findings.setdefault(f.id, f)
                parents.setdefault(f.id, set()).update(f.parents)
            self.aliases.update(pack.aliases)
            for g in pack.groups:
                groups.setdefault(g.id, g)
        self.disease_ids = [d.id for d in self.diseases]
        self.modified_diseases = [(i, d) for i, d in enumerate(self.diseases) if d.modifiers is not None]
        self.disease_index = {d: i for i, d in enumerate(self.disease_ids)}
        if len(self.disease_index) != len(self.disease_ids):
            raise PackError(f"packs {self.pack_names} share disease ids; give each pack its own id prefix")
        self.findings = list(findings.values())
        self.finding_ids = [f.id for f in self.findings]
        self.finding_index = {f: i for i, f in enumerate(self.finding_ids)}
        self.groups = list(groups.values())
        self.group_index = {g.id: i for i, g in enumerate(self.groups)}
        self.finding_group = np.array(
            [self.group_index.get(f.group, -1) if f.group else -1 for f in self.findings], dtype=np.int32
        )
        self.askable = np.array([f.askable for f in self.findings], dtype=bool)
        self.lay_askable = self.askable & np.array([bool(f.lay_label) for f in self.findings], dtype=bool)
        self.n_diseases, self.n_findings = len(self.diseases), len(self.findings)
        self._build_hierarchy(parents)
        self._build_priors(packs, pack_weights or {})
        self._build_matrices(packs)

    # -- hierarchy -------------------------------------------------------------------------------
    def _build_hierarchy(self, parents: dict[str, set[str]]) -> None:
        idx = self.finding_index
        par = [[idx[p] for p in sorted(parents[f]) if p in idx] for f in self.finding_ids]  # sorted: reproducible
        order = _topological(par)  # parents before children
        anc: list[np.ndarray] = [np.empty(0, np.int32)] * self.n_findings
        for j in order:
            a = {j}
            for p in par[j]:
                a.update(anc[p].tolist())
            anc[j] = np.array(sorted(a), dtype=np.int32)
        self.ancestors = anc  # ancestors-or-self
        self.parents = par
        children: list[list[int]] = [[] for _ in range(self.n_findings)]
        for j, ps in enumerate(par):
            for p in ps:
                children[p].append(j)
        self.children = children
        self.topo_order = order

    def descendants(self, j: int) -> np.ndarray:
        seen = {j}
        stack = [j]
        while stack:
            for c in self.children[stack.pop()]:
                if c not in seen:
                    seen.add(c)
                    stack.append(c)
        return np.fromiter(seen, dtype=np.int32)

    # -- priors ----------------------------------------------------------------------------------
    def _build_priors(self, packs: Sequence[Pack], pack_weights: dict[str, float]) -> None:
        logp = np.empty(self.n_diseases, dtype=np.float64)
        start = 0
        total_w = sum(pack_weights.get(p.meta.name, 1.0) for p in packs)
        for pack in packs:
            pri = np.array([d.prior for d in pack.diseases], dtype=np.float64) ** self.params.prior_strength
            w = pack_weights.get(pack.meta.name, 1.0) / total_w
            logp[start : start + len(pri)] = np.log(w) + np.log(pri / pri.sum())
            start += len(pri)
        self.log_prior = logp

    # -- likelihood matrices ---------------------------------------------------------------------
    def _with_base_rates(
        self, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A finding with a base rate b is present for disease d with F + (1 - F) * b: caused by d, or there
        anyway (a smoker with appendicitis). Without this, one comorbidity in a history ranks first every
        disease that lists it."""
        rated = [(j, f.base_rate) for j, f in enumerate(self.findings) if f.base_rate]
        if not rated:
            return rows, cols, vals
        keep = ~np.isin(cols, [j for j, _ in rated])
        new_r, new_c, new_v = [rows[keep]], [cols[keep]], [vals[keep]]
        for j, b in rated:
            col = np.zeros(self.n_diseases, dtype=np.float64)
            at = cols == j
            col[rows[at]] = vals[at]
            new_r.append(np.arange(self.n_diseases, dtype=rows.dtype))
            new_c.append(np.full(self.n_diseases, j, dtype=cols.dtype))
            new_v.append((col + (1.0 - col) * b).astype(vals.dtype))
        return np.concatenate(new_r), np.concatenate(new_c), np.concatenate(new_v)

    def _build_matrices(self, packs: Sequence[Pack]) -> None:
        p = self.params
        d_rows, f_cols, freqs, absent, neg = [], [], [], [], []
        offset = 0
        for pack in packs:
            t = pack.annotations
            fmap = np.array([self.finding_index[f.id] for f in pack.findings], dtype=np.int32)
            d_rows.append(t.disease.astype(np.int64) + offset)
            f_cols.append(fmap[t.finding])
            freqs.append(np.where(np.isnan(t.frequency), p.default_frequency, t.frequency))
            absent.append(t.absent_frequency)
            neg.append(t.negated)
            offset += len(pack.diseases)
        d = np.concatenate(d_rows) if d_rows else np.empty(0, np.int64)
        f = np.concatenate(f_cols) if f_cols else np.empty(0, np.int32)
        fr = np.concatenate(freqs).astype(np.float32)
        ab = np.concatenate(absent).astype(np.float32)
        ng = np.concatenate(neg)
        own = ~ng  # the diseases' own positive annotations (borrowed ones are appended below)
        self._build_coverage(d[own], f[own], fr[own])
        if p.related_weight > 0:
            bd, bf, bfr = self._related_annotations(d, f, fr, ng)
            d, f = np.concatenate([d, bd]), np.concatenate([f, bf])
            fr = np.concatenate([fr, bfr * p.related_weight]).astype(np.float32)
            ab = np.concatenate([ab, np.full(len(bd), np.nan, np.float32)])
            ng = np.concatenate([ng, np.zeros(len(bd), dtype=bool)])

        self.log_size = np.log1p(np.bincount(d[~ng], minlength=self.n_diseases).astype(np.float64))
        # true path: push every positive annotation to all ancestors, keep the max per (disease, term)
        pos = ~ng
        rows, cols, vals = _propagate(d[pos], f[pos], fr[pos], self.ancestors)
        rows, cols, vals = self._with_base_rates(rows, cols, vals)
        self.F = SparseColumns.from_triples(rows, cols, vals, self.n_findings)
        # the same matrix by disease (its `rows` are finding indices): the inquiry gathers top diseases
        self.F_by_disease = SparseColumns.from_triples(cols, rows, vals, self.n_diseases)
        # NOT annotations exclude the term and everything below it, except what the disease itself shows
        nrows, ncols = [], []
        with_not = np.isin(rows, np.unique(d[ng]))
        shown = set(zip(rows[with_not].tolist(), cols[with_not].tolist(), strict=True))
        for di, fi in zip(d[ng], f[ng], strict=True):
            desc = np.array([c for c in self.descendants(int(fi)).tolist() if (int(di), c) not in shown], np.int32)
            nrows.append(np.full(len(desc), di))
            ncols.append(desc)
        if nrows:
            nr, nc = np.concatenate(nrows), np.concatenate(ncols)
        else:
            nr, nc = np.empty(0, np.int64), np.empty(0, np.int32)
        ones = np.ones(len(nr), np.float32)
        self.excluded = SparseColumns.from_triples(nr, nc, ones, self.n_findings)
        self.excluded_by_disease = SparseColumns.from_triples(nc, nr, ones, self.n_diseases)
        has_ab = ~np.isnan(ab) & pos
        self.A = SparseColumns.from_triples(d[has_ab], f[has_ab], ab[has_ab], self.n_findings)
        self.A_by_disease = SparseColumns.from_triples(f[has_ab], d[has_ab], ab[has_ab], self.n_diseases)
        self.has_absent_model = np.zeros(self.n_findings, dtype=bool)
        self.has_absent_model[f[has_ab]] = True

        n_d = max(self.n_diseases, 1)
        nnz = np.diff(self.F.indptr)
        col_of = np.repeat(np.arange(self.n_findings), nnz)
        col_sum = np.bincount(col_of, weights=self.F.values, minlength=self.n_findings)
        # background rate: frequency-weighted share of diseases showing the finding, floored
        self.bg = np.clip(col_sum / n_d, 0.5 / n_d, 1.0)
        ab_of = np.repeat(np.arange(self.n_findings), np.diff(self.A.indptr))
        ab_sum = np.bincount(ab_of, weights=self.A.values, minlength=self.n_findings)
        self.bg_absent = np.clip(ab_sum / n_d, 0.5 / n_d, 1.0)
        self._shared: OrderedDict[int, np.ndarray] = OrderedDict()
        self._shared_lock = threading.Lock()
        self.dense_cols = {
            j: self.F.column(j, self.n_diseases) for j in np.flatnonzero(nnz >= DENSE_COLUMN_MIN).tolist()
        }

    def _build_coverage(self, d: np.ndarray, f: np.ndarray, fr: np.ndarray) -> None:
        """The arrays of `coverage`: each disease's own positive annotations with weights summing to 1, and
        for every finding the annotated terms at or below it (where it is a shared ancestor)."""
        terms, compact = np.unique(f, return_inverse=True)
        w = fr.astype(np.float64)
        total = np.bincount(d, weights=w, minlength=self.n_diseases)
        w = w / np.maximum(total[d], 1e-12)
        self.coverage_matrix = csr_matrix((w, (d, compact)), shape=(self.n_diseases, len(terms)))
        lens = np.array([len(self.ancestors[t]) for t in terms], dtype=np.int64)
        cols = np.concatenate([self.ancestors[t] for t in terms]) if len(terms) else np.empty(0, np.int32)
        rows = np.repeat(np.arange(len(terms)), lens)
        self._below = SparseColumns.from_triples(rows, cols, np.ones(len(rows), np.float32), self.n_findings)

    def coverage(self, present: Sequence[int]) -> np.ndarray:
        """Per disease, the frequency-weighted mean over its annotations of the information content of the
        most specific term it shares with the present findings (0 for an annotation unrelated to all):
        the `coverage_weight` term."""
        ic = self.information_content
        shared = set()
        for j in present:
            shared.update(self.ancestors[j].tolist())
        best = np.zeros(self.coverage_matrix.shape[1])
        below = self._below
        for a in sorted(shared, key=lambda a: ic[a]):  # ascending: the most informative shared term wins
            best[below.rows[below.indptr[a] : below.indptr[a + 1]]] = ic[a]
        return self.coverage_matrix @ best

    def related_entries(self) -> dict[int, set[int]]:
        """Entries of another namespace that describe the same disease: a single-gene entry for one of
        the disease's genes, or an entry with the same name (e.g. Orphanet's and OMIM's Jacobsen syndrome)."""
        single: dict[str, list[int]] = {}
        by_name: dict[str, list[int]] = {}
        for i, dis in enumerate(self.diseases):
            if len(dis.genes) == 1:
                single.setdefault(dis.genes[0], []).append(i)
            by_name.setdefault(_name_key(dis.name), []).append(i)
        related: dict[int, set[int]] = {}
        for i, dis in enumerate(self.diseases):
            ns = dis.id.split(":", 1)[0]
            cands = [o for g in dis.genes for o in single.get(g, ())] + by_name.get(_name_key(dis.name), [])
            sources = {o for o in cands if self.disease_ids[o].split(":", 1)[0] != ns}
            if sources:
                related[i] = sources
        return related

    def _related_annotations(
        self, d: np.ndarray, f: np.ndarray, fr: np.ndarray, negated: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Findings a disease borrows from its related entries (see `related_entries`).

        A finding the disease already has, or is annotated NOT to have, is never borrowed."""
        related = self.related_entries()
        order = np.argsort(d, kind="stable")
        d_s, f_s, fr_s, neg_s = d[order], f[order], fr[order], negated[order]
        starts = np.searchsorted(d_s, np.arange(self.n_diseases + 1))
        out_d, out_f, out_fr = [], [], []
        for i, sources in related.items():
            own = list(set(f_s[starts[i] : starts[i + 1]].tolist()))
            for o in sources:
                s, e = starts[o], starts[o + 1]
                keep = ~np.isin(f_s[s:e], own) & ~neg_s[s:e]
                out_d.append(np.full(int(keep.sum()), i))
                out_f.append(f_s[s:e][keep])
                out_fr.append(fr_s[s:e][keep])
        if not out_d:
            return np.empty(0, np.int64), np.empty(0, np.int32), np.empty(0, np.float32)
        return np.concatenate(out_d), np.concatenate(out_f), np.concatenate(out_fr)

    def column(self, j: int) -> np.ndarray:
        col = self.dense_cols.get(j)
        return col if col is not None else self.F.column(j, self.n_diseases)

    # -- ids -------------------------------------------------------------------------------------
    def resolve(self, finding_id: str) -> int:
        fid = finding_id.strip()
        seen: set[str] = set()
        while fid in self.aliases and fid not in seen:
            seen.add(fid)
            fid = self.aliases[fid]
        j = self.finding_index.get(fid)
        if j is None:
            raise UnknownFindingError(
                f"unknown finding {finding_id!r} (packs: {', '.join(self.pack_names)}); "
                "use an id from `codx pack info` or search by label"
            )
        return j

    @cached_property
    def information_content(self) -> np.ndarray:
        return -np.log(self.bg)

    def shared_information(self, j: int) -> np.ndarray:
        """Per disease, the information content of the most specific ancestor-or-self of finding j that the
        disease shows (true path), 0 where none: the `similarity_weight` term. Recently used findings are
        kept (a few hundred columns: ~13 MB on hpo); the app's threads share one model, hence the lock."""
        with self._shared_lock:
            cached = self._shared.get(j)
            if cached is not None:
                self._shared.move_to_end(j)
                return cached
        ic = self.information_content
        out = np.zeros(self.n_diseases, dtype=np.float32)
        for a in self.ancestors[j].tolist():
            rows = self.F.rows[self.F.indptr[a] : self.F.indptr[a + 1]]
            out[rows] = np.maximum(out[rows], np.float32(ic[a]))
        out.setflags(write=False)  # shared between callers
        with self._shared_lock:
            self._shared[j] = out
            if len(self._shared) > SHARED_CACHE:
                self._shared.popitem(last=False)
        return out


def _name_key(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", name.lower()).strip()


def _topological(parents: list[list[int]]) -> list[int]:
    n = len(parents)
    indeg = np.array([len(p) for p in parents])
    children: list[list[int]] = [[] for _ in range(n)]
    for j, ps in enumerate(parents):
        for p in ps:
            children[p].append(j)
    order = [j for j in range(n) if indeg[j] == 0]
    i = 0
    while i < len(order):
        for c in children[order[i]]:
            indeg[c] -= 1
            if indeg[c] == 0:
                order.append(c)
        i += 1
    if len(order) != n:
        raise PackError("the finding hierarchy has a cycle; run `codx pack validate` to find it")
    return order


def _propagate(
    d: np.ndarray, f: np.ndarray, fr: np.ndarray, ancestors: list[np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lens = np.array([len(ancestors[j]) for j in f], dtype=np.int64)
    rows = np.repeat(d, lens)
    cols = np.concatenate([ancestors[j] for j in f]) if len(f) else np.empty(0, np.int32)
    vals = np.repeat(fr, lens)
    n_f = len(ancestors)
    key = rows.astype(np.int64) * n_f + cols
    order = np.lexsort((-vals, key))
    key, vals = key[order], vals[order]
    first = np.ones(len(key), dtype=bool)
    first[1:] = key[1:] != key[:-1]
    key, vals = key[first], vals[first]
    return key // n_f, key % n_f, vals
