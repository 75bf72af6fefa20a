"""Entry-point wiring: load packs and the trained model, training it on first use.

Lives outside the serving layers because it imports `codx.training`; the CLI and the app's launcher
call it and pass the ready model down.
"""

from __future__ import annotations

from collections.abc import Callable

from codx.errors import ModelNotTrainedError
from codx.models.diagnosis.model import DiagnosisModel
from codx.models.packs.registry import get_pack
from codx.settings import Settings
from codx.training.diagnosis import train_model

Progress = Callable[[str, float], None]


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
