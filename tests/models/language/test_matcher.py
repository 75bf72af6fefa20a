"""The exact label / synonym matcher: phrases, plural and longest match, negation scope, offsets, ids."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codx.models.diagnosis.evidence import Observation
from codx.models.diagnosis.knowledge import Knowledge
from codx.models.diagnosis.params import DiagnosisParams
from codx.models.language.matcher import (
    AMBIGUOUS_CONFIDENCE,
    LABEL_CONFIDENCE,
    MAX_SCAN_CHARS,
    SYNONYM_CONFIDENCE,
    FindingMatcher,
    Mention,
    observations,
    phrase_key,
)
from codx.models.packs.schema import Annotation, Disease, Finding, Pack, PackMeta

FINDINGS = [
    Finding(id="T:root", label="Phenotypic abnormality", askable=False),
    Finding(
        id="T:FEV",
        label="Fever",
        lay_label="High temperature",
        synonyms=["Pyrexia", "Hyperthermia"],
        parents=["T:root"],
    ),
    Finding(id="T:HYP", label="Hyperthermia", parents=["T:root"]),
    Finding(id="T:COUGH", label="Cough", lay_synonyms=["Coughing"], parents=["T:root"]),
    Finding(id="T:HEAD", label="Headache", parents=["T:root"]),
    Finding(id="T:SEIZ", label="Seizure", synonyms=["Epileptic seizure", "Convulsion"], parents=["T:root"]),
    Finding(id="T:FSEIZ", label="Focal seizure", synonyms=["Partial seizure", "Convulsion"], parents=["T:SEIZ"]),
    Finding(id="T:RHIN", label="Rhinorrhea", lay_synonyms=["Runny nose"], parents=["T:root"]),
    Finding(id="T:RASH", label="Skin rash", synonyms=["Rash", "Ab"], parents=["T:root"]),
    Finding(id="T:ASD", label="Atrial septal defect", synonyms=["ASD"], parents=["T:root"]),
    Finding(id="T:AUT", label="Autistic behavior", synonyms=["ASD"], parents=["T:root"]),
    Finding(id="T:ALLERGY", label="Allergies", parents=["T:root"]),
    Finding(id="T:HIDDEN", label="Hidden sign", askable=False, parents=["T:root"]),
]


@pytest.fixture(scope="module")
def kn() -> Knowledge:
    pack = Pack.from_records(
        PackMeta(name="lang", version="1"),
        [Disease(id="D:1", name="Cold"), Disease(id="D:2", name="Epilepsy")],
        FINDINGS,
        [
            Annotation(disease="D:1", finding="T:FEV", frequency=0.5),
            Annotation(disease="D:1", finding="T:COUGH", frequency=0.8),
            Annotation(disease="D:1", finding="T:RHIN", frequency=0.9),
            Annotation(disease="D:2", finding="T:FSEIZ", frequency=0.7),
            Annotation(disease="D:2", finding="T:HEAD", frequency=0.3),
        ],
        aliases={"T:OLDFEV": "T:FEV"},
    )
    return Knowledge([pack], DiagnosisParams())


@pytest.fixture(scope="module")
def fm(kn: Knowledge) -> FindingMatcher:
    return FindingMatcher(kn)


def found(fm: FindingMatcher, text: str) -> list[tuple[str, str]]:
    return [(m.finding_id, m.status) for m in fm.extract(text)]


def check_spans(text: str, mentions: list[Mention]) -> None:
    for m in mentions:
        assert text[m.start : m.end] == m.span
    assert all(a.end <= b.start for a, b in zip(mentions, mentions[1:], strict=False))


# -- phrases -------------------------------------------------------------------------------------------------
def test_labels_synonyms_and_lay_words(fm):
    assert found(fm, "I have a fever") == [("T:FEV", "present")]
    assert found(fm, "pyrexia since yesterday") == [("T:FEV", "present")]
    assert found(fm, "a high temperature and a runny nose") == [("T:FEV", "present"), ("T:RHIN", "present")]
    assert found(fm, "lots of COUGHING") == [("T:COUGH", "present")]


def test_confidence(fm):
    conf = {m.finding_id: m.confidence for m in fm.extract("fever, pyrexia, rash, ASD")}
    assert conf["T:FEV"] == SYNONYM_CONFIDENCE  # the last mention of fever was the synonym
    ms = fm.extract("fever")
    assert ms[0].confidence == LABEL_CONFIDENCE
    assert fm.extract("ASD")[0].confidence == AMBIGUOUS_CONFIDENCE


def test_plural_and_normalisation(fm):
    assert found(fm, "Headaches every day") == [("T:HEAD", "present")]
    assert found(fm, "two seizures") == [("T:SEIZ", "present")]
    assert found(fm, "coughs and runny noses") == [("T:COUGH", "present"), ("T:RHIN", "present")]
    assert found(fm, "an allergy") == [("T:ALLERGY", "present")]  # label "Allergies"
    assert found(fm, "high-temperature") == [("T:FEV", "present")]
    assert found(fm, "ＦＥＶＥＲ") == [("T:FEV", "present")]  # full-width letters, NFKC
    assert phrase_key("Headaches") == phrase_key("headache")
    assert phrase_key("Rashes") == phrase_key("rash")
    assert phrase_key("Focal-onset seizures") == ("focal", "onset", "seizure")


def test_phrases_do_not_cross_clause_punctuation(fm):
    assert found(fm, "runny. nose") == []
    assert found(fm, "runny, nose") == []


def test_longest_match_wins_over_the_ancestor(fm):
    assert found(fm, "focal seizures") == [("T:FSEIZ", "present")]
    assert found(fm, "a partial seizure, then an epileptic seizure") == [("T:FSEIZ", "present"), ("T:SEIZ", "present")]
    ms = fm.extract("had a seizure and a focal seizure")
    assert [m.span for m in ms] == ["seizure", "focal seizure"]


def test_ambiguous_phrases(fm):
    assert found(fm, "hyperthermia") == [("T:HYP", "present")]  # its label beats Fever's synonym
    assert found(fm, "a convulsion") == [("T:SEIZ", "present")]  # both synonyms: the more general term
    assert found(fm, "ASD") == [("T:ASD", "present")]  # unrelated: shallowest, then pack order, low confidence


def test_acronyms_match_their_own_spelling_only(fm):
    assert found(fm, "asd") == []
    assert found(fm, "ASD") != []


def test_askable_only_and_min_chars(kn, fm):
    assert found(fm, "hidden sign") == []
    assert found(FindingMatcher(kn, askable_only=False), "hidden sign") == [("T:HIDDEN", "present")]
    assert found(fm, "ab") == []  # shorter than min_chars
    assert found(FindingMatcher(kn, min_chars=2), "ab") == [("T:RASH", "present")]
    assert len(fm) > 10


# -- status --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("no fever", "absent"),
        ("I don't have a fever", "absent"),
        ("I dont have a fever", "absent"),
        ("doesn’t have a fever", "absent"),
        ("She does not have a fever", "absent"),
        ("without fever", "absent"),
        ("denies fever", "absent"),
        ("never had a fever", "absent"),
        ("I have not had a fever", "absent"),
        ("free of fever", "absent"),
        ("negative for fever", "absent"),
        ("fever: none", "absent"),
        ("fever absent", "absent"),
        ("fever ruled out", "absent"),
        ("maybe a fever", "unsure"),
        ("I might have a fever", "unsure"),
        ("possibly fever", "unsure"),
        ("perhaps a fever", "unsure"),
        ("not sure if I have a fever", "unsure"),
        ("I'm not sure I have a fever", "unsure"),
        ("I think I have a fever", "unsure"),
        ("I don't know if I have a fever", "unsure"),
        ("maybe not a fever", "unsure"),
        ("a bit of a fever", "present"),
        ("I have had a fever", "present"),
        ("fever", "present"),
    ],
)
def test_status(fm, text, expected):
    assert found(fm, text) == [("T:FEV", expected)]


def test_negation_covers_a_list(fm):
    assert found(fm, "no fever, cough or rash") == [("T:FEV", "absent"), ("T:COUGH", "absent"), ("T:RASH", "absent")]
    assert found(fm, "Denies fever, cough, and headache.") == [
        ("T:FEV", "absent"),
        ("T:COUGH", "absent"),
        ("T:HEAD", "absent"),
    ]
    assert found(fm, "maybe fever or cough") == [("T:FEV", "unsure"), ("T:COUGH", "unsure")]


def test_but_and_other_words_end_the_scope(fm):
    assert found(fm, "no fever or cough but a headache") == [
        ("T:FEV", "absent"),
        ("T:COUGH", "absent"),
        ("T:HEAD", "present"),
    ]
    assert found(fm, "no fever, I have a cough") == [("T:FEV", "absent"), ("T:COUGH", "present")]
    assert found(fm, "I don't have a fever I have a cough") == [("T:FEV", "absent"), ("T:COUGH", "present")]
    assert found(fm, "No fever. Cough.") == [("T:FEV", "absent"), ("T:COUGH", "present")]
    assert found(fm, "no fever\ncough") == [("T:FEV", "absent"), ("T:COUGH", "present")]
    assert found(fm, "I have a cough, no fever") == [("T:COUGH", "present"), ("T:FEV", "absent")]
    assert found(fm, "cough yes, fever no") == [("T:COUGH", "present"), ("T:FEV", "absent")]
    assert found(fm, "fever absent, cough present") == [("T:FEV", "absent"), ("T:COUGH", "present")]


def test_the_cue_must_come_before(fm):
    assert found(fm, "a cough and no fever") == [("T:COUGH", "present"), ("T:FEV", "absent")]


def test_offsets(fm):
    text = "Ça va — ﬁne… I’ve had HEADACHES, a high-temperature 🤒 and a runny  nose; no fever?"
    ms = fm.extract(text)
    check_spans(text, ms)
    assert [m.span for m in ms] == ["HEADACHES", "high-temperature", "runny  nose", "fever"]
    assert [m.status for m in ms] == ["present", "present", "present", "absent"]


def test_observations_keep_the_last_status(fm):
    ms = fm.extract("no fever yesterday, but fever today and a cough")
    assert [(m.finding_id, m.status) for m in ms] == [("T:FEV", "absent"), ("T:FEV", "present"), ("T:COUGH", "present")]
    assert observations(ms) == [
        Observation(finding="T:FEV", status="present"),
        Observation(finding="T:COUGH", status="present"),
    ]


# -- robustness ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["", " ", "\n\t ", "🤒🤧😷", "发烧咳嗽", "حمى وسعال", "बुखार", "....,,,;;", "'", "-"])
def test_nothing_to_find(fm, text):
    assert fm.extract(text) == []
    assert fm.direct_ids(text) == ([], [])


def test_long_text_is_cut(fm):
    text = "x " * MAX_SCAN_CHARS + "fever"
    res = fm.scan(text)
    assert res.truncated and res.scanned_chars == MAX_SCAN_CHARS and res.mentions == []
    assert fm.extract("a" * 100_000) == []
    short = fm.scan("fever")
    assert not short.truncated and short.scanned_chars == 5
    many = fm.scan("I have a cough and no fever. " * 4000)
    assert many.truncated and len(many.mentions) > 1000
    check_spans("I have a cough and no fever. " * 4000, many.mentions)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_never_raises(fm, text):
    ms = fm.extract(text)
    check_spans(text, ms)
    ids, problems = fm.direct_ids(text)
    for m in ids:
        assert text[m.start : m.end] == m.span
    assert isinstance(problems, list)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "no",
                "not",
                "fever",
                "cough",
                ",",
                ".",
                "but",
                "and",
                "maybe",
                "runny",
                "nose",
                "focal",
                "seizures",
                "I",
                "have",
                "absent",
                "-HP:0001",
                "?T:FEV",
                " ",
            ]
        )
    )
)
def test_never_raises_on_word_soup(fm, words):
    text = " ".join(words)
    ms = fm.extract(text)
    check_spans(text, ms)
    fm.direct_ids(text)


# -- ids -----------------------------------------------------------------------------------------------------
def test_direct_ids(fm):
    text = "+T:FEV -T:COUGH !T:HEAD ?T:RHIN T:RASH, t:SEIZ. (T:OLDFEV) T:NOPE QQ:123 note: 10:30 http://x.org"
    mentions, problems = fm.direct_ids(text)
    check_spans(text, mentions)
    assert [(m.finding_id, m.status) for m in mentions] == [
        ("T:FEV", "present"),
        ("T:COUGH", "absent"),
        ("T:HEAD", "absent"),
        ("T:RHIN", "unsure"),
        ("T:RASH", "present"),
        ("T:SEIZ", "present"),
        ("T:FEV", "present"),  # obsolete alias mapped
    ]
    assert [m.span for m in mentions][:2] == ["+T:FEV", "-T:COUGH"]
    assert mentions[5].span == "t:SEIZ" and mentions[6].span == "T:OLDFEV"
    assert len(problems) == 2 and "T:NOPE" in problems[0] and "QQ:123" in problems[1]


def test_direct_ids_accept_findings_that_are_not_asked(fm):
    mentions, problems = fm.direct_ids("-T:HIDDEN")
    assert [(m.finding_id, m.status) for m in mentions] == [("T:HIDDEN", "absent")] and problems == []


# -- the real hpo pack ---------------------------------------------------------------------------------------
@pytest.mark.slow
def test_hpo_pack():
    from codx.models.packs.hpo import build_hpo_pack

    pack = build_hpo_pack()
    kn = Knowledge([pack], DiagnosisParams())
    by_label = {f.label: f.id for f in pack.findings}
    fm = FindingMatcher(kn)
    text = "my kid has had a runny nose and a bit of a cough, no fever"
    ms = fm.extract(text)
    check_spans(text, ms)
    assert [(m.finding_id, m.status) for m in ms] == [
        (by_label["Rhinorrhea"], "present"),
        (by_label["Cough"], "present"),
        (by_label["Fever"], "absent"),
    ]
    assert by_label["Fever"] == "HP:0001945"
    mentions, problems = fm.direct_ids("-HP:0001945 HP:9999999")
    assert [(m.finding_id, m.status) for m in mentions] == [("HP:0001945", "absent")] and len(problems) == 1
