import numpy as np
import pytest
from support.clinic import clinic_pack

from codx.bench.understanding import _score, lay_heldout_cases, read_translations, run_lay_heldout, run_translations
from codx.errors import InputFileError
from codx.models.diagnosis.model import DiagnosisModel, ModelCard
from codx.models.diagnosis.params import DiagnosisParams
from codx.models.language.encoder import MiniLMEncoder
from codx.models.language.retrieval import FindingIndex, index_phrases


@pytest.fixture(scope="module")
def kn():
    card = ModelCard(name="clinic", packs=[], params=DiagnosisParams(related_weight=0.0), training_data="t")
    return DiagnosisModel([clinic_pack()], card).knowledge


@pytest.fixture(scope="module")
def encoder():
    return MiniLMEncoder()


def test_paraphrases_find_their_finding(kn, encoder, tmp_path):
    index = FindingIndex.build(kn, encoder, tmp_path)
    hits = index.search(["I feel very hot, high temperature", "my head hurts", "sneezing a lot"], k=3)
    assert [kn.finding_ids[h[0].finding] for h in hits] == ["C:fever", "C:headache", "C:sneezing"]
    assert all(h[0].score > h[1].score for h in hits)


def test_a_described_finding_is_found_by_its_definition(encoder, tmp_path):
    """Patients describe what they cannot name; the ontology's definition is indexed for them."""
    definition = "Dryness of the mouth because too little saliva is made."

    def knowledge(described: bool):
        pack = clinic_pack()
        i = pack.finding_index["C:nausea"]
        pack.findings[i] = pack.findings[i].model_copy(
            update={
                "label": "Xerostomia",
                "lay_label": None,
                "lay_synonyms": [],
                "definition": definition if described else None,
            }
        )
        card = ModelCard(name="c", packs=[], params=DiagnosisParams(related_weight=0.0), training_data="t")
        return DiagnosisModel([pack], card).knowledge

    query = ["my mouth is dry and there is no spit"]
    with_definition, without = knowledge(True), knowledge(False)
    assert definition in index_phrases(with_definition)[0] and definition not in index_phrases(without)[0]
    (hits,) = FindingIndex.build(with_definition, encoder, tmp_path).search(query, k=3)
    assert with_definition.finding_ids[hits[0].finding] == "C:nausea"
    assert hits[0].phrase == definition


def test_index_is_cached_and_reused(kn, encoder, tmp_path):
    FindingIndex.build(kn, encoder, tmp_path)
    (cached,) = list(tmp_path.glob("*/vectors.npy"))

    class Refuses:
        name, dim = encoder.name, encoder.dim

        def encode(self, texts, kind="query", batch_size=64, progress=None):
            if kind == "passage":
                raise AssertionError("the cached vectors must be used")
            return encoder.encode(texts, kind)

    again = FindingIndex.build(kn, Refuses(), tmp_path)
    assert np.allclose(np.load(cached)[:1], encoder.encode([again.phrases[0]], "passage"), atol=1e-5)


def test_held_out_lay_words_are_not_in_the_index(kn, encoder, tmp_path):
    pairs = lay_heldout_cases(kn)
    assert (kn.finding_index["C:rhinorrhea"], "Runny nose") in pairs
    summary, cases = run_lay_heldout(kn, encoder, tmp_path)
    assert summary["n"] == len(pairs) == len(cases)
    assert 0.0 <= summary["top1"] <= summary["top5"] <= 1.0
    assert min(summary["top1_even"], summary["top1_odd"]) <= summary["top1"]
    assert summary["top1"] <= max(summary["top1_even"], summary["top1_odd"])
    assert all(c["predictions"] for c in cases)


def test_halves_split_by_case_number():
    """The odd half is the one no lexicon round reads: it must be scored on its own numbers."""
    s = _score([[1], [2], [3], [9, 4]], [1, 2, 3, 4], [0, 1, 2, 3])
    assert s == {"top1": 0.75, "top5": 1.0, "top1_even": 1.0, "top1_odd": 0.5}


def test_translations_file_is_scored_and_bad_files_are_named(kn, encoder, tmp_path):
    tsv = tmp_path / "hp-xx.babelon.tsv"
    tsv.write_text(
        "subject_id\tpredicate_id\ttranslation_value\nC:fever\trdfs:label\tfever high\n"
        "C:cough\trdfs:label\tcoughing\nNO:1\trdfs:label\tnothing\n",
        encoding="utf-8",
    )
    index = FindingIndex.build(kn, encoder, tmp_path)
    summary, cases = run_translations(kn, index, tsv)
    assert summary["n"] == 2 and summary["gold_not_askable_or_unknown"] == 1 and summary["top1"] == 1.0
    assert summary["top1_even"] == summary["top1_odd"] == 1.0  # rows 0 and 1 of the file
    assert len(cases) == 3
    bad = tmp_path / "bad.tsv"
    bad.write_text("a\tb\n1\t2\n")
    with pytest.raises(InputFileError, match="subject_id"):
        read_translations(bad)


def test_vignette_extraction_counts_findings_and_reports_bad_lines(kn, tmp_path):
    import json

    from codx.bench.understanding import run_vignette_extraction
    from codx.models.language.matcher import FindingMatcher

    case = {
        "OSCE_Examination": {
            "Patient_Actor": {
                "History": "Two days of fever and a sore throat.",
                "Symptoms": {"Primary_Symptom": "Sore throat", "Secondary_Symptoms": ["Headache"]},
                "Review_of_Systems": "Denies cough or runny nose.",
            }
        }
    }
    path = tmp_path / "cases.jsonl"
    path.write_text(json.dumps(case) + "\n{broken\n", encoding="utf-8")
    summary, cases = run_vignette_extraction(FindingMatcher(kn), path)
    assert summary["n"] == 2 and summary["errors"] == 1
    found = {(f["id"], f["status"]) for f in cases[0]["findings"]}
    assert {
        ("C:fever", "present"),
        ("C:headache", "present"),
        ("C:cough", "absent"),
        ("C:rhinorrhea", "absent"),
    } <= found
    assert summary["ms_per_case_median"] is not None
