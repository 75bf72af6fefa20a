"""The trained diagnosis model: packs + learned parameters + model card, saved and loaded as one unit."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from codx.errors import ModelNotTrainedError
from codx.models.diagnosis.calibration import Reliability
from codx.models.diagnosis.evidence import CaseEvidence, NormalisedEvidence, normalise
from codx.models.diagnosis.inquiry import Decision, Question, StopRule, decide, rank_questions
from codx.models.diagnosis.knowledge import Knowledge
from codx.models.diagnosis.params import DiagnosisParams
from codx.models.diagnosis.posterior import Ranking, rank
from codx.models.packs.schema import Pack


class PackRef(BaseModel):
    name: str
    version: str


class ModelCard(BaseModel):
    """What the model was fit on, with which parameters, and how well it did (shown by `codx train`)."""

    name: str
    recipe: int = Field(1, description="Version of the training recipe; a model from an older one is retrained.")
    packs: list[PackRef]
    params: DiagnosisParams
    pack_weights: dict[str, float] = {}
    training_data: str = Field(description="What the parameters were fit on; never benchmark test cases.")
    n_training_cases: int = 0
    metrics: dict[str, float] = {}
    reliability: Reliability | None = None
    created: str = Field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def to_markdown(self) -> str:
        lines = [
            f"# Diagnosis model `{self.name}`",
            "",
            f"- Packs: {', '.join(f'{p.name} {p.version}' for p in self.packs)}",
            f"- Trained on: {self.training_data} ({self.n_training_cases} cases)",
            f"- Created: {self.created}",
            "",
            "## Parameters",
            "",
            *[f"- `{k}` = {'none' if v is None else f'{v:.4g}'}" for k, v in self.params.model_dump().items()],
            "",
            "## Metrics (on held-out training-distribution cases)",
            "",
            *[f"- {k}: {v:.4f}" for k, v in self.metrics.items()],
        ]
        if self.reliability:
            lines += [
                "",
                f"## Reliability (ECE {self.reliability.ece:.4f})",
                "",
                "| bin | n | confidence | accuracy |",
            ]
            lines += ["|---|---|---|---|"]
            for b in self.reliability.bins:
                if b.count:
                    lines.append(
                        f"| {b.lower:.1f}-{b.upper:.1f} | {b.count} | {b.mean_confidence:.3f} | {b.accuracy:.3f} |"
                    )
        return "\n".join(lines) + "\n"


@dataclass
class StepResult:
    ranking: Ranking
    questions: list[Question]
    decision: Decision
    evidence: NormalisedEvidence


class DiagnosisModel:
    def __init__(self, packs: list[Pack], card: ModelCard):
        self.packs = packs
        self.card = card
        self.knowledge = Knowledge(packs, card.params, card.pack_weights)

    def normalise(self, evidence: CaseEvidence) -> NormalisedEvidence:
        return normalise(self.knowledge, evidence)

    def rank(self, evidence: CaseEvidence | NormalisedEvidence) -> Ranking:
        ev = evidence if isinstance(evidence, NormalisedEvidence) else self.normalise(evidence)
        return rank(self.knowledge, ev)

    def step(
        self,
        evidence: CaseEvidence | NormalisedEvidence,
        questions_asked: int,
        rule: StopRule,
        lay_only: bool = False,
    ) -> StepResult:
        """One Chain-of-Diagnosis turn: update, rank questions, decide. With `lay_only`, questions are chosen
        among findings a patient can understand (those with a lay label), when the packs have any."""
        ev = evidence if isinstance(evidence, NormalisedEvidence) else self.normalise(evidence)
        ranking = rank(self.knowledge, ev)
        top_p = float(ranking.probabilities[ranking.order[0]])
        done = top_p >= rule.tau or questions_asked >= rule.max_questions
        kn = self.knowledge
        allowed = kn.lay_askable if lay_only and kn.lay_askable.any() else None
        questions = [] if done else rank_questions(kn, ev, ranking, askable=allowed)
        best = questions[0].gain if questions else None
        return StepResult(
            ranking=ranking,
            questions=questions,
            decision=decide(ranking, questions_asked, best, rule),
            evidence=ev,
        )

    # -- persistence -----------------------------------------------------------------------------
    def save(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / "card.json.tmp"
        tmp.write_text(self.card.model_dump_json(indent=2))
        tmp.replace(folder / "card.json")
        (folder / "MODEL_CARD.md").write_text(self.card.to_markdown())
        return folder

    @staticmethod
    def load_card(folder: Path) -> ModelCard:
        path = folder / "card.json"
        if not path.exists():
            raise ModelNotTrainedError(f"no trained model at {folder}; run `codx train diagnosis --pack NAME`")
        try:
            return ModelCard.model_validate(json.loads(path.read_text()))
        except (ValueError, ValidationError) as exc:  # json errors are ValueErrors
            raise ModelNotTrainedError(
                f"the model at {folder} is unreadable or from another codx version; "
                "retrain it with `codx train diagnosis --pack NAME`"
            ) from exc
