"""The synthetic medical speech corpus: short patient and doctor sentences full of drug, condition and finding
names, spoken by espeak-ng, to fine-tune Whisper on the words a clinic uses.

Sentences fill written templates with the common pack's findings (lay words such as "runny nose" and clinical
labels), its condition names and a list of generic drug names (`data/drugs.txt`). Each sentence keeps its
`terms` (the fillers as they appear in its text) so that a benchmark can score the medical words alone.

The held-out split is new sentences and new voices: its templates, and its voices (two accents and three
variants), are never used in training, and no sentence text is in both splits. Random, all from one seed:
the template and fillers, the voice, the speaking speed (130-190 words a minute), the pitch (30-70) and the
noise (white or pink, 10-30 dB SNR; about one utterance in seven is clean).

`build_asr_corpus` writes `audio/*.wav` (16 kHz mono 16-bit), then a stamp of its arguments, then
`manifest.jsonl`: a finished corpus is reused, an interrupted one is built again from scratch.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import string
import subprocess
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from functools import lru_cache
from math import gcd
from pathlib import Path
from typing import Literal

import numpy as np
import soundfile as sf
from pydantic import BaseModel, ValidationError
from scipy.signal import resample_poly

from codx.errors import CodxError, InputFileError
from codx.models.packs.common import DATA_DIR as COMMON_DATA_DIR
from codx.models.packs.common import read_authored
from codx.progress import Progress

Split = Literal["train", "test"]
Noise = Literal["white", "pink"]

CORPUS_VERSION = 1  # bump when the way sentences or audio are made changes: old corpora are then rebuilt
SAMPLE_RATE = 16_000
DRUGS_FILE = Path(__file__).parent / "data" / "drugs.txt"
MANIFEST = "manifest.jsonl"
STAMP = "corpus.json"
MAX_WORDS = 20  # about 8 s at 150 words a minute
MAX_PHRASE_WORDS = 6
SPEED_WPM = (130, 190)
PITCH = (30, 70)
SNR_DB = (10.0, 30.0)
CLEAN_FRACTION = 0.15
WORKERS = 2  # espeak-ng runs as a subprocess, so threads overlap: 21 ms an utterance against 26 ms on one (2 cores)
ESPEAK_TIMEOUT_S = 60

# Templates start with a word, never a slot, so that the terms keep their case in the text.
TRAIN_TEMPLATES: tuple[str, ...] = (
    # patient
    "I have been taking {drug} for my {finding}.",
    "I've had {finding} for {duration}.",
    "The {drug} isn't helping with my {finding}.",
    "My doctor told me I have {condition}.",
    "I ran out of my {drug} last week.",
    "Since yesterday I've had {finding} and {finding2}.",
    "Is it safe to take {drug} with {drug2}?",
    "I was diagnosed with {condition} {duration} ago.",
    "The worst thing is the {finding}.",
    "My mother had {condition} too.",
    # doctor
    "The patient reports {finding} and {finding2}.",
    "She was started on {drug} {dose} for {condition}.",
    "He has a history of {condition} and takes {drug}.",
    "Take {drug} {dose} {frequency}.",
    "Examination shows {finding} with no {finding2}.",
    "The likely diagnosis is {condition}.",
    "Stop the {drug} and start {drug2} {frequency}.",
    "We need to rule out {condition}.",
    "No history of {finding} or {condition}.",
    "Presenting complaint is {finding} for {duration}.",
)
TEST_TEMPLATES: tuple[str, ...] = (
    # patient
    "Could my {finding} be caused by the {drug}?",
    "I get {finding} whenever I take {drug}.",
    "My sister thinks it might be {condition}.",
    "For {duration} now I have noticed {finding}.",
    "I stopped taking {drug} because of the {finding}.",
    # doctor
    "Differential diagnosis includes {condition} and {condition2}.",
    "Continue {drug} {dose} {frequency} and review in {duration}.",
    "She denies {finding} but admits to {finding2}.",
    "Symptoms are consistent with {condition}.",
    "Prescribe {drug} {dose} for {condition}.",
    "He complains of {finding} after starting {drug}.",
    "Known {condition}, currently on {drug}.",
)
TERM_SLOTS = ("finding", "condition", "drug")
DOSES = (
    "five hundred milligrams",
    "two hundred and fifty milligrams",
    "one gram",
    "ten milligrams",
    "twenty milligrams",
    "forty milligrams",
    "seventy five milligrams",
    "two point five milligrams",
    "one hundred micrograms",
    "fifty micrograms",
    "one tablet",
    "two tablets",
    "half a tablet",
    "two puffs",
    "five millilitres",
)
FREQUENCIES = (
    "once a day",
    "twice a day",
    "three times a day",
    "four times a day",
    "every morning",
    "at night",
    "every six hours",
    "when needed",
    "with food",
    "once a week",
)
DURATIONS = (
    "two days",
    "three days",
    "a week",
    "ten days",
    "two weeks",
    "a month",
    "three months",
    "six months",
    "a year",
)

# espeak-ng's own voices (no mbrola), each checked to speak and to differ from the others. A variant is
# only applied to a voice named by its file name: "en-gb+m3" silently falls back to plain "en".
TRAIN_ACCENTS = ("en", "en-us", "en-us-nyc", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd")
TRAIN_VARIANTS = ("", "+m1", "+m2", "+m3", "+m5", "+m7", "+f1", "+f2", "+f3", "+f5", "+klatt", "+klatt2")
TEST_ACCENTS = ("en-gb-scotland", "en-029")  # Scottish and Caribbean English: never heard in training
TEST_VARIANTS = ("+f4", "+m6", "+klatt3")  # never used in training either
TRAIN_VOICES = tuple(a + v for a in TRAIN_ACCENTS for v in TRAIN_VARIANTS)
TEST_VOICES = tuple(a + v for a in TEST_ACCENTS for v in TEST_VARIANTS)

_PARENS = re.compile(r"\([^)]*\)")
_SPOKEN = re.compile(r"[A-Za-z](?:[A-Za-z' -]*[A-Za-z])?")  # letters, inner spaces, hyphens and apostrophes
_ARTICLE = re.compile(r"^(?:a|an|the) ", re.IGNORECASE)
_FORMATTER = string.Formatter()
FIRST_PERSON = {"I", "I'm", "I've", "I'd", "I'll"}


class AsrUtterance(BaseModel):
    id: str
    split: Split
    text: str
    terms: list[str]  # the medical slot fillers, as they appear in `text`
    voice: str  # espeak-ng voice and variant, "en-us+f3"
    speed: int  # words a minute
    pitch: int  # espeak-ng pitch, 0-99
    snr_db: float | None  # None: clean
    noise: Noise | None = None
    path: str  # relative to the corpus folder
    duration_s: float
    language: str = "en"


class AsrCorpus(BaseModel):
    root: Path
    utterances: list[AsrUtterance]
    skipped: int = 0  # sentences espeak-ng failed to speak

    def split(self, name: Split) -> list[AsrUtterance]:
        return [u for u in self.utterances if u.split == name]

    def audio_path(self, utterance: AsrUtterance) -> Path:
        return self.root / utterance.path


@dataclass(frozen=True)
class Vocabulary:
    """The slot fillers: finding phrases in lay and clinical words, condition names and drug names."""

    lay_findings: tuple[str, ...]
    clinical_findings: tuple[str, ...]
    conditions: tuple[str, ...]
    drugs: tuple[str, ...]


@dataclass(frozen=True)
class Sentence:
    text: str
    terms: tuple[str, ...]
    template: str


@dataclass(frozen=True)
class Planned:
    """One utterance before synthesis: everything random about it is drawn here."""

    id: str
    split: Split
    sentence: Sentence
    voice: str
    speed: int
    pitch: int
    snr_db: float | None
    noise: Noise | None
    noise_seed: int
    language: str = "en"


@dataclass(frozen=True)
class MultilingualSentence:
    text: str  # the reference transcript
    language: str  # Whisper's language code
    voice: str  # espeak-ng voice
    spoken: str  # what espeak-ng reads: the text itself, or pinyin for Mandarin
    terms: tuple[str, ...]


# ---------------------------------------------------------------------------------------------- sentences


def read_drugs(path: Path = DRUGS_FILE) -> list[str]:
    """Drug names, one a line; `#` lines are comments."""
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def spoken_phrase(raw: str, sentence_case: bool = False, proper: frozenset[str] = frozenset()) -> str | None:
    """A pack phrase fit to be read aloud mid-sentence, or None: parentheses dropped, a leading article dropped,
    no digits, symbols or acronyms (espeak-ng spells those letter by letter), no first-person quotes, at most
    MAX_PHRASE_WORDS words.
    A `sentence_case` phrase (a label or a name) has its first word lower-cased unless it is a proper name:
    one of `proper`, or a possessive ("Addison's")."""
    text = " ".join(_PARENS.sub(" ", raw).split())
    text = _ARTICLE.sub("", text)
    words = text.split()
    if not _SPOKEN.fullmatch(text) or len(words) > MAX_PHRASE_WORDS:
        return None
    if any(sum(c.isupper() for c in part) > 1 for w in words for part in w.split("-")):
        return None
    if FIRST_PERSON & set(words):  # "it burns when I pee" is a quote, not a finding that fits a slot
        return None
    first = words[0]
    if sentence_case and first not in proper and not first.endswith("'s"):
        words[0] = first[0].lower() + first[1:]  # "Non-Hodgkin lymphoma" -> "non-Hodgkin lymphoma"
    return " ".join(words)


def proper_words(as_written: Iterable[str], sentence_case: Iterable[str]) -> frozenset[str]:
    """Capitalised words the pack writes as such: anywhere in phrases kept as written (synonyms), and after
    the first word of sentence-case phrases."""
    found = {w for p in as_written for w in p.split() if w[:1].isupper()}
    found |= {w for p in sentence_case for w in p.split()[1:] if w[:1].isupper()}
    return frozenset(found)


def _phrases(raw: Iterable[tuple[str, bool]], proper: frozenset[str]) -> tuple[str, ...]:
    kept = (spoken_phrase(text, sentence_case, proper) for text, sentence_case in raw)
    return tuple(sorted({p for p in kept if p}))


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    """The fillers, from the common pack's authored YAML (labels and names are in sentence case, synonyms
    as written) and `data/drugs.txt`."""
    conditions, findings, _ = read_authored()
    lay = [(p, False) for f in findings for p in (f.lay_label, *f.lay_synonyms) if p]
    clinical = [(f.label, True) for f in findings if f.label] + [(p, False) for f in findings for p in f.synonyms]
    names = [(c.name, True) for c in conditions] + [(p, False) for c in conditions for p in c.synonyms]
    everything = [*lay, *clinical, *names]
    proper = proper_words((p for p, sc in everything if not sc), (p for p, sc in everything if sc))
    return Vocabulary(
        lay_findings=_phrases(lay, proper),
        clinical_findings=_phrases(clinical, proper),
        conditions=_phrases(names, proper),
        drugs=tuple(read_drugs()),
    )


def slots(template: str) -> list[str]:
    return [name for _, name, _, _ in _FORMATTER.parse(template) if name]


def _pool(slot: str, vocab: Vocabulary, rng: np.random.Generator) -> Sequence[str]:
    kind = slot.rstrip("0123456789")
    if kind == "finding":  # lay or clinical words, half and half
        return vocab.lay_findings if rng.random() < 0.5 else vocab.clinical_findings
    pools: dict[str, Sequence[str]] = {
        "condition": vocab.conditions,
        "drug": vocab.drugs,
        "dose": DOSES,
        "frequency": FREQUENCIES,
        "duration": DURATIONS,
    }
    return pools[kind]


def fill_template(template: str, vocab: Vocabulary, rng: np.random.Generator) -> Sentence:
    """The template with every slot filled; two slots of one kind get different fillers."""
    values: dict[str, str] = {}
    for slot in slots(template):
        pool = _pool(slot, vocab, rng)
        value = pool[int(rng.integers(len(pool)))]
        while value in values.values():
            value = pool[int(rng.integers(len(pool)))]
        values[slot] = value
    terms = tuple(values[s] for s in slots(template) if s.rstrip("0123456789") in TERM_SLOTS)
    return Sentence(template.format(**values), terms, template)


def _text_key(text: str) -> str:
    return " ".join(re.sub(r"[^\w' ]", " ", text.lower()).split())


def _sentences(
    templates: Sequence[str], n: int, vocab: Vocabulary, rng: np.random.Generator, seen: set[str]
) -> list[Sentence]:
    out: list[Sentence] = []
    for _ in range(100 * n + 1000):
        if len(out) == n:
            return out
        sentence = fill_template(templates[int(rng.integers(len(templates)))], vocab, rng)
        key = _text_key(sentence.text)
        if len(sentence.text.split()) <= MAX_WORDS and key not in seen:
            seen.add(key)
            out.append(sentence)
    raise CodxError(f"could not write {n} different sentences from {len(templates)} templates: ask for fewer")


def generate_sentences(n_train: int, n_test: int, seed: int = 0) -> tuple[list[Sentence], list[Sentence]]:
    """(train, test) sentences from their own templates; no text (case and punctuation aside) is in both."""
    vocab = vocabulary()
    rng = np.random.default_rng([seed, 1])
    seen: set[str] = set()
    train = _sentences(TRAIN_TEMPLATES, n_train, vocab, rng, seen)
    test = _sentences(TEST_TEMPLATES, n_test, vocab, rng, seen)
    return train, test


def plan_corpus(n_train: int, n_test: int, seed: int = 0) -> list[Planned]:
    """Every utterance's sentence, voice, speed, pitch and noise, drawn from `seed`."""
    train, test = generate_sentences(n_train, n_test, seed)
    rng = np.random.default_rng([seed, 2])
    plans: list[Planned] = []
    for split, sentences, voices in (("train", train, TRAIN_VOICES), ("test", test, TEST_VOICES)):
        for i, sentence in enumerate(sentences):
            clean = rng.random() < CLEAN_FRACTION
            plans.append(
                Planned(
                    id=f"{split}-{i:05d}",
                    split=split,  # type: ignore[arg-type]
                    sentence=sentence,
                    voice=voices[int(rng.integers(len(voices)))],
                    speed=int(rng.integers(SPEED_WPM[0], SPEED_WPM[1] + 1)),
                    pitch=int(rng.integers(PITCH[0], PITCH[1] + 1)),
                    snr_db=None if clean else round(float(rng.uniform(*SNR_DB)), 1),
                    noise=None if clean else ("white", "pink")[int(rng.integers(2))],  # type: ignore[arg-type]
                    noise_seed=int(rng.integers(2**31)),
                )
            )
    return plans


