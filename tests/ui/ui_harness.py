"""An Engine around the small clinic pack for AppTest scripts and service tests (no hpo build, no training).

AppTest runs a script in this process, so the script imports this module and takes the engine from
`engine_at(db, workdir)`, which builds it once per database file (like `st.cache_resource` in the app)."""

from __future__ import annotations

import threading
from pathlib import Path

from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel
from support.clinic import clinic_pack

from codx.agent.context import ConsultContext
from codx.agent.persistence import open_checkpointer
from codx.models.diagnosis.inquiry import StopRule
from codx.models.diagnosis.model import DiagnosisModel, ModelCard
from codx.models.diagnosis.params import DiagnosisParams
from codx.models.language.extract import FindingExtractor
from codx.models.language.matcher import FindingMatcher
from codx.models.language.words import LANGUAGES
from codx.tools.registry import ToolContext, load_tools
from codx.ui.engine import Engine, engine_from_context

_engines: dict[tuple[str, bool, str | None], Engine] = {}
_lock = threading.Lock()
_model: DiagnosisModel | None = None

#: What the fake transcription tool "hears" in every recording.
HEARD = "I have a sore throat"


def clinic_model() -> DiagnosisModel:
    global _model
    if _model is None:
        params = DiagnosisParams(eps=0.02, delta=0.2, related_weight=0.0)
        _model = DiagnosisModel([clinic_pack()], ModelCard(name="clinic", packs=[], params=params, training_data="t"))
    return _model


class FileArgs(BaseModel):
    path: str


def fake_media_tools() -> list[BaseTool]:
    """A transcription tool and an image tool with the argument conventions of `codx.ui.media`."""
    return [
        StructuredTool.from_function(
            lambda path: HEARD, name="transcribe", description="speech to text", args_schema=FileArgs
        ),
        StructuredTool.from_function(
            lambda path: '{"text": "runny nose"}',
            name="image_review",
            description="reads a photo",
            args_schema=FileArgs,
        ),
    ]


def clinic_context(workdir: Path, media: bool = False, models_dir: Path | None = None) -> ConsultContext:
    """`media`: the fake voice and image tools; `models_dir`: converted Whisper weights, so the real
    `transcribe_audio` tool is loaded (without it the registry skips that tool)."""
    model = clinic_model()
    kn = model.knowledge
    matchers = {lang: FindingMatcher(kn, language=lang) for lang in LANGUAGES}
    extractor = FindingExtractor(kn, lambda language: matchers.get(language, matchers["en"]))
    tool_ctx = ToolContext(workdir=workdir, model=model, models_dir=models_dir)
    tools = load_tools(tool_ctx).tools + (fake_media_tools() if media else [])
    return ConsultContext(
        model_for=lambda packs: model,
        extractor_for=lambda packs: extractor,
        rule=StopRule(tau=0.8, max_questions=6, min_gain=0.01),
        emergency_number="112",
        default_packs=("clinic",),
        tools=tools,
    )


def engine_at(db: str, workdir: str, media: bool = False, models_dir: str | None = None) -> Engine:
    key = (db, media, models_dir)
    with _lock:
        if key not in _engines:
            cm = open_checkpointer(Path(db))
            saver = cm.__enter__()
            context = clinic_context(Path(workdir), media, Path(models_dir) if models_dir else None)
            engine = engine_from_context(context, saver, Path(workdir))
            engine._stack.push(lambda *exc: cm.__exit__(*exc))
            _engines[key] = engine
        return _engines[key]


def close_all() -> None:
    with _lock:
        for engine in _engines.values():
            engine.close()
        _engines.clear()


def clinic_env(data: Path) -> dict[str, str]:
    return {
        "CODX_DATA_DIR": str(data),
        "CODX_PACKS": '["clinic"]',
        "CODX_SEMANTIC_MATCHING": "false",
        "CODX_TAU": "0.9",
        "CODX_EMERGENCY_NUMBER": "999",
    }
