"""The one Settings object: read at entry points (CLI, app) and passed down, never read deep inside."""

from pathlib import Path
from typing import Literal

from platformdirs import user_data_dir
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Environment variables are prefixed with CODX_ (e.g. CODX_DATA_DIR)."""

    model_config = SettingsConfigDict(env_prefix="CODX_", extra="ignore")

    data_dir: Path = Field(
        default_factory=lambda: Path(user_data_dir("codx", appauthor=False)),
        description="Where built packs, trained models and consultation databases live.",
    )
    tau: float = Field(0.5, gt=0.0, le=1.0, description="Stop asking once the top diagnosis reaches this.")
    max_questions: int = Field(20, ge=0, le=200, description="Question budget per consultation.")
    min_gain: float = Field(0.01, ge=0.0, description="Stop when the best question gains fewer bits.")
    threads: int = Field(1, ge=1, description="Torch/numpy threads for scoring.")
    database_url: str | None = Field(
        None, description="PostgreSQL URL for consultation checkpoints; SQLite in data_dir when unset."
    )
    emergency_number: str = Field("112", min_length=2, max_length=20, description="Number red flags tell to call.")
    packs: list[str] = Field(
        ["common", "hpo"], min_length=1, description="Packs a consultation consults by default (first wins labels)."
    )
    semantic_matching: bool = Field(
        True,
        description="Also read words by meaning (embedding indexes; built once, minutes, cached in data_dir). "
        "Off: exact phrases only.",
    )
    train_encoder: bool = Field(
        True,
        description="The consultation engine (app, `codx chat`) trains codx's English encoder in the background "
        "when none is saved (one to two hours at low priority, by CPU; once); consultations switch to it when it is "
        "ready. The reading benchmarks train it first when none is saved. Off: off-the-shelf MiniLM.",
    )
    llm: str | None = Field(
        None,
        description="The language model the agent talks through: a codx language model name (e.g. "
        "smollm2-135m-instruct, converted on first use), the path of a converted folder, or "
        "openai:BASE_URL[#MODEL] for any OpenAI-compatible server (vLLM, `codx serve`). None: no language "
        "model; the agent speaks from its templates.",
    )
    mode: Literal["patient", "doctor"] = "patient"
    language: str = Field("en", pattern=r"^[a-z]{2}$")

    @property
    def packs_dir(self) -> Path:
        return self.data_dir / "packs"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "consultations.sqlite"
