"""Pack records, the on-disk store, the validator, and the HPO file helpers (on inline files)."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
from pydantic import ValidationError

from codx.errors import InputFileError, PackError, PackNotFoundError, UnknownFindingError
from codx.models.packs.common import BUILDER as COMMON_BUILDER
from codx.models.packs.hpo import parse_frequency, read_obo
from codx.models.packs.registry import REVISION, available, get_pack
from codx.models.packs.schema import Annotation, AnnotationTable, Disease, Finding, FindingGroup, Pack, PackMeta
from codx.models.packs.store import load_pack, save_pack
from codx.models.packs.validate import find_problems

META = PackMeta(name="t", version="1")


def assert_same_pack(a: Pack, b: Pack) -> None:
    assert a.meta == b.meta
    assert a.diseases == b.diseases
    assert a.findings == b.findings
    assert a.groups == b.groups
    assert a.aliases == b.aliases
    for col in ("disease", "finding", "frequency", "absent_frequency", "negated"):
        x, y = getattr(a.annotations, col), getattr(b.annotations, col)
        assert x.dtype == y.dtype, col
        np.testing.assert_array_equal(x, y, err_msg=col)  # NaN == NaN here
    assert list(a.iter_annotations()) == list(b.iter_annotations())


# ---- schema ---------------------------------------------------------------------------------------------


def test_from_records_and_typed_annotations(tiny_pack):
    anns = list(tiny_pack.iter_annotations())
    assert len(anns) == 7
    assert (anns[0].disease, anns[0].finding, anns[0].negated) == ("D:1", "T:A1", False)
    assert anns[0].frequency == pytest.approx(0.8) and anns[0].absent_frequency is None
    assert anns[2].frequency is None  # no frequency stays unknown (NaN column)
    assert anns[6].negated and anns[6].finding == "T:A"
    s = tiny_pack.summary()
    assert s["diseases"] == 3 and s["findings"] == 6 and s["annotations"] == 7
    assert s["annotations_with_frequency"] == 5 and s["negated_annotations"] == 1
    assert s["askable_findings"] == 5 and s["aliases"] == 1 and s["disease_namespaces"] == {"D": 3}


def test_from_records_unknown_ids_raise():
    with pytest.raises(PackError, match="unknown disease 'D:x'"):
        Pack.from_records(META, [], [Finding(id="F:a", label="a")], [Annotation(disease="D:x", finding="F:a")])
    with pytest.raises(PackError, match="unknown finding 'F:x'"):
        Pack.from_records(META, [Disease(id="D:a", name="a")], [], [Annotation(disease="D:a", finding="F:x")])


def test_resolve_finding(tiny_pack):
    assert tiny_pack.resolve_finding("T:OLD") == "T:A1"
    chained = dataclasses.replace(tiny_pack, aliases={"T:OLDER": "T:OLD", "T:OLD": "T:A1"})
    assert chained.resolve_finding("T:OLDER") == "T:A1"
    assert tiny_pack.resolve_finding(" T:C ") == "T:C"
    with pytest.raises(UnknownFindingError, match="T:nope"):
        tiny_pack.resolve_finding("T:nope")


def test_resolve_finding_alias_cycle_terminates():
    pack = Pack.from_records(META, [], [Finding(id="F:a", label="a")], [], aliases={"F:x": "F:y", "F:y": "F:x"})
    with pytest.raises(UnknownFindingError):
        pack.resolve_finding("F:x")


@pytest.mark.parametrize(
    ("model", "data"),
    [
        (Disease, {"id": "no-colon", "name": "x"}),
        (Disease, {"id": "D:1", "name": ""}),
        (Disease, {"id": "D:1", "name": "x", "prior": 0}),
        (Finding, {"id": "F:has space", "label": "x"}),
        (Annotation, {"disease": "D:1", "finding": "F:1", "frequency": 1.5}),
        (Annotation, {"disease": "D:1", "finding": "F:1", "frequency": math.nan}),
        (Annotation, {"disease": "D:1", "finding": "F:1", "extra": True}),
        (PackMeta, {"name": "Bad Name", "version": "1"}),
        (FindingGroup, {"id": "G:1", "label": "g", "kind": "ranked"}),
    ],
)
def test_records_reject_bad_values(model, data):
    with pytest.raises(ValidationError):
        model.model_validate(data)


def test_annotation_table_columns_must_match():
    with pytest.raises(PackError, match="rows"):
        AnnotationTable(np.zeros(2, np.int32), np.zeros(1, np.int32), np.zeros(2), np.zeros(2), np.zeros(2, bool))


# ---- store ----------------------------------------------------------------------------------------------


def test_save_load_round_trip(tiny_pack, tmp_path):
    folder = save_pack(tiny_pack, tmp_path / "tiny")
    assert sorted(p.name for p in folder.iterdir()) == ["annotations.npz", "pack.json"]
    assert_same_pack(tiny_pack, load_pack(folder))


def test_round_trip_with_groups_absent_frequencies_and_modifiers(tmp_path):
    from codx.models.packs.schema import AgeBand, Modifiers

    pack = Pack.from_records(
        PackMeta(name="rich", version="2", description="d", languages=["zh"]),
        [
            Disease(
                id="D:1",
                name="一",
                synonyms=["one"],
                prior=3.0,
                urgency="urgent",
                modifiers=Modifiers(sex={"male": 0.5}, age=[AgeBand(min_years=1, max_years=5, factor=2)]),
            )
        ],
        [Finding(id="F:1", label="x", group="G:1", lay_synonyms=["ex"], labels={"zh": "叉"})],
        [Annotation(disease="D:1", finding="F:1", frequency=0.25, absent_frequency=0.5)],
        [FindingGroup(id="G:1", label="g", kind="categorical", question="which?")],
        {"F:0": "F:1"},
    )
    assert_same_pack(pack, load_pack(save_pack(pack, tmp_path / "rich")))


def test_save_overwrites_atomically(tiny_pack, tmp_path):
    folder = save_pack(tiny_pack, tmp_path / "p")
    smaller = dataclasses.replace(tiny_pack, aliases={})
    save_pack(smaller, folder)
    assert load_pack(folder).aliases == {}
    assert not list(folder.glob("*.tmp*"))


def test_load_missing_pack(tmp_path):
    with pytest.raises(PackNotFoundError, match="codx pack build"):
        load_pack(tmp_path / "nothing")


@pytest.mark.parametrize(
    "text",
    [
        "{not json",
        json.dumps({"meta": {"name": "t", "version": "1"}}),  # no diseases / findings
        json.dumps({"meta": {"name": "t", "version": "1"}, "diseases": [{"id": "bad"}], "findings": []}),
    ],
)
def test_load_corrupt_pack_json_says_rebuild(tiny_pack, tmp_path, text):
    folder = save_pack(tiny_pack, tmp_path / "tiny")
    (folder / "pack.json").write_text(text)
    with pytest.raises(PackError, match="rebuild"):
        load_pack(folder)


def test_load_other_format_version_says_rebuild(tiny_pack, tmp_path):
    folder = save_pack(tiny_pack, tmp_path / "tiny")
    doc = json.loads((folder / "pack.json").read_text())
    doc["format_version"] = 99
    (folder / "pack.json").write_text(json.dumps(doc))
    with pytest.raises(PackError, match="format 99.*rebuild"):
        load_pack(folder)


@pytest.mark.parametrize("corrupt", ["garbage", "missing_column"])
def test_load_corrupt_annotations_says_rebuild(tiny_pack, tmp_path, corrupt):
    folder = save_pack(tiny_pack, tmp_path / "tiny")
    if corrupt == "garbage":
        (folder / "annotations.npz").write_bytes(b"this is not an npz file")
    else:
        np.savez(folder / "annotations.npz", disease=np.zeros(1, np.int32))
    with pytest.raises(PackError, match="rebuild"):
        load_pack(folder)


def test_registry_get_pack(tiny_pack, tmp_path):
    packs_dir = tmp_path / "packs"
    with pytest.raises(PackNotFoundError, match="codx pack build NAME --from FILE"):
        get_pack(packs_dir, "tiny")
    with pytest.raises(PackNotFoundError, match="codx pack build hpo"):
        get_pack(packs_dir, "hpo", build_missing=False)
    save_pack(tiny_pack, packs_dir / "tiny")
    assert_same_pack(tiny_pack, get_pack(packs_dir, "tiny"))
    assert available(packs_dir) == ["common", "hpo", "tiny"]
    assert available(tmp_path / "missing") == ["common", "hpo"]


def test_a_built_in_pack_cached_by_another_builder_is_rebuilt(tmp_path):
    packs_dir = tmp_path / "packs"
    built = get_pack(packs_dir, "common")
    assert built.meta.builder == REVISION["common"]() and built.meta.builder.startswith(f"{COMMON_BUILDER}-")
    doc = json.loads((packs_dir / "common" / "pack.json").read_text())
    doc["meta"]["builder"] = "1-old"  # what an older codx, or older condition files, wrote
    doc["diseases"] = doc["diseases"][:3]
    (packs_dir / "common" / "pack.json").write_text(json.dumps(doc))
    assert len(get_pack(packs_dir, "common", build_missing=False).diseases) == 3  # no rebuild asked: kept
    rebuilt = get_pack(packs_dir, "common")
    assert rebuilt.meta.builder == REVISION["common"]() and len(rebuilt.diseases) == len(built.diseases)
    (packs_dir / "common" / "pack.json").write_text('{"format_version": 1, "meta": {"unknown": 1}}')  # unreadable
    with pytest.raises(PackError, match="rebuild"):
        get_pack(packs_dir, "common", build_missing=False)
    assert len(get_pack(packs_dir, "common").diseases) == len(built.diseases)  # a built-in one is rebuilt


# ---- validate -------------------------------------------------------------------------------------------


def test_valid_pack_has_no_problems(tiny_pack):
    assert find_problems(tiny_pack) == []


def _pack(findings, annotations=None, diseases=None, groups=None, aliases=None) -> Pack:
    """Built with the dataclass directly, so the validator sees what a hand-edited pack.json could hold."""
    diseases = diseases or [Disease(id="D:1", name="one")]
    f_index = {f.id: i for i, f in enumerate(findings)}
    d_index = {d.id: i for i, d in enumerate(diseases)}
    rows = annotations if annotations is not None else [("D:1", findings[0].id)]
    table = AnnotationTable.from_columns(
        [d_index[d] for d, _ in rows],
        [f_index[f] for _, f in rows],
        [0.5] * len(rows),
        [math.nan] * len(rows),
        [False] * len(rows),
    )
    return Pack(META, diseases, findings, table, groups or [], aliases or {})


def test_duplicate_ids():
    pack = _pack(
        [Finding(id="F:1", label="a"), Finding(id="F:1", label="b")],
        diseases=[Disease(id="D:1", name="x"), Disease(id="D:1", name="y")],
        groups=[FindingGroup(id="G:1", label="g", kind="multi")] * 2,
    )
    problems = find_problems(pack)
    assert any("duplicate disease id D:1" in p for p in problems)
    assert any("duplicate finding id F:1" in p for p in problems)
    assert any("duplicate group id G:1" in p for p in problems)


def test_unknown_parent_and_group():
    pack = _pack([Finding(id="F:1", label="a", parents=["F:ghost"], group="G:ghost")])
    problems = find_problems(pack)
    assert any("F:1" in p and "unknown parent F:ghost" in p for p in problems)
    assert any("F:1" in p and "unknown group G:ghost" in p for p in problems)


def test_cycle():
    pack = _pack(
        [
            Finding(id="F:1", label="a", parents=["F:3"]),
            Finding(id="F:2", label="b", parents=["F:1"]),
            Finding(id="F:3", label="c", parents=["F:2"]),
            Finding(id="F:4", label="d"),
        ]
    )
    problems = find_problems(pack)
    assert len(problems) == 1 and "cycle" in problems[0]


def test_self_loop_is_a_cycle():
    problems = find_problems(_pack([Finding(id="F:1", label="a", parents=["F:1"])]))
    assert any("cycle" in p for p in problems)


def test_diamond_is_not_a_cycle():
    pack = _pack(
        [
            Finding(id="F:top", label="t"),
            Finding(id="F:l", label="l", parents=["F:top"]),
            Finding(id="F:r", label="r", parents=["F:top"]),
            Finding(id="F:bottom", label="b", parents=["F:l", "F:r"]),
        ]
    )
    assert find_problems(pack) == []


def test_bad_alias():
    pack = _pack([Finding(id="F:1", label="a")], aliases={"F:old": "F:missing", "F:ok": "F:1"})
    problems = find_problems(pack)
    assert len(problems) == 1 and "F:old -> F:missing" in problems[0]


def test_alias_chain_is_valid():
    pack = _pack([Finding(id="F:1", label="a")], aliases={"F:older": "F:old", "F:old": "F:1"})
    assert pack.resolve_finding("F:older") == "F:1"
    assert find_problems(pack) == []


def test_duplicate_pair():
    pack = _pack([Finding(id="F:1", label="a")], annotations=[("D:1", "F:1"), ("D:1", "F:1")])
    problems = find_problems(pack)
    assert len(problems) == 1 and "1 disease-finding pairs are annotated twice" in problems[0]


def test_disease_without_findings():
    pack = _pack(
        [Finding(id="F:1", label="a")],
        diseases=[Disease(id="D:1", name="one"), Disease(id="D:2", name="two")],
        annotations=[("D:1", "F:1")],
    )
    problems = find_problems(pack)
    assert len(problems) == 1 and "1 diseases have no findings" in problems[0] and "D:2" in problems[0]


def test_out_of_range_rows_and_frequencies():
    base = _pack([Finding(id="F:1", label="a")])
    bad_rows = dataclasses.replace(
        base,
        annotations=AnnotationTable.from_columns([0], [5], [0.5], [math.nan], [False]),
    )
    assert any("outside the disease or finding lists" in p for p in find_problems(bad_rows))
    bad_freq = dataclasses.replace(base, annotations=AnnotationTable.from_columns([0], [0], [1.5], [-0.1], [False]))
    problems = find_problems(bad_freq)
    assert any("frequency outside" in p for p in problems)
    assert any("absent_frequency outside" in p for p in problems)


# ---- hpo helpers ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("HP:0040280", 1.0),
        ("HP:0040281", 0.895),
        ("HP:0040283", 0.17),
        ("HP:0040285", 0.0),
        ("3/8", 0.375),
        ("8/8", 1.0),
        ("9/8", 1.0),
        ("0/0", None),
        ("a/b", None),
        ("25%", 0.25),
        ("25.5%", 0.255),
        ("150%", 1.0),
        ("x%", None),
        ("", None),
        ("   ", None),
        ("HP:9999999", None),
        (" 1/2 ", 0.5),
    ],
)
def test_parse_frequency(text, want):
    got = parse_frequency(text)
    if want is None:
        assert got is None
    else:
        assert got == pytest.approx(want)


OBO = r"""format-version: 1.2
data-version: hp/releases/2024-01-16
ontology: hp

