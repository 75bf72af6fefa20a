"""Importers that build packs from user files: DDXPlus, Diaformer goal sets, exp/imp symptom files."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from codx.errors import CaseError, InputFileError, PackError
from codx.models.packs.counts import Observation, build_count_pack
from codx.models.packs.ddxplus import build_ddxplus_pack, ddxplus_case_findings, disease_id
from codx.models.packs.expimp import build_expimp_pack
from codx.models.packs.goalset import build_goalset_pack
from codx.models.packs.schema import Pack, PackMeta
from codx.models.packs.validate import find_problems

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "interactive"


def _write(path: Path, doc: object) -> Path:
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def _ann(pack: Pack, disease: str, finding: str) -> tuple[float | None, float | None] | None:
    for a in pack.iter_annotations():
        if a.disease == disease and a.finding == finding:
            return a.frequency, a.absent_frequency
    return None


# ---- DDXPlus ----------------------------------------------------------------------------------------------

_PLACES = {"V_123": ("nulle part", "nowhere"), "V_1": ("front", "forehead"), "V_2": ("nez", "nose")}
_TRAVEL = {"V_10": ("N", "N"), "V_0": ("Asie", "Asia")}


def _evidence(name, question_en, question_fr, data_type, default=0, values=(), meaning=None, gate=None):
    return {
        "name": name,
        "code_question": gate or name,
        "question_en": question_en,
        "question_fr": question_fr,
        "is_antecedent": False,
        "data_type": data_type,
        "default_value": default,
        "possible-values": list(values),
        "value_meaning": {k: {"fr": fr, "en": en} for k, (fr, en) in (meaning or {}).items()},
    }


def _tiny_kb(folder: Path, with_stats: bool = True) -> Path:
    """Two conditions, five evidences: binary, a gate, multi-choice, numeric scale, categorical."""
    en = {
        "E_1": _evidence("E_1", "Do you have a fever?", "Avez-vous de la fièvre?", "B"),
        "E_2": _evidence("E_2", "Do you have pain?", "Avez-vous mal?", "B"),
        "E_3": _evidence("E_3", "Where is the pain?", "Où avez-vous mal?", "M", "V_123", _PLACES, _PLACES, gate="E_2"),
        "E_4": _evidence("E_4", "How intense?", "Intensité?", "C", 0, range(4), gate="E_2"),
        "E_5": _evidence("E_5", "Have you traveled?", "Avez-vous voyagé?", "C", "V_10", _TRAVEL, _TRAVEL),
    }
    conditions = {
        "Flu": {
            "condition_name": "Flu",
            "cond-name-fr": "Grippe",
            "cond-name-eng": "Flu",
            "icd10-id": "j11",
            "symptoms": {"E_1": {}, "E_2": {}, "E_3": {}, "E_4": {}},
            "antecedents": {"E_5": {}},
            "severity": 3,
        },
        "Guillain-Barré syndrome": {
            "condition_name": "Guillain-Barré syndrome",
            "cond-name-fr": "Syndrome de Guillain-Barré",
            "cond-name-eng": "Guillain-Barré syndrome",
            "icd10-id": "G61.0",
            "symptoms": {"E_2": {}},
            "antecedents": {},
            "severity": 1,
        },
    }
    folder.mkdir(parents=True, exist_ok=True)
    _write(folder / "release_evidences_en.json", en)
    _write(folder / "release_conditions_en.json", conditions)
    if with_stats:
        fr_places = {"nulle_part": _PLACES["V_123"], "front": _PLACES["V_1"], "nez": _PLACES["V_2"]}
        fr_travel = {"N": _TRAVEL["V_10"], "Asie": _TRAVEL["V_0"]}
        fr = {
            "fievre": _evidence("fievre", "Do you have a fever?", "Avez-vous de la fièvre?", "B"),
            "douleur": _evidence("douleur", "Do you have pain?", "Avez-vous mal?", "B"),
            "endroit": _evidence(
                "endroit", "Where is the pain?", "Où?", "M", "nulle_part", fr_places, fr_places, "douleur"
            ),
            "intens": _evidence("intens", "How intense?", "Intensité?", "C", 0, range(4), gate="douleur"),
            "trav": _evidence("trav", "Have you traveled?", "Voyage?", "C", "N", fr_travel, fr_travel),
        }
        _write(folder / "release_evidences_fr.json", fr)
        stats = {
            "Grippe": {
                "prior": 0.75,
                "findings": {
                    "fievre": 0.9,
                    "douleur": 0.6,
                    "endroit": {"front": 0.5, "nez": 0.1, "nulle_part": 0.4},
                    "intens": {"0": 0.4, "2": 0.6},
                    "trav": {"N": 0.95, "Asie": 0.05},
                },
            },
            "Syndrome de Guillain-Barré": {"prior": 0.25, "findings": {"douleur": 1.0}},
        }
        _write(folder / "ddxplus_bed_stats_4_fr.json", stats)
    return folder


def test_ddxplus_ids_groups_and_defaults(tmp_path: Path) -> None:
    pack = build_ddxplus_pack(_tiny_kb(tmp_path))
    assert [f.id for f in pack.findings] == [
        "ddx:E_1",
        "ddx:E_2",
        "ddx:E_3=V_1",
        "ddx:E_3=V_2",
        "ddx:E_4=1",
        "ddx:E_4=2",
        "ddx:E_4=3",
        "ddx:E_5=V_0",
    ]  # no finding for the defaults V_123 "nowhere", 0, V_10 "N"
    assert [(g.id, g.kind, g.question) for g in pack.groups] == [
        ("ddx:E_3", "multi", "Where is the pain?"),
        ("ddx:E_4", "categorical", "How intense?"),
        ("ddx:E_5", "categorical", "Have you traveled?"),
    ]
    f = {x.id: x for x in pack.findings}
    assert f["ddx:E_3=V_1"].group == "ddx:E_3" and f["ddx:E_3=V_1"].parents == ["ddx:E_2"]
    assert f["ddx:E_5=V_0"].parents == [] and f["ddx:E_1"].labels["fr"] == "Avez-vous de la fièvre?"
    assert "forehead" in f["ddx:E_3=V_1"].label
    assert find_problems(pack) == []


def test_ddxplus_diseases_and_stats_frequencies(tmp_path: Path) -> None:
    pack = build_ddxplus_pack(_tiny_kb(tmp_path))
    flu, gbs = pack.diseases
    assert (flu.id, flu.name, flu.synonyms, flu.icd10, flu.prior, flu.urgency) == (
        "ddx:flu",
        "Flu",
        ["Grippe"],
        "J11",
        0.75,
        "routine",
    )
    assert gbs.id == "ddx:guillain_barre_syndrome" and gbs.urgency == "emergency" and gbs.prior == 0.25
    assert _ann(pack, "ddx:flu", "ddx:E_1") == (pytest.approx(0.9), None)
    assert _ann(pack, "ddx:flu", "ddx:E_3=V_1") == (pytest.approx(0.5), None)
    assert _ann(pack, "ddx:flu", "ddx:E_4=2") == (pytest.approx(0.6), None)
    assert _ann(pack, "ddx:flu", "ddx:E_5=V_0") == (pytest.approx(0.05), None)
    assert _ann(pack, "ddx:flu", "ddx:E_4=1") is None  # not in the stats: unannotated
    assert len(pack.annotations) == 7  # flu: E_1, E_2, E_3=V_1, E_3=V_2, E_4=2, E_5=V_0; GBS: E_2
    assert "bed stats" in pack.meta.description


def test_ddxplus_without_stats_has_unknown_frequencies(tmp_path: Path) -> None:
    pack = build_ddxplus_pack(_tiny_kb(tmp_path, with_stats=False))
    assert [d.prior for d in pack.diseases] == [1.0, 1.0]
    assert all(a.frequency is None for a in pack.iter_annotations())
    # flu lists E_1, E_2 (binary), E_3 (2 values), E_4 (3 values), E_5 (1 value); GBS lists E_2
    assert len(pack.annotations) == 8 + 1
    assert find_problems(pack) == []


def test_ddxplus_explicit_stats_file_needs_french_evidences(tmp_path: Path) -> None:
    kb = _tiny_kb(tmp_path / "kb")
    stats = tmp_path / "elsewhere" / "stats.json"
    stats.parent.mkdir()
    stats.write_bytes((kb / "ddxplus_bed_stats_4_fr.json").read_bytes())
    assert build_ddxplus_pack(kb, stats).diseases[0].prior == 0.75  # French file found in kb_dir
    (kb / "release_evidences_fr.json").unlink()
    with pytest.raises(InputFileError, match="release_evidences_fr.json"):
        build_ddxplus_pack(kb, stats)


def test_ddxplus_bad_files(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="does not exist"):
        build_ddxplus_pack(tmp_path)
    kb = _tiny_kb(tmp_path / "kb", with_stats=False)
    (kb / "release_evidences_en.json").write_text("{not json")
    with pytest.raises(InputFileError, match="not valid JSON"):
        build_ddxplus_pack(kb)
    _write(kb / "release_evidences_en.json", {"E_1": {"name": "E_1", "data_type": "X", "question_en": "?"}})
    with pytest.raises(InputFileError, match="E_1.*DDXPlus release"):
        build_ddxplus_pack(kb)


def test_ddxplus_case_findings(tmp_path: Path) -> None:
    pack = build_ddxplus_pack(_tiny_kb(tmp_path))
    answers = ddxplus_case_findings(["E_2", "E_3_@_V_2", "E_4_@_3", "E_5_@_V_10"], pack)
    present = {k for k, v in answers.items() if v == "present"}
    assert present == {"ddx:E_2", "ddx:E_3=V_2", "ddx:E_4=3"}
    assert set(answers) == {f.id for f in pack.findings}  # everything else definite: absent
    with pytest.raises(CaseError, match="E_99"):
        ddxplus_case_findings(["E_99"], pack)
    with pytest.raises(CaseError, match="needs a value"):
        ddxplus_case_findings(["E_3"], pack)


def test_disease_id_slug() -> None:
    assert disease_id("Bronchospasm / acute asthma exacerbation") == "ddx:bronchospasm_acute_asthma_exacerbation"
    assert disease_id("HIV (initial infection)") == "ddx:hiv_initial_infection"


# ---- goal sets ------------------------------------------------------------------------------------------


def _goal(tag: str, explicit: dict, implicit: dict) -> dict:
    return {
        "disease_tag": tag,
        "goal": {"explicit_inform_slots": explicit, "implicit_inform_slots": implicit},
    }


def _goalset(tmp_path: Path) -> Path:
    return _write(
        tmp_path / "goal.json",
        {
            "train": [
                _goal("flu", {"fever": True}, {"cough": "False"}),
                _goal("flu", {"fever": "True"}, {}),
                _goal("common cold", {"cough": True}, {"runny nose": True}),
            ],
            "test": [_goal("flu", {"rash": True}, {})],  # never read by the builder
        },
    )


def test_goalset_pack_counts_and_smoothing(tmp_path: Path) -> None:
    pack = build_goalset_pack(_goalset(tmp_path), "toy")
    assert [(d.id, d.name, d.prior) for d in pack.diseases] == [
        ("toy:common_cold", "common cold", 2.0),
        ("toy:flu", "flu", 3.0),
    ]
    assert [f.id for f in pack.findings] == ["toy:cough", "toy:fever", "toy:runny_nose"]
    assert [f.label for f in pack.findings][2] == "runny nose"
    # N = 3; fever bg yes 2/3, no 0; cough bg yes 1/3, no 1/3; runny nose bg yes 1/3; s = 1
    assert _ann(pack, "toy:flu", "toy:fever") == (pytest.approx(8 / 9), pytest.approx(0.0))
    assert _ann(pack, "toy:flu", "toy:cough") == (pytest.approx(1 / 9), pytest.approx(4 / 9))
    assert _ann(pack, "toy:common_cold", "toy:cough") == (pytest.approx(2 / 3), pytest.approx(1 / 6))
    assert _ann(pack, "toy:common_cold", "toy:runny_nose") == (pytest.approx(2 / 3), pytest.approx(0.0))
    assert _ann(pack, "toy:flu", "toy:runny_nose") is None and _ann(pack, "toy:common_cold", "toy:fever") is None
    assert len(pack.annotations) == 4
    assert find_problems(pack) == []
    assert pack.meta.languages == ["en"]


def test_goalset_smoothing_zero_is_raw_rate(tmp_path: Path) -> None:
    pack = build_goalset_pack(_goalset(tmp_path), "toy", smoothing=0.0)
    assert _ann(pack, "toy:flu", "toy:cough") == (pytest.approx(0.0), pytest.approx(0.5))


def test_goalset_chinese_names(tmp_path: Path) -> None:
    path = _write(tmp_path / "zh.json", {"train": [_goal("小儿腹泻", {"腹泻": True}, {"发热": False})]})
    pack = build_goalset_pack(path, "dxy")
    assert {f.id for f in pack.findings} == {"dxy:腹泻", "dxy:发热"}
    assert pack.diseases[0].id == "dxy:小儿腹泻" and pack.meta.languages == ["zh"]


def test_goalset_bad_files(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="does not exist"):
        build_goalset_pack(tmp_path / "missing.json", "toy")
    no_train = _write(tmp_path / "a.json", {"test": []})
    with pytest.raises(InputFileError, match="no 'train' split.*test"):
        build_goalset_pack(no_train, "toy")
    cod = _write(tmp_path / "cod.json", [{"explicit_symptoms": [["fever", "True"]], "disease": "flu"}])
    with pytest.raises(InputFileError, match="Chain-of-Diagnosis"):
        build_goalset_pack(cod, "toy")
    bad_value = _write(tmp_path / "b.json", {"train": [_goal("flu", {"fever": "maybe"}, {})]})
    with pytest.raises(InputFileError, match="record 0"):
        build_goalset_pack(bad_value, "toy")
    no_label = _write(tmp_path / "c.json", {"train": [{"goal": {"explicit_inform_slots": {"fever": True}}}]})
    with pytest.raises(InputFileError, match="disease_tag"):
        build_goalset_pack(no_label, "toy")
    clash = _write(tmp_path / "d.json", {"train": [_goal("flu", {"sore throat": True, "sore_throat": True}, {})]})
    with pytest.raises(InputFileError, match="rename"):
        build_goalset_pack(clash, "toy")
    with pytest.raises(PackError, match="lowercase"):
        build_goalset_pack(_goalset(tmp_path), "Bad Name")


_observations = st.lists(
    st.builds(
        Observation,
        st.sampled_from(["a", "b", "c d"]),
        st.dictionaries(
            st.sampled_from(["x", "y", "z w"]), st.sampled_from(["present", "absent", "unsure"]), min_size=1
        ),
    ),
    min_size=1,
    max_size=30,
)


@given(_observations, st.floats(0, 10))
def test_count_pack_frequencies_are_probabilities(observations: list[Observation], smoothing: float) -> None:
    pack = build_count_pack(observations, PackMeta(name="p", version="0"), smoothing)
    t = pack.annotations
    assert (t.frequency >= 0).all() and (t.absent_frequency >= 0).all()
    assert (t.frequency + t.absent_frequency <= 1 + 1e-6).all()  # the rest is "not mentioned"
    assert sum(d.prior for d in pack.diseases) == len(observations) + len(pack.diseases)
    assert find_problems(pack) == []


# ---- exp/imp files ----------------------------------------------------------------------------------------


def test_expimp_pack_unsure_counts_as_neither(tmp_path: Path) -> None:
    path = tmp_path / "train.jsonl"
    path.write_text(
        json.dumps({"pid": "a", "exp_sxs": {"fever": "1"}, "imp_sxs": {"cough": "2"}, "label": "flu"})
        + "\n\n"
        + json.dumps({"exp_sxs": {"cough": "1"}, "imp_sxs": {"fever": "0"}, "label": "cold"})
        + "\n"
    )
    pack = build_expimp_pack(path, "mz")
    # N = 2; fever bg yes 1/2, no 1/2; cough bg yes 1/2, no 0 ("2" is neither)
    assert _ann(pack, "mz:flu", "mz:fever") == (pytest.approx(0.75), pytest.approx(0.25))
    assert _ann(pack, "mz:flu", "mz:cough") == (pytest.approx(0.25), pytest.approx(0.0))
    assert _ann(pack, "mz:cold", "mz:fever") == (pytest.approx(0.25), pytest.approx(0.75))
    assert [d.prior for d in pack.diseases] == [2.0, 2.0]
    assert find_problems(pack) == []


def test_expimp_json_list_and_explicit_wins_conflict(tmp_path: Path) -> None:
    path = _write(tmp_path / "train.json", [{"exp_sxs": {"fever": "1"}, "imp_sxs": {"fever": "0"}, "label": "flu"}])
    pack = build_expimp_pack(path, "mz", smoothing=0.0)
    freq, absent = _ann(pack, "mz:flu", "mz:fever")  # type: ignore[misc]
    assert math.isclose(freq, 1.0) and math.isclose(absent, 0.0)  # type: ignore[arg-type]


def test_expimp_bad_files(tmp_path: Path) -> None:
    bad_line = tmp_path / "a.jsonl"
    bad_line.write_text('{"exp_sxs": {}, "label": "x"}\n{oops\n')
    with pytest.raises(InputFileError, match="record 1.*line 2"):
        build_expimp_pack(bad_line, "mz")
    no_label = _write(tmp_path / "b.json", [{"exp_sxs": {"fever": "1"}}])
    with pytest.raises(InputFileError, match="no label"):
        build_expimp_pack(no_label, "mz")
    bad_code = _write(tmp_path / "c.json", [{"exp_sxs": {"fever": "yes"}, "label": "flu"}])
    with pytest.raises(InputFileError, match="'1' \\(yes\\)"):
        build_expimp_pack(bad_code, "mz")
    not_a_list = _write(tmp_path / "d.json", {"exp_sxs": {}})
    with pytest.raises(InputFileError, match="expected a list"):
        build_expimp_pack(not_a_list, "mz")
    empty = _write(tmp_path / "e.json", [])
    with pytest.raises(InputFileError, match="empty"):
        build_expimp_pack(empty, "mz")


# ---- the real development files ------------------------------------------------------------------------


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} not present (development data lives in ../shared/data)")
    return path


@pytest.mark.data
def test_real_ddxplus_pack() -> None:
    kb = _need(DATA / "ddxplus")
    pack = build_ddxplus_pack(kb)
    assert len(pack.diseases) == 49
    # 208 binary + 78 categorical values + 671 multi-choice values (defaults excluded); 10 C + 5 M groups
    assert len(pack.findings) == 957 and len(pack.groups) == 15
    assert sum(g.kind == "multi" for g in pack.groups) == 5
    assert math.isclose(sum(d.prior for d in pack.diseases), 1.0, rel_tol=1e-6)
    assert find_problems(pack) == []
    assert pack.summary()["annotations_with_frequency"] > 7000


@pytest.mark.data
def test_real_ddxplus_pack_without_stats(tmp_path: Path) -> None:
    kb = _need(DATA / "ddxplus")
    for name in ("release_conditions_en.json", "release_evidences_en.json"):
        (tmp_path / name).symlink_to(kb / name)
    pack = build_ddxplus_pack(tmp_path)
    assert len(pack.diseases) == 49 and len(pack.findings) == 957
    assert pack.summary()["annotations_with_frequency"] == 0
    assert find_problems(pack) == []


@pytest.mark.data
@pytest.mark.parametrize(("file", "diseases", "symptoms"), [("dxy", 5, 41), ("muzhi", 4, 66)])
def test_real_goal_set_packs(file: str, diseases: int, symptoms: int) -> None:
    pack = build_goalset_pack(_need(DATA / "goal_sets" / f"{file}_goal_set.json"), file)
    assert (len(pack.diseases), len(pack.findings)) == (diseases, symptoms)
    assert find_problems(pack) == []


@pytest.mark.data
def test_real_mz10_pack() -> None:
    pack = build_expimp_pack(_need(DATA / "mz10" / "train_set.json"), "mz10")
    assert len(pack.diseases) == 10 and len(pack.findings) == 316
    assert sum(d.prior for d in pack.diseases) == 3305 + 10
    assert find_problems(pack) == []
