"""The hybrid reader: exact phrases in the patient's language first, then meaning per clause."""

from __future__ import annotations

import pytest
from support.clinic import clinic_pack

from codx.models.diagnosis.knowledge import Knowledge
from codx.models.diagnosis.params import DiagnosisParams
from codx.models.language.encoder import MiniLMEncoder
from codx.models.language.extract import SHARED_WORD_MARGIN, FindingExtractor, _accepted, pieces
from codx.models.language.matcher import FindingMatcher
from codx.models.language.retrieval import FindingIndex, Hit
from codx.models.language.words import LANGUAGES
from codx.models.packs.schema import Pack

LABELS = {
    "C:fever": {"es": "fiebre", "fr": "fièvre", "zh": "发烧", "ar": "حمى", "hi": "बुखार"},
    "C:cough": {"es": "tos", "fr": "toux", "zh": "咳嗽", "ar": "سعال", "hi": "खांसी"},
}


@pytest.fixture(scope="module")
def kn() -> Knowledge:
    pack = clinic_pack()
    findings = [f.model_copy(update={"labels": LABELS.get(f.id, {})}) for f in pack.findings]
    return Knowledge([Pack(pack.meta, pack.diseases, findings, pack.annotations)], DiagnosisParams())


@pytest.fixture(scope="module")
def exact(kn) -> FindingExtractor:
    matchers = {lang: FindingMatcher(kn, language=lang) for lang in LANGUAGES}
    return FindingExtractor(kn, matchers.__getitem__)


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        ("es", "tengo fiebre y tos", {"C:fever": "present", "C:cough": "present"}),
        ("es", "no tengo fiebre pero tengo tos", {"C:fever": "absent", "C:cough": "present"}),
        ("fr", "j'ai de la fièvre, pas de toux", {"C:fever": "present", "C:cough": "absent"}),
        ("zh", "我发烧，没有咳嗽", {"C:fever": "present", "C:cough": "absent"}),
        ("ar", "عندي حمى", {"C:fever": "present"}),
        ("hi", "मुझे बुखार है", {"C:fever": "present"}),
        ("en", "fever and a cough, no headache", {"C:fever": "present", "C:cough": "present", "C:headache": "absent"}),
    ],
)
def test_labels_in_the_patients_language(exact, language, text, expected):
    found = {m.finding_id: m.status for m in exact.extract(text, language)}
    assert found == expected
    for m in exact.extract(text, language):
        assert text[m.start : m.end] == m.span


def test_pieces_split_clauses_and_lists():
    text = "I have a headache and a runny nose, no fever. But my throat hurts"
    assert [text[s:e] for s, e in pieces(text, "en")] == [
        "I have a headache",
        "a runny nose",
        "no fever",
        "my throat hurts",
    ]
    assert [t for t in pieces("", "en")] == []


def test_bad_input_is_harmless(exact):
    assert exact.extract("", "en") == []
    assert exact.extract("🤒🤒🤒", "en") == []
    assert exact.scan("fever " * 20_000, "en").truncated
    assert exact.extract("fièvre и 发烧 and fever", "xx") != []  # unknown language: English rules


@pytest.fixture(scope="module")
def hybrid(kn, tmp_path_factory) -> FindingExtractor:
    index = FindingIndex.build(kn, MiniLMEncoder(), tmp_path_factory.mktemp("idx"))
    matchers = {lang: FindingMatcher(kn, language=lang) for lang in LANGUAGES}
    return FindingExtractor(kn, matchers.__getitem__, lambda language: index if language == "en" else None)


def test_meaning_finds_paraphrases_and_reads_their_polarity(hybrid):
    found = {m.finding_id: (m.status, m.confidence) for m in hybrid.extract("my muscles ache everywhere", "en")}
    assert found.get("C:myalgia", ("", 0))[0] == "present"
    assert found["C:myalgia"][1] < 1.0  # a meaning hit, not an exact one
    negated = {m.finding_id: m.status for m in hybrid.extract("my muscles do not ache everywhere", "en")}
    assert negated.get("C:myalgia") in (None, "absent")


def test_meaning_skips_measurements_and_reads_normal_as_absent(hybrid):
    assert hybrid.extract("38.5 degrees", "en") == []
    statuses = {m.status for m in hybrid.extract("Normal body temperature today", "en")}
    assert "present" not in statuses


def test_a_shared_word_vouches_for_a_name_but_not_for_a_definition():
    """Below the threshold a shared word stem lets a name through; a definition shares words with most
    sentences on its topic, so it must reach the threshold on its own."""
    below = 0.8 - SHARED_WORD_MARGIN / 2
    piece = "born at 39 weeks' gestation"
    definition = Hit(1, below, "Birth before 37 completed weeks of gestation.", definition=True)
    assert _accepted([definition], piece, "en", 0.8) is None
    name = Hit(2, below, "Birth at term after 39 weeks of gestation")
    assert _accepted([definition, name], piece, "en", 0.8) is name
    assert _accepted([Hit(1, 0.81, definition.phrase, definition=True)], piece, "en", 0.8) is not None


def test_the_first_hit_the_encoder_vouches_for_wins_in_the_indexs_order():
    """The lexical half may put a finding first whose cosine is below the threshold: it is passed over for
    the next one that reaches it, not accepted on the strength of the re-ordering."""
    lifted, vouched = Hit(1, 0.74, "Heel spur"), Hit(2, 0.82, "Plantar fasciitis")
    assert _accepted([lifted, vouched], "it hurts under my foot", "en", 0.8) is vouched
    assert _accepted([vouched, lifted], "it hurts under my foot", "en", 0.8) is vouched
    assert _accepted([lifted], "it hurts under my foot", "en", 0.8) is None
