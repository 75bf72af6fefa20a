"""Entry-point wiring: a saved model is reused until its packs or the training recipe change; a language
model that cannot be loaded leaves the consultation on its templates."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from support.clinic import save_clinic

from codx.bootstrap import _chat_model, ensure_model
from codx.settings import Settings
from codx.training.diagnosis import RECIPE


def test_a_saved_model_is_reused_until_its_recipe_is_older(tmp_path: Path):
    settings = Settings(data_dir=save_clinic(tmp_path / "data"))
    card_path = settings.models_dir / "clinic" / "card.json"
    saved = json.loads(card_path.read_text())
    assert ensure_model(settings, ["clinic"], train_missing=False).card.created == saved["created"]  # reused
    card_path.write_text(json.dumps({**saved, "recipe": RECIPE - 1}))  # what an older codx trained
    retrained = ensure_model(settings, ["clinic"])
    assert retrained.card.recipe == RECIPE and retrained.card.training_data != "test"
    assert json.loads(card_path.read_text())["recipe"] == RECIPE  # saved over the old one


def test_an_unloadable_language_model_leaves_the_templates(tmp_path: Path, caplog):
    assert _chat_model(Settings(data_dir=tmp_path), None) is None  # none configured
    with caplog.at_level(logging.WARNING, logger="codx.bootstrap"):
        assert _chat_model(Settings(data_dir=tmp_path, llm="no-such-model"), None) is None
    assert "CODX_LLM=no-such-model is not used" in caplog.text
