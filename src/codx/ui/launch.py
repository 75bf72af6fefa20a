"""Entry-point wiring for the app and its benchmark: Settings -> a ready Engine. The one ui module that
imports `codx.bootstrap` (which may train the model on first use); see `ignore_imports` in pyproject.toml."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from codx.agent.context import ConsultContext
from codx.agent.persistence import open_checkpointer
from codx.bootstrap import make_consult_context
from codx.models.language.detect import LANGUAGES
from codx.settings import Settings
from codx.tools.registry import ToolContext
from codx.ui.engine import Engine, engine_from_context


def open_engine(
    settings: Settings, progress: Callable[[str, float], None] | None = None, sqlite_path: Path | None = None
) -> Engine:
    """Models, readers and tools of the default packs (built and trained on first use), and the database
    (`sqlite_path` replaces the data directory's SQLite file, e.g. for a benchmark)."""
    ctx = make_consult_context(settings, progress=progress)
    warm_up(ctx, progress)
    stack = ExitStack()
    saver = stack.enter_context(open_checkpointer(sqlite_path or settings.sqlite_path, settings.database_url))
    return engine_from_context(
        ctx,
        saver,
        ToolContext.for_data_dir(settings.data_dir).workdir,
        default_mode=settings.mode,
        default_language=settings.language if settings.language != "en" else None,  # en: detect instead
        stack=stack,
    )


#: One symptom per consultation language, read once at start.
SAMPLES = {"en": "headache", "es": "dolor de cabeza", "fr": "mal de tête", "zh": "头痛", "ar": "صداع", "hi": "सिरदर्द"}


def warm_up(ctx: ConsultContext, progress: Callable[[str, float], None] | None = None) -> None:
    """Build each language's reader now (about half a second each, built on first use otherwise), so the
    first patient writing in Chinese does not wait for it."""
    extractor = ctx.extractor_for(ctx.default_packs)
    for k, language in enumerate(LANGUAGES):
        if progress:
            progress(f"preparing {language}", k / len(LANGUAGES))
        extractor.extract(SAMPLES.get(language, "headache"), language)
