"""A small hand-written clinic pack and a consultation context around it (no hpo build needed)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support.clinic import clinic_pack

from codx.agent.context import ConsultContext
from codx.agent.graph import build_graph
from codx.agent.persistence import open_checkpointer
from codx.models.diagnosis.inquiry import StopRule
from codx.models.diagnosis.model import DiagnosisModel, ModelCard
from codx.models.diagnosis.params import DiagnosisParams
from codx.models.language.extract import FindingExtractor
from codx.models.language.matcher import FindingMatcher
from codx.models.language.words import LANGUAGES
from codx.tools.registry import ToolContext, load_tools


@pytest.fixture(scope="session")
def clinic_model() -> DiagnosisModel:
    params = DiagnosisParams(eps=0.02, delta=0.2, related_weight=0.0)
    return DiagnosisModel([clinic_pack()], ModelCard(name="clinic", packs=[], params=params, training_data="test"))


@pytest.fixture(scope="session")
def consult_ctx(clinic_model: DiagnosisModel, tmp_path_factory: pytest.TempPathFactory) -> ConsultContext:
    kn = clinic_model.knowledge
    matchers = {lang: FindingMatcher(kn, language=lang) for lang in LANGUAGES}
    extractor = FindingExtractor(kn, lambda language: matchers.get(language, matchers["en"]))
    tools = load_tools(ToolContext(workdir=tmp_path_factory.mktemp("tools"), model=clinic_model)).tools
    return ConsultContext(
        model_for=lambda packs: clinic_model,
        extractor_for=lambda packs: extractor,
        rule=StopRule(tau=0.8, max_questions=6, min_gain=0.01),
        emergency_number="112",
        default_packs=("clinic",),
        tools=tools,
    )


@pytest.fixture
def graph_factory(consult_ctx: ConsultContext, tmp_path: Path) -> Iterator[Callable]:
    """Build graphs over one SQLite file; a second graph on the same file is a process restart."""
    stack = []

    def make(db: Path | None = None):
        cm = open_checkpointer(db or tmp_path / "consult.sqlite")
        saver = cm.__enter__()
        stack.append(cm)
        return build_graph(consult_ctx.tools, saver)

    yield make
    for cm in reversed(stack):
        cm.__exit__(None, None, None)
