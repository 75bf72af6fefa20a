"""The hand-written `common` pack: it builds, and its content keeps the promises the pack makes."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from codx.errors import PackError
from codx.models.packs.common import DATA_DIR, LANGUAGES, MAX_FINDINGS, MIN_FINDINGS, build_common_pack
from codx.models.packs.validate import find_problems


@pytest.fixture(scope="module")
def common():
    return build_common_pack()


def test_builds_valid_and_large(common):
    assert find_problems(common) == []
    assert len(common.diseases) >= 400
    assert len({d.id for d in common.diseases}) == len(common.diseases)
    assert len({f.id for f in common.findings}) == len(common.findings)


def test_every_condition_is_complete(common):
    per_disease = np.bincount(common.annotations.disease, minlength=len(common.diseases))
    assert per_disease.min() >= MIN_FINDINGS and per_disease.max() <= MAX_FINDINGS
    for d in common.diseases:
        assert d.icd10 and d.urgency and d.references, d.id
        assert 0 < d.prior <= 1
        assert set(d.red_flags) <= {
            common.findings[j].id
            for j in common.annotations.finding[common.annotations.disease == common.disease_index[d.id]]
        }
    freq = common.annotations.frequency
    assert np.isfinite(freq).all() and freq.min() >= 0 and freq.max() <= 1


def test_every_finding_can_be_asked_in_six_languages(common):
    for f in common.findings:
        assert f.lay_label, f.id
        assert all(f.labels.get(lang) for lang in ("en", *LANGUAGES)), f.id
        if f.id.startswith("HP:"):
            assert f.label and not f.label.startswith("HP:")


def test_hpo_terms_carry_their_definition(common):
    fever = common.findings[common.finding_index["HP:0001945"]]
    assert fever.definition and "temperature" in fever.definition
    assert all(f.definition is None for f in common.findings if f.id.startswith("common:"))


def test_conditions_are_told_apart(common):
    """No two conditions share (nearly) one profile: L1 distance of their frequency vectors >= 1."""
    n_d, n_f = len(common.diseases), len(common.findings)
    m = np.zeros((n_d, n_f))
    t = common.annotations
    m[t.disease, t.finding] = t.frequency
    dist = np.abs(m[:, None, :] - m[None, :, :]).sum(-1) if n_d < 200 else None
    if dist is None:  # blockwise to keep memory small
        worst = np.inf
        for i in range(0, n_d, 64):
            block = np.abs(m[i : i + 64, None, :] - m[None, :, :]).sum(-1)
            for r in range(block.shape[0]):
                block[r, i + r] = np.inf
            worst = min(worst, float(block.min()))
    else:
        np.fill_diagonal(dist, np.inf)
        worst = float(dist.min())
    assert worst >= 1.0


def test_emergencies_are_marked(common):
    by_name = {d.id: d for d in common.diseases}
    for cid in (
        "common:acute_myocardial_infarction",
        "common:ischaemic_stroke",
        "common:sepsis",
        "common:anaphylaxis",
        "common:ectopic_pregnancy",
        "common:bacterial_meningitis",
        "common:testicular_torsion",
    ):
        assert by_name[cid].urgency == "emergency", cid
    assert by_name["common:common_cold"].urgency == "self_care"
    assert by_name["common:common_cold"].prior > by_name["common:aortic_dissection"].prior


def _copy_data(tmp_path: Path) -> Path:
    root = tmp_path / "common"
    shutil.copytree(DATA_DIR, root)
    return root


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("HP:0012735: ", "HP:9999999: ", "HP:9999999 is not a current HPO term"),
        ("icd10: J00", "icd10: cold", "icd10"),
        ("prevalence: very_common", "prevalence: everywhere", "prevalence"),
    ],
)
def test_authoring_mistakes_are_named(tmp_path, old, new, message):
    root = _copy_data(tmp_path)
    _edit(root / "conditions" / "respiratory.yaml", old, new)
    with pytest.raises(PackError, match=message):
        build_common_pack(root)


def test_missing_translation_and_bad_red_flag_are_named(tmp_path):
    root = _copy_data(tmp_path)
    _edit(root / "findings" / "core.yaml", "hi: धूम्रपान", "hi: ''")
    with pytest.raises(PackError, match="common:smoker lacks labels in hi"):
        build_common_pack(root)
    root = _copy_data(tmp_path / "b")
    path = root / "conditions" / "respiratory.yaml"
    text = path.read_text(encoding="utf-8")
    first = text.index("red_flags:")
    line_end = text.index("\n", first)
    path.write_text(text[:first] + "red_flags: [HP:0001250]" + text[line_end:], encoding="utf-8")
    with pytest.raises(PackError, match="red flag HP:0001250 is not among its findings"):
        build_common_pack(root)
