"""A small hand-written clinic pack: four common conditions, nine findings, lay labels."""

from __future__ import annotations

from pathlib import Path

from codx.models.diagnosis.model import DiagnosisModel, ModelCard, PackRef
from codx.models.diagnosis.params import DiagnosisParams
from codx.models.packs.schema import Annotation, Disease, Finding, Pack, PackMeta
from codx.models.packs.store import save_pack
from codx.training.diagnosis import RECIPE

FINDINGS = {
    "C:root": ("Clinical finding", None),
    "C:fever": ("Fever", "High temperature"),
    "C:cough": ("Cough", "Cough"),
    "C:headache": ("Headache", "Headache"),
    "C:rhinorrhea": ("Rhinorrhea", "Runny nose"),
    "C:sore_throat": ("Sore throat", "Sore throat"),
    "C:myalgia": ("Myalgia", "Muscle aches"),
    "C:photophobia": ("Photophobia", "Light sensitivity"),
    "C:nausea": ("Nausea", "Nausea"),
    "C:sneezing": ("Sneezing", "Sneezing"),
}
DISEASES = {
    "X:flu": ("Influenza", {"C:fever": 0.9, "C:cough": 0.8, "C:myalgia": 0.8, "C:headache": 0.6, "C:sore_throat": 0.4}),
    "X:cold": (
        "Common cold",
        {"C:rhinorrhea": 0.9, "C:sneezing": 0.8, "C:cough": 0.5, "C:sore_throat": 0.5, "C:fever": 0.1},
    ),
    "X:migraine": ("Migraine", {"C:headache": 0.95, "C:photophobia": 0.8, "C:nausea": 0.6}),
    "X:strep": ("Streptococcal pharyngitis", {"C:sore_throat": 0.95, "C:fever": 0.7, "C:headache": 0.3}),
}


def clinic_pack() -> Pack:
    findings = [
        Finding(
            id=fid,
            label=label,
            lay_label=lay,
            lay_synonyms=[lay] if lay else [],
            parents=[] if fid == "C:root" else ["C:root"],
            askable=fid != "C:root",
        )
        for fid, (label, lay) in FINDINGS.items()
    ]
    diseases = [Disease(id=did, name=name) for did, (name, _) in DISEASES.items()]
    anns = [Annotation(disease=did, finding=f, frequency=p) for did, (_, fs) in DISEASES.items() for f, p in fs.items()]
    return Pack.from_records(PackMeta(name="clinic", version="test"), diseases, findings, anns)


def save_clinic(data: Path) -> Path:
    """A data directory holding the built clinic pack and its model, so nothing is built or trained."""
    pack = clinic_pack()
    save_pack(pack, data / "packs" / "clinic")
    card = ModelCard(
        name="clinic",
        recipe=RECIPE,  # as if trained by this codx: not retrained
        packs=[PackRef(name="clinic", version=pack.meta.version)],
        params=DiagnosisParams(eps=0.02, related_weight=0.0),
        training_data="test",
    )
    DiagnosisModel([pack], card).save(data / "models" / "clinic")
    return data