[Term]
id: HP:0000001
name: All

[Term]
id: HP:0000118
name: Phenotypic abnormality
is_a: HP:0000001 ! All
synonym: "Organ abnormality" EXACT []

[Term]
id: HP:0001945
name: Fever
alt_id: HP:0001954
alt_id: HP:0005174
def: "Elevated body temperature, \"hot\" to touch." [https://example.org]
synonym: "Fever" EXACT layperson []
synonym: "Hyperthermia" EXACT []
synonym: "The \"hot\" one" RELATED layperson [ORCID:1]
is_a: HP:0000118 ! Phenotypic abnormality
is_a: HP:0000001 ! All

[Term]
id: HP:0000057
name: obsolete Clitoromegaly
is_obsolete: true
replaced_by: HP:0008665

[Typedef]
id: part_of
name: part of
"""


def test_read_obo(tmp_path):
    path = tmp_path / "hp.obo"
    path.write_text(OBO, encoding="utf-8")
    terms, version = read_obo(path)
    assert version == "2024-01-16"
    by_id = {t.id: t for t in terms}
    assert list(by_id) == ["HP:0000001", "HP:0000118", "HP:0001945", "HP:0000057"]  # Typedef skipped
    fever = by_id["HP:0001945"]
    assert fever.name == "Fever"
    assert fever.parents == ["HP:0000118", "HP:0000001"]
    assert fever.lay_synonyms == ["Fever", 'The "hot" one']
    assert fever.synonyms == ["Hyperthermia"]
    assert fever.definition == 'Elevated body temperature, "hot" to touch.'
    assert by_id["HP:0000001"].definition is None
    assert fever.alt_ids == ["HP:0001954", "HP:0005174"]
    assert not fever.obsolete and fever.replaced_by is None
    old = by_id["HP:0000057"]
    assert old.obsolete and old.replaced_by == "HP:0008665"
    assert by_id["HP:0000118"].synonyms == ["Organ abnormality"] and by_id["HP:0000118"].lay_synonyms == []


def test_read_obo_without_terms(tmp_path):
    path = tmp_path / "empty.obo"
    path.write_text("format-version: 1.2\n\n[Typedef]\nid: part_of\n")
    with pytest.raises(InputFileError, match="no \\[Term\\]"):
        read_obo(path)
