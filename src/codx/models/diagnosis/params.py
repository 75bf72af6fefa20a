"""The diagnosis model's learned parameters: few, interpretable, saved with the model card."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class DiagnosisParams(BaseModel):
    """Noise terms and calibration of the likelihood in DESIGN section 3.

    P(present q | d) = (1 - eps) * G(d, q) + eps * bg(q), with G the true-path frequency, or, when the
    disease only shows a more general term a, alpha * F(d, a) * bg(q) / bg(a) (a specialisation seen at
    its population rate, discounted). P(absent q | d) = 1 - (1 - delta) * F(d, q).
    """

    model_config = ConfigDict(extra="forbid")

    eps: float = Field(0.01, gt=0, lt=1, description="Rate of findings the disease does not explain.")
    delta: float = Field(0.2, gt=0, le=1, description="Chance a finding the disease has is reported absent.")
    alpha: float = Field(0.0, ge=0, le=1, description="Credit for matching only a more general term.")
    excluded_factor: float = Field(0.1, gt=0, le=1, description="Noise multiplier for NOT-annotated findings.")
    default_frequency: float = Field(0.5, gt=0, le=1, description="Frequency of annotations without one.")
    size_penalty: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Each present finding costs size_penalty * log(1 + number of the disease's annotations): "
        "a report lists a handful of findings whatever the disease's size, so a disease with hundreds of "
        "annotations explains any one finding less specifically (between Bernoulli, 0, and multinomial, 1).",
    )
    related_weight: float = Field(
        0.3,
        ge=0,
        le=1,
        description="Weight of findings borrowed from a single-gene entry of another database for a gene "
        "the disease shares (e.g. an Orphanet entry for an OMIM disease): one entity, two curations.",
    )
    similarity_weight: float = Field(
        0.0,
        ge=0,
        description="Each present finding adds similarity_weight * IC(a) to a disease's log score, a the most "
        "specific ancestor-or-self of the finding the disease shows (Resnik's similarity; IC = -log bg): a "
        "disease that explains a finding only by a close, general term is not scored as if it explained "
        "nothing. The likelihoods used for questions stay probabilities; this term shapes the ranking.",
    )
    coverage_weight: float = Field(
        0.0,
        ge=0,
        description="Each disease adds coverage_weight * (number of present findings) * the frequency-weighted "
        "mean, over the disease's own annotations, of the information each shares with the patient's findings "
        "(the disease-to-patient half of Phenomizer's symmetric best-match average): a disease whose frequent "
        "findings the patient does not show at all explains the case less well, without treating findings the "
        "report does not mention as absent.",
    )
    temperature: float = Field(1.0, gt=0, description="Calibration: log-posterior is divided by this.")
    prior_strength: float = Field(1.0, ge=0, description="Exponent on the pack's disease priors.")
