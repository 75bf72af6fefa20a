"""What nodes need at run time, passed as LangGraph runtime context (never persisted, never global)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool

from codx.models.diagnosis.inquiry import StopRule
from codx.models.diagnosis.model import DiagnosisModel
from codx.models.language.extract import FindingExtractor

#: Longest patient message read, in characters; longer input is cut with a notice, never rejected.
MAX_MESSAGE_CHARS = 5000


@dataclass
class ConsultContext:
    """Built once per process at the entry point (CLI, app) from Settings and shared by all threads."""

    model_for: Callable[[tuple[str, ...]], DiagnosisModel]  # packs -> trained model (cached by the caller)
    extractor_for: Callable[[tuple[str, ...]], FindingExtractor]
    rule: StopRule
    emergency_number: str
    default_packs: tuple[str, ...] = ("hpo",)
    tools: list[BaseTool] = field(default_factory=list)
    workdir: Path | None = None  # the tools' folder: recordings are saved here for `transcribe_audio`
    chat_model: BaseChatModel | None = None  # CODX_LLM: words the chosen question (agent/phrasing.py), else templates
