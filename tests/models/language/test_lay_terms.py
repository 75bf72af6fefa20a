"""Everyday English searched in clinical words too: the rewrite and the index that uses it."""

from __future__ import annotations

from codx.models.diagnosis.knowledge import Knowledge
from codx.models.diagnosis.params import DiagnosisParams
from codx.models.language.encoder import MiniLMEncoder
from codx.models.language.lay_terms import RewritingIndex, clinical_rewrite
from codx.models.language.retrieval import FindingIndex, Hit


def test_rewrite_replaces_whole_phrases_longest_first_and_twice():
    assert clinical_rewrite("Outermost bone of the big toe") == "distal phalanx of the hallux"
    assert clinical_rewrite("Decreased size of head") == "microcephaly"  # -> "small head" -> microcephaly
    assert clinical_rewrite("Low blood sugar") == "hypoglycemia"  # not "decreased circulating sugar"
    assert clinical_rewrite("kidneyshaped") == "kidneyshaped"
    assert clinical_rewrite("nothing to change") == "nothing to change"
    assert clinical_rewrite("") == ""


def test_organ_nouns_become_adjectives_only_before_another_word():
    assert clinical_rewrite("kidney cysts") == "renal cysts"
    assert clinical_rewrite("cysts in the kidneys") == "cysts in the kidneys"  # a head noun stays a noun
    assert clinical_rewrite("Small heart") == "Small heart"
    assert clinical_rewrite("heart of the matter") == "heart of the matter"
    assert clinical_rewrite("belly pain") == "abdominal pain" and clinical_rewrite("pain in the belly") == (
        "pain in the abdomen"  # the unmarked entry for the noun
    )


class Scripted:
    """An index returning fixed hits per query, to check how the two searches are merged."""

    encoder = MiniLMEncoder

    def __init__(self, hits: dict[str, list[Hit]]):
        self.hits = hits
        self.asked: list[list[str]] = []

    def search(self, queries: list[str], k: int = 5, pool: int = 50) -> list[list[Hit]]:
        self.asked.append(list(queries))
        return [list(self.hits.get(q, [])) for q in queries]


def test_each_finding_keeps_its_better_score_and_unchanged_queries_are_searched_once():
    inner = Scripted(
        {
            "small head": [Hit(1, 0.6, "Small face"), Hit(2, 0.5, "Microcephaly")],
            "microcephaly": [Hit(2, 0.99, "Microcephaly"), Hit(3, 0.4, "Macrocephaly")],
            "cough": [Hit(4, 1.0, "Cough")],
        }
    )
    hits = RewritingIndex(inner).search(["small head", "cough"], k=2)
    assert [(h.finding, h.score) for h in hits[0]] == [(2, 0.99), (1, 0.6)]
    assert [h.finding for h in hits[1]] == [4]
    assert inner.asked == [["small head", "cough", "microcephaly"]]  # one search: one encoder call


def test_lay_words_reach_clinical_labels_minilm_misses(pack_builder):
    pack = pack_builder([("D:1", f"T:{f}", 0.5) for f in ("Tinnitus", "Dyspnea", "Epistaxis", "Headache", "Hematuria")])
    kn = Knowledge([pack], DiagnosisParams())
    index = FindingIndex.build(kn, MiniLMEncoder())
    queries = {"ringing in the ears": "T:Tinnitus", "nose bleeds": "T:Epistaxis", "blood in the urine": "T:Hematuria"}
    plain = [kn.finding_ids[h[0].finding] for h in index.search(list(queries), k=1)]
    rewritten = [kn.finding_ids[h[0].finding] for h in RewritingIndex(index).search(list(queries), k=1)]
    assert rewritten == list(queries.values())
    assert plain != rewritten  # MiniLM alone misses at least one of them


def test_patients_everyday_complaints(pack_builder):
    names = ("Nausea", "Vomiting", "Dysuria", "Syncope", "Lymphadenopathy", "Fever")
    kn = Knowledge([pack_builder([("D:1", f"T:{f}", 0.5) for f in names])], DiagnosisParams())
    reader = RewritingIndex(FindingIndex.build(kn, MiniLMEncoder()))
    said = {
        "burning when I pee": "T:Dysuria",
        "I blacked out twice": "T:Syncope",
        "I keep throwing up": "T:Vomiting",
        "my swollen glands": "T:Lymphadenopathy",
    }
    assert [kn.finding_ids[h[0].finding] for h in reader.search(list(said), k=1)] == list(said.values())