def multilingual_sentences() -> list[MultilingualSentence]:
    """A few patient sentences in Spanish, French and Mandarin, for a benchmark of non-English transcription.
    Mandarin is read from tone-numbered pinyin: the Debian espeak-ng has too few Chinese characters."""
    es = [
        ("Tengo dolor de cabeza desde hace tres días.", ("dolor de cabeza",)),
        ("Mi hijo tiene fiebre y tos desde ayer.", ("fiebre", "tos")),
        ("Siento dolor en el pecho cuando subo las escaleras.", ("dolor en el pecho",)),
        ("Estoy tomando metformina para la diabetes.", ("metformina", "diabetes")),
    ]
    fr = [
        ("J'ai mal à la gorge depuis hier.", ("mal à la gorge",)),
        ("Mon fils a de la fièvre et il tousse beaucoup.", ("fièvre",)),
        ("J'ai des douleurs abdominales et des nausées.", ("douleurs abdominales", "nausées")),
        ("Je prends de l'amoxicilline pour une pneumonie.", ("amoxicilline", "pneumonie")),
    ]
    zh = [
        ("我头痛三天了。", "wo3 tou2 tong4 san1 tian1 le5.", ("头痛",)),
        ("我发烧了，还一直咳嗽。", "wo3 fa1 shao1 le5, hai2 yi4 zhi2 ke2 sou5.", ("发烧", "咳嗽")),
        ("我有高血压和糖尿病。", "wo3 you3 gao1 xue4 ya1 he2 tang2 niao4 bing4.", ("高血压", "糖尿病")),
        ("我肚子疼，还拉肚子。", "wo3 du4 zi5 teng2, hai2 la1 du4 zi5.", ("肚子疼", "拉肚子")),
    ]
    return [
        *(MultilingualSentence(text, "es", "es", text, terms) for text, terms in es),
        *(MultilingualSentence(text, "fr", "fr", text, terms) for text, terms in fr),
        *(MultilingualSentence(text, "zh", "cmn-latn-pinyin", spoken, terms) for text, spoken, terms in zh),
    ]


