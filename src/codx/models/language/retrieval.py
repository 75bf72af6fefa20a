"""Words to findings by meaning: an exact (FAISS inner-product) index over the embeddings of every askable
finding's label, synonyms, lay synonyms and definition, built once per pack set and encoder, cached on disk.

Exact phrase matches (lexical) win; embedding retrieval answers what the exact matcher cannot (other
languages, paraphrases, held-out lay words).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import faiss
import numpy as np

from codx.errors import EncoderError
from codx.models.diagnosis.knowledge import Knowledge
from codx.models.language.directions import PENALTY, conflicts, directions
from codx.models.language.encoder import TextEncoder
from codx.models.language.matcher import phrase_key
from codx.progress import Progress


@dataclass(frozen=True)
class Hit:
    finding: int  # index in Knowledge.findings
    score: float  # cosine similarity of the best phrase of that finding, less any direction penalty
    phrase: str
    definition: bool = False  # the phrase is the finding's definition, not a name for it


def best_per_finding(hits: list[Hit], k: int) -> list[Hit]:
    """The k best findings, each with its best-scoring hit (earlier hits win ties)."""
    best: dict[int, Hit] = {}
    for h in hits:
        if h.finding not in best or h.score > best[h.finding].score:
            best[h.finding] = h
    return sorted(best.values(), key=lambda h: -h.score)[:k]


class PhraseIndex(Protocol):
    """What the reader needs of an index: `FindingIndex`, or an adapter such as `gloss.GlossedIndex`."""

    encoder: TextEncoder

    def search(self, queries: list[str], k: int = 5, pool: int = 50) -> list[list[Hit]]: ...


def index_phrases(
    kn: Knowledge, exclude: set[tuple[int, str]] | None = None, lay_only: bool = False
) -> tuple[list[str], np.ndarray]:
    """(phrases, finding index per phrase) for every askable finding (`lay_only`: those with a lay label, the
    words patients use); the labels a pack gives in other languages and the finding's definition (patients
    describe what they cannot name: held-out lay words 0.743 -> 0.770 with it) are phrases too. `exclude` drops
    (finding, phrase) pairs (the benchmark holds lay synonyms out this way)."""
    phrases: list[str] = []
    owners: list[int] = []
    mask = kn.lay_askable if lay_only else kn.askable
    for j, f in enumerate(kn.findings):
        if not mask[j]:
            continue
        seen: set[tuple[str, ...]] = set()
        lay = [f.lay_label] if f.lay_label else []
        definition = [f.definition] if f.definition else []
        for p in [f.label, *(f.synonyms or []), *lay, *(f.lay_synonyms or []), *f.labels.values(), *definition]:
            key = phrase_key(p)
            if not key or key in seen or (exclude and (j, p) in exclude):
                continue
            seen.add(key)
            phrases.append(p)
            owners.append(j)
    return phrases, np.asarray(owners, dtype=np.int64)


class FindingIndex:
    def __init__(
        self, kn: Knowledge, encoder: TextEncoder, phrases: list[str], owners: np.ndarray, vectors: np.ndarray
    ):
        if vectors.shape != (len(phrases), encoder.dim):
            raise EncoderError(f"index vectors have shape {vectors.shape}; rebuild the index")
        self.kn, self.encoder, self.phrases, self.owners = kn, encoder, phrases, owners
        self.definitions = np.array([p == kn.findings[o].definition for p, o in zip(phrases, owners, strict=True)])
        self.index = faiss.IndexFlatIP(encoder.dim)
        self.index.add(np.ascontiguousarray(vectors, dtype=np.float32))

    @classmethod
    def build(
        cls,
        kn: Knowledge,
        encoder: TextEncoder,
        cache_dir: Path | None = None,
        exclude: set[tuple[int, str]] | None = None,
        progress: Progress | None = None,
        lay_only: bool = False,
    ) -> FindingIndex:
        phrases, owners = index_phrases(kn, exclude, lay_only)
        key = hashlib.sha256(("\n".join(phrases) + encoder.name).encode()).hexdigest()[:16]
        folder = cache_dir / f"{encoder.name}-{key}" if cache_dir else None
        if folder and (folder / "vectors.npy").exists():
            try:
                return cls(kn, encoder, phrases, owners, np.load(folder / "vectors.npy"))
            except (OSError, ValueError, EncoderError):
                pass  # corrupt cache: rebuild below
        vectors = encoder.encode(phrases, kind="passage", progress=progress)
        if folder:
            folder.mkdir(parents=True, exist_ok=True)
            np.save(folder / "vectors.tmp.npy", vectors)
            (folder / "vectors.tmp.npy").replace(folder / "vectors.npy")
            (folder / "meta.json").write_text(json.dumps({"encoder": encoder.name, "phrases": len(phrases)}))
        return cls(kn, encoder, phrases, owners, vectors)

    def search(self, queries: list[str], k: int = 5, pool: int = 50) -> list[list[Hit]]:
        """Best k findings per query (one hit per finding, its best phrase). A phrase pointing the other way
        than the query ("narrow" for "wide") loses `directions.PENALTY` per axis before findings are ranked."""
        if not queries:
            return []
        q = self.encoder.encode(queries, kind="query")
        scores, ids = self.index.search(np.ascontiguousarray(q, dtype=np.float32), min(pool, len(self.phrases)))
        out: list[list[Hit]] = []
        for query, row_s, row_i in zip(queries, scores, ids, strict=True):
            wanted = directions(query)
            hits: list[Hit] = []
            for s, i in zip(row_s, row_i, strict=True):
                if i < 0:
                    continue
                phrase = self.phrases[i]
                score = float(s) - (PENALTY * conflicts(wanted, directions(phrase)) if wanted else 0.0)
                hits.append(Hit(int(self.owners[i]), score, phrase, bool(self.definitions[i])))
            out.append(best_per_finding(hits, k))
        return out
