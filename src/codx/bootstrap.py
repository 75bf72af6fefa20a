"""Entry-point wiring: load packs and the trained model, training it on first use.

Lives outside the serving layers because it imports `codx.training`; the CLI and the app's launcher
call it and pass the ready model down.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from codx.agent.context import ConsultContext
from codx.errors import ModelNotTrainedError
from codx.models.diagnosis.inquiry import StopRule
from codx.models.diagnosis.model import DiagnosisModel
from codx.models.language.matcher import FindingMatcher
from codx.models.packs.registry import get_pack
from codx.settings import Settings
from codx.tools.registry import ToolContext, load_tools
from codx.training.diagnosis import train_model

Progress = Callable[[str, float], None]
log = logging.getLogger(__name__)


def model_name(pack_names: list[str]) -> str:
    return "+".join(pack_names)


def ensure_model(
    settings: Settings, pack_names: list[str], train_missing: bool = True, progress: Progress | None = None
) -> DiagnosisModel:
    """The saved model for these packs; retrained when missing or when a pack's version changed."""
    if progress:
        progress("loading packs", 0.0)
    packs = [get_pack(settings.packs_dir, n) for n in pack_names]
    name = model_name(pack_names)
    folder = settings.models_dir / name
    try:
        card = DiagnosisModel.load_card(folder)
        if [(p.name, p.version) for p in card.packs] == [(p.meta.name, p.meta.version) for p in packs]:
            return DiagnosisModel(packs, card)
    except ModelNotTrainedError:
        if not train_missing:
            raise
    model = train_model(packs, name, progress=progress)
    model.save(folder)
    return model


def make_consult_context(settings: Settings, progress: Progress | None = None) -> ConsultContext:
    """Models, matchers and tools for consultations, each built once per process and shared by threads."""
    models: dict[tuple[str, ...], DiagnosisModel] = {}
    matchers: dict[tuple[str, ...], FindingMatcher] = {}
    lock = threading.Lock()

    def model_for(packs: tuple[str, ...]) -> DiagnosisModel:
        with lock:
            if packs not in models:
                models[packs] = ensure_model(settings, list(packs), progress=progress)
            return models[packs]

    def matcher_for(packs: tuple[str, ...]) -> FindingMatcher:
        model = model_for(packs)
        with lock:
            if packs not in matchers:
                matchers[packs] = FindingMatcher(model.knowledge)
            return matchers[packs]

    default = tuple(settings.packs)
    loaded = load_tools(ToolContext.for_data_dir(settings.data_dir, model_for(default)))
    for problem in loaded.problems:
        log.warning("tool plug-in skipped: %s", problem)
    matcher_for(default)  # build before the first message arrives
    return ConsultContext(
        model_for=model_for,
        matcher_for=matcher_for,
        rule=StopRule(tau=settings.tau, max_questions=settings.max_questions, min_gain=settings.min_gain),
        emergency_number=settings.emergency_number,
        default_packs=default,
        tools=loaded.tools,
    )