# ---------------------------------------------------------------------------------------------- audio


def espeak_path() -> str:
    path = shutil.which("espeak-ng")
    if path is None:
        raise CodxError(
            "espeak-ng is not installed, and the speech corpus is spoken by it: install it "
            "(Debian/Ubuntu: apt-get install espeak-ng; macOS: brew install espeak-ng) and run again"
        )
    return path


def synthesize(text: str, voice: str, speed: int, pitch: int, espeak: str | None = None) -> np.ndarray | None:
    """16 kHz mono float32 speech of `text`, or None where espeak-ng fails or says nothing."""
    command = [espeak or espeak_path(), "-v", voice, "-s", str(speed), "-p", str(pitch), "--stdout", "--", text]
    try:
        done = subprocess.run(command, capture_output=True, timeout=ESPEAK_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0 or b"Error" in done.stderr or not done.stdout:
        return None
    try:
        audio, rate = sf.read(io.BytesIO(done.stdout), dtype="float32", always_2d=True)
    except sf.LibsndfileError:
        return None
    mono = audio.mean(axis=1)
    if not np.any(mono):
        return None
    return to_16k(mono, rate)


def to_16k(audio: np.ndarray, rate: int) -> np.ndarray:
    if rate == SAMPLE_RATE:
        return audio.astype(np.float32)
    g = gcd(SAMPLE_RATE, rate)
    return resample_poly(audio, SAMPLE_RATE // g, rate // g).astype(np.float32)


def speech_power(audio: np.ndarray, frame: int = 320) -> float:
    """Mean power of the 20 ms frames within 30 dB of the loudest: the speech, not the pauses around it."""
    n = max(len(audio) // frame, 1)
    energy = np.mean(np.square(audio[: n * frame].reshape(n, -1), dtype=np.float64), axis=1)
    return float(np.mean(energy[energy >= energy.max() * 1e-3]))


def make_noise(n: int, kind: Noise, rng: np.random.Generator) -> np.ndarray:
    """White noise, or pink (power falling as 1/f: a hum of rooms and fans) by shaping its spectrum."""
    white = rng.standard_normal(n)
    if kind == "white":
        return white
    spectrum = np.fft.rfft(white)
    f = np.arange(spectrum.size, dtype=np.float64)
    f[0] = 1.0
    return np.fft.irfft(spectrum / np.sqrt(f), n=n)


def add_noise(audio: np.ndarray, snr_db: float, kind: Noise, rng: np.random.Generator) -> np.ndarray:
    """`audio` plus noise `snr_db` below its speech power, scaled down where it would clip."""
    noise = make_noise(len(audio), kind, rng)
    scale = np.sqrt(speech_power(audio) / (np.mean(np.square(noise)) * 10 ** (snr_db / 10)))
    mixed = audio + scale * noise
    peak = float(np.max(np.abs(mixed)))
    return (mixed / max(peak / 0.98, 1.0)).astype(np.float32)


def _render(plan: Planned, root: Path, espeak: str, spoken: str | None = None) -> AsrUtterance | None:
    audio = synthesize(spoken or plan.sentence.text, plan.voice, plan.speed, plan.pitch, espeak)
    if audio is None:
        return None
    if plan.snr_db is not None and plan.noise is not None:
        audio = add_noise(audio, plan.snr_db, plan.noise, np.random.default_rng(plan.noise_seed))
    path = f"audio/{plan.id}.wav"
    sf.write(root / path, audio, SAMPLE_RATE, subtype="PCM_16")
    return AsrUtterance(
        id=plan.id,
        split=plan.split,
        text=plan.sentence.text,
        terms=list(plan.sentence.terms),
        voice=plan.voice,
        speed=plan.speed,
        pitch=plan.pitch,
        snr_db=plan.snr_db,
        noise=plan.noise,
        path=path,
        duration_s=round(len(audio) / SAMPLE_RATE, 3),
        language=plan.language,
    )


# ---------------------------------------------------------------------------------------------- corpus


def _material_digest() -> str:
    """A hash of everything a corpus is made of besides its arguments: a change rebuilds old corpora."""
    h = hashlib.sha256()
    h.update(json.dumps([CORPUS_VERSION, TRAIN_TEMPLATES, TEST_TEMPLATES, TRAIN_VOICES, TEST_VOICES]).encode())
    h.update(json.dumps([DOSES, FREQUENCIES, DURATIONS, SPEED_WPM, PITCH, SNR_DB, CLEAN_FRACTION]).encode())
    h.update(DRUGS_FILE.read_bytes())
    for path in sorted(COMMON_DATA_DIR.glob("*/*.yaml")):
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def _read_stamp(root: Path) -> dict:
    try:
        return json.loads((root / STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _finished(root: Path, stamp: dict) -> bool:
    found = _read_stamp(root)
    found.pop("skipped", None)
    return found == stamp and (root / MANIFEST).is_file()


def _clear(root: Path) -> None:
    """Forget a previous corpus here: manifest first, so that it never describes half-written audio."""
    for name in (MANIFEST, STAMP):
        (root / name).unlink(missing_ok=True)
    audio = root / "audio"
    for wav in audio.glob("*.wav"):
        wav.unlink()
    audio.mkdir(parents=True, exist_ok=True)


def _write(root: Path, stamp: dict, utterances: list[AsrUtterance], skipped: int) -> AsrCorpus:
    (root / STAMP).write_text(json.dumps({**stamp, "skipped": skipped}, indent=2), encoding="utf-8")
    tmp = root / (MANIFEST + ".tmp")
    tmp.write_text("".join(u.model_dump_json() + "\n" for u in utterances), encoding="utf-8")
    tmp.replace(root / MANIFEST)
    return AsrCorpus(root=root, utterances=utterances, skipped=skipped)


def _speak_all(
    jobs: Sequence[Callable[[], AsrUtterance | None]], stage: str, progress: Progress | None
) -> tuple[list[AsrUtterance], int]:
    """Run the jobs on WORKERS threads, in order; (utterances, how many failed)."""
    done: list[AsrUtterance] = []
    skipped = 0
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        for i, result in enumerate(pool.map(lambda job: job(), jobs)):
            if result is None:
                skipped += 1
            else:
                done.append(result)
            if progress is not None and (i % 10 == 9 or i == len(jobs) - 1):
                progress(stage, (i + 1) / len(jobs))
    return done, skipped


def _build(
    root: Path,
    stamp: dict,
    make_plans: Callable[[], Sequence[tuple[Planned, str | None]]],
    stage: str,
    progress: Progress | None,
) -> AsrCorpus:
    """Reuse the corpus in `root` if `stamp` matches it; else speak the plans (utterance, text to read if
    not its own) into a cleared `root`, writing the manifest last."""
    if _finished(root, stamp):
        if progress is not None:
            progress(f"{stage}: reusing {root}", 1.0)
        return load_asr_corpus(root)
    espeak = espeak_path()
    if progress is not None:
        progress(stage, 0.0)
    plans = make_plans()
    _clear(root)
    jobs = [lambda p=p, s=s: _render(p, root, espeak, s) for p, s in plans]
    utterances, skipped = _speak_all(jobs, stage, progress)
    return _write(root, stamp, utterances, skipped)


def build_asr_corpus(
    out_dir: Path, *, n_train: int, n_test: int, seed: int = 0, progress: Progress | None = None
) -> AsrCorpus:
    """Speak `n_train` training and `n_test` held-out sentences into `out_dir` (reused when already built with
    these arguments). Sentences espeak-ng fails on are left out and counted in `skipped`."""
    if n_train < 0 or n_test < 0:
        raise CodxError(f"n_train and n_test must be 0 or more (got {n_train}, {n_test})")
    stamp = {"kind": "asr", "n_train": n_train, "n_test": n_test, "seed": seed, "material": _material_digest()}
    return _build(
        Path(out_dir),
        stamp,
        lambda: [(p, None) for p in plan_corpus(n_train, n_test, seed)],
        "speaking the medical corpus",
        progress,
    )


def build_multilingual_set(out_dir: Path, progress: Progress | None = None) -> AsrCorpus:
    """Speak `multilingual_sentences()` (clean, middle speed and pitch) into `out_dir`, all in the test split."""
    sentences = multilingual_sentences()
    plans: list[tuple[Planned, str | None]] = [
        (
            Planned(
                id=f"{s.language}-{i:03d}",
                split="test",
                sentence=Sentence(s.text, s.terms, ""),
                voice=s.voice,
                speed=150,
                pitch=50,
                snr_db=None,
                noise=None,
                noise_seed=0,
                language=s.language,
            ),
            s.spoken,
        )
        for i, s in enumerate(sentences)
    ]
    digest = hashlib.sha256(json.dumps([CORPUS_VERSION, [asdict(s) for s in sentences]]).encode()).hexdigest()
    stamp = {"kind": "multilingual", "material": digest[:16]}
    return _build(Path(out_dir), stamp, lambda: plans, "speaking the multilingual set", progress)


def load_asr_corpus(out_dir: Path) -> AsrCorpus:
    """A corpus `build_asr_corpus` or `build_multilingual_set` finished in `out_dir`."""
    root = Path(out_dir)
    manifest = root / MANIFEST
    if not manifest.is_file():
        raise InputFileError(f"no speech corpus in {root} ({MANIFEST} is missing): build it with build_asr_corpus")
    lines = manifest.read_text(encoding="utf-8").splitlines()
    try:
        utterances = [AsrUtterance.model_validate_json(line) for line in lines if line.strip()]
    except ValidationError as exc:
        raise InputFileError(
            f"{manifest} is not a speech corpus manifest ({exc.error_count()} errors): build it again"
        ) from exc
    return AsrCorpus(root=root, utterances=utterances, skipped=int(_read_stamp(root).get("skipped", 0)))
