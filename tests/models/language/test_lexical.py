"""The lexical half of English retrieval: BM25 re-orders the encoder's findings, never rescores them."""

from __future__ import annotations

import pytest

from codx.models.diagnosis.knowledge import Knowledge
from codx.models.diagnosis.params import DiagnosisParams
from codx.models.language.encoder import MiniLMEncoder
from codx.models.language.lay_terms import RewritingIndex
from codx.models.language.lexical import WEIGHT, HybridIndex, stems
from codx.models.language.retrieval import FindingIndex, Hit

NAMES = ("Calcaneal_spur", "Plantar_fasciitis", "Heel_pain", "Microcephaly", "Cough")


class Scripted:
    """Fixed encoder hits per query, so the test decides what the encoder prefers."""

    encoder = MiniLMEncoder

    def __init__(self, hits: dict[str, list[Hit]]):
        self.hits = hits
        self.asked: list[tuple[list[str], int]] = []

    def search(self, queries: list[str], k: int = 5, pool: int = 50) -> list[list[Hit]]:
        self.asked.append((list(queries), k))
        return [list(self.hits.get(q, []))[:k] for q in queries]


@pytest.fixture
def dense(pack_builder) -> FindingIndex:
    kn = Knowledge([pack_builder([("D:1", f"T:{n}", 0.5) for n in NAMES])], DiagnosisParams())
    return FindingIndex.build(kn, MiniLMEncoder())


def fid(dense: FindingIndex, name: str) -> int:
    return dense.kn.finding_index[f"T:{name}"]


def test_a_shared_rare_word_moves_a_finding_first_and_scores_stay_cosines(dense):
    spur, fasciitis = fid(dense, "Calcaneal_spur"), fid(dense, "Plantar_fasciitis")
    query = "a bony spur under my foot"
    inner = Scripted({query: [Hit(fasciitis, 0.62, "Plantar_fasciitis"), Hit(spur, 0.60, "Calcaneal_spur")]})
    hits = HybridIndex(inner, dense).search([query], k=1)[0]
    assert [(h.finding, h.score) for h in hits] == [(spur, 0.60)]  # the cosine, not cosine + bonus
    assert inner.asked == [([query], 50)]  # the encoder's top 50 are re-ordered, then cut to k


def test_no_shared_word_or_a_too_large_gap_leaves_the_encoders_order(dense):
    spur, fasciitis, cough = fid(dense, "Calcaneal_spur"), fid(dense, "Plantar_fasciitis"), fid(dense, "Cough")
    inner = Scripted(
        {
            "it hurts when I stand": [Hit(fasciitis, 0.62, "p"), Hit(spur, 0.60, "c")],
            "a spur, I think": [Hit(cough, 0.60 + WEIGHT + 0.01, "x"), Hit(spur, 0.60, "c")],
            "": [Hit(cough, 0.5, "x")],
        }
    )
    hits = HybridIndex(inner, dense).search(["it hurts when I stand", "a spur, I think", ""], k=2)
    assert [h.finding for h in hits[0]] == [fasciitis, spur]
    assert [h.finding for h in hits[1]] == [cough, spur]  # the bonus is at most WEIGHT
    assert [h.finding for h in hits[2]] == [cough]


def test_the_clinical_rewrite_counts_as_the_querys_words(dense):
    assert "micro" in stems("microcephaly") and "micro" not in stems("small head")
    hits = HybridIndex(RewritingIndex(dense), dense).search(["small head"], k=1)[0]
    assert hits[0].finding == fid(dense, "Microcephaly")


def test_stems_drop_function_words_and_share_plurals():
    assert stems("Pain in the fingers") == ["pain", "finge"] == stems("pain of finger")
    assert stems("") == [] and stems("🙂") == []
