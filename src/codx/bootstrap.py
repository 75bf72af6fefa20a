"""Entry-point wiring: load packs and the trained model, training it on first use.

Lives outside the serving layers because it imports `codx.training`; the CLI and the app's launcher
call it and pass the ready model down.
"""

from __future__ import annotations

import logging
import threading

from langchain_core.language_models import BaseChatModel

from codx import encoder_job
from codx.agent.chat_models import make_chat_model
from codx.agent.context import ConsultContext
from codx.errors import EncoderError, LanguageModelError, ModelNotTrainedError
from codx.models.diagnosis.inquiry import StopRule
from codx.models.diagnosis.knowledge import Knowledge
from codx.models.diagnosis.model import DiagnosisModel
from codx.models.language.encoder import MANIFEST, MINILM_NAME, MiniLMEncoder, TextEncoder, ensure_e5
from codx.models.language.extract import FindingExtractor
from codx.models.language.gloss import GlossedIndex, load_dictionaries
from codx.models.language.lexical import english_reader
from codx.models.language.matcher import FindingMatcher
from codx.models.language.retrieval import FindingIndex, PhraseIndex
from codx.models.language.trained import load_trained_encoder, trained_dir
from codx.models.packs.registry import get_pack, pack_weights
from codx.progress import Progress
from codx.settings import Settings
from codx.tools.registry import ToolContext, load_tools
from codx.training.diagnosis import RECIPE, train_model

log = logging.getLogger(__name__)


def model_name(pack_names: list[str]) -> str:
    return "+".join(pack_names)


def ensure_model(
    settings: Settings, pack_names: list[str], train_missing: bool = True, progress: Progress | None = None
) -> DiagnosisModel:
    """The saved model for these packs; retrained when missing, when a pack's version changed, or when it
    was trained by an older recipe."""
    if progress:
        progress("loading packs", 0.0)
    packs = [get_pack(settings.packs_dir, n) for n in pack_names]
    name = model_name(pack_names)
    folder = settings.models_dir / name
    try:
        card = DiagnosisModel.load_card(folder)
        same_packs = [(p.name, p.version) for p in card.packs] == [(p.meta.name, p.meta.version) for p in packs]
        if same_packs and card.recipe == RECIPE:
            return DiagnosisModel(packs, card)
    except ModelNotTrainedError:
        if not train_missing:
            raise
    model = train_model(packs, name, pack_weights=pack_weights(pack_names), progress=progress)
    model.save(folder)
    return model


def english_encoder(settings: Settings, progress: Progress | None = None) -> TextEncoder:
    """The encoder trained by `codx train encoder` when there is one, else the off-the-shelf MiniLM; a broken
    trained folder is reported and skipped rather than stopping consultations."""
    try:
        trained = load_trained_encoder(settings.data_dir)
    except EncoderError as e:
        log.warning("%s; using %s meanwhile", e, MINILM_NAME)
        if progress:
            progress(f"trained encoder unreadable, using {MINILM_NAME}", 0.0)
        trained = None
    return trained if trained is not None else MiniLMEncoder()


def make_extractor(settings: Settings, kn: Knowledge, progress: Progress | None = None) -> FindingExtractor:
    """The hybrid reader of one pack set: exact matchers per language, and (with `semantic_matching`) the
    English index (lay words also searched in clinical words; Chinese glossed into English words and read by
    it) and the multilingual index over the lay-labelled findings, built now so no patient waits later."""
    matchers: dict[str, FindingMatcher] = {}
    indexes: dict[str, PhraseIndex] = {}
    lock = threading.Lock()

    def matcher_for(language: str) -> FindingMatcher:
        with lock:
            if language not in matchers:
                matchers[language] = FindingMatcher(kn, language=language)
            return matchers[language]

    if settings.semantic_matching:
        cache = settings.data_dir / "indexes"
        english = english_reader(FindingIndex.build(kn, english_encoder(settings, progress), cache, progress=progress))
        indexes["en"], indexes["zh"] = english, GlossedIndex(english)
        load_dictionaries()
        e5 = ensure_e5(settings.data_dir, progress)
        indexes["*"] = FindingIndex.build(kn, e5, cache, progress=progress, lay_only=True)
    matcher_for("en")
    return FindingExtractor(kn, matcher_for, lambda language: indexes.get(language) or indexes.get("*"))


def _trained_encoder_stamp(settings: Settings) -> int | None:
    """When the trained encoder's manifest was written (None: none, or semantic reading off); one stat call."""
    if not settings.semantic_matching:
        return None
    try:
        return (trained_dir(settings.data_dir) / MANIFEST).stat().st_mtime_ns
    except OSError:
        return None


def make_consult_context(settings: Settings, progress: Progress | None = None) -> ConsultContext:
    """Models, extractors and tools for consultations, each built once per process and shared by threads."""
    models: dict[tuple[str, ...], DiagnosisModel] = {}
    extractors: dict[tuple[tuple[str, ...], int | None], FindingExtractor] = {}
    lock = threading.Lock()

    def model_for(packs: tuple[str, ...]) -> DiagnosisModel:
        with lock:
            if packs not in models:
                models[packs] = ensure_model(settings, list(packs), progress=progress)
            return models[packs]

    def extractor_for(packs: tuple[str, ...]) -> FindingExtractor:
        """The reader of `packs`, rebuilt once when a trained English encoder is saved (by the background job
        of `encoder_job`, which also built its index: the switch is a file read between two messages)."""
        model = model_for(packs)
        key = (packs, _trained_encoder_stamp(settings))
        with lock:
            if key not in extractors:
                for old in [k for k in extractors if k[0] == packs]:
                    del extractors[old]
                extractors[key] = make_extractor(settings, model.knowledge, progress)
            return extractors[key]

    default = tuple(settings.packs)
    tool_ctx = ToolContext.for_data_dir(settings.data_dir, model_for(default))
    loaded = load_tools(tool_ctx)
    for problem in loaded.problems:
        log.warning("tool plug-in skipped: %s", problem)
    extractor_for(default)  # build before the first message arrives
    pid = encoder_job.start_if_needed(settings)  # after the packs and models above: the job reuses them
    if pid is not None:
        log.warning(
            "training codx's English encoder in the background (pid %d, one to two hours by CPU, once; log: %s); "
            "consultations read with %s until it is saved",
            pid,
            encoder_job.log_path(settings.data_dir),
            MINILM_NAME,
        )
    return ConsultContext(
        model_for=model_for,
        extractor_for=extractor_for,
        rule=StopRule(tau=settings.tau, max_questions=settings.max_questions, min_gain=settings.min_gain),
        emergency_number=settings.emergency_number,
        default_packs=default,
        tools=loaded.tools,
        workdir=tool_ctx.workdir,
        chat_model=_chat_model(settings, progress),
    )


def _chat_model(settings: Settings, progress: Progress | None) -> BaseChatModel | None:
    """CODX_LLM's model, which only words questions; when it cannot be loaded the consultation goes on with
    its templates (a warning says why) rather than not starting."""
    if not settings.llm:
        return None
    try:
        return make_chat_model(settings.llm, settings.models_dir, progress=progress)
    except LanguageModelError as exc:
        log.warning("CODX_LLM=%s is not used, questions keep their templates: %s", settings.llm, exc)
        return None
