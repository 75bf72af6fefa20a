"""What the patient takes to a doctor: a JSON summary (findings, differential with probabilities, urgency, red
flags, disclaimer) and, for doctors, a GA4GH Phenopacket v2 of the findings. The PDF is drawn from the same
summary (`codx.ui.pdf`), so the three never disagree."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version

from codx.agent import texts
from codx.ui.consultations import Assessment, ThreadView

HPO_RESOURCE = {
    "id": "hp",
    "name": "human phenotype ontology",
    "url": "http://purl.obolibrary.org/obo/hp.owl",
    "namespacePrefix": "HP",
    "iriPrefix": "http://purl.obolibrary.org/obo/HP_",
}


def codx_version() -> str:
    try:
        return version("codx")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree without metadata
        return "unknown"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def summary(view: ThreadView, assessment: Assessment, emergency_number: str) -> dict:
    """The consultation as plain data, in the consultation's language where codx has the words."""
    language = view.language or "en"
    chain = assessment.chain
    data = {
        "generator": f"codx {codx_version()}",
        "created": _now(),
        "consultation": view.thread_id,
        "language": language,
        "mode": view.mode,
        "age_years": chain.get("age_years"),
        "sex": chain.get("sex"),
        "findings": [
            {"id": f["id"], "label": f["label"], "status": f["status"], "source": f["source"]} for f in view.findings
        ],
        "differential": [
            {"id": c["id"], "label": c["label"], "probability": round(float(c["probability"]), 4)}
            for c in chain["candidates"]
        ],
        "urgency": {"level": assessment.urgency, "reason": assessment.urgency_reason},
        "red_flags": [
            {"id": f["id"], "label": f["label"], "evidence": f["evidence"], "advice": f["advice"]}
            for f in view.red_flags
        ],
        "emergency_number": emergency_number,
        "decision": chain["decision"],
        "questions_asked": chain["questions_asked"],
        "reasoning": chain["reasoning"],
        "disclaimer": texts.t(language, "disclaimer"),
    }
    if view.mode == "doctor":
        data["next_questions"] = [
            {"finding": q["finding"], "label": q["clinical_label"], "gain_bits": q["gain"], "p_yes": q["p_yes"]}
            for q in view.next_questions[:5]
        ]
    return data


def summary_json(data: dict) -> bytes:
    return json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")


def phenopacket(view: ThreadView, pack_versions: dict[str, str] | None = None) -> dict:
    """A GA4GH Phenopacket v2 of the findings: present ones as observed, absent ones as `excluded`; "not sure"
    is left out (the schema has no such state). HPO terms cite the HPO release of the hpo pack; other ids are
    codx pack findings and cite their pack."""
    pack_versions = pack_versions or {}
    features = []
    prefixes: dict[str, None] = {}
    for f in view.findings:
        if f["status"] == "unsure":
            continue
        feature: dict = {"type": {"id": f["id"], "label": f["label"]}}
        if f["status"] == "absent":
            feature["excluded"] = True
        features.append(feature)
        prefixes.setdefault(f["id"].split(":", 1)[0], None)
    resources = []
    for prefix in prefixes:
        if prefix == "HP":
            resources.append({**HPO_RESOURCE, "version": pack_versions.get("hpo", "unknown")})
        else:
            resources.append(
                {
                    "id": prefix.lower(),
                    "name": f"codx finding ids ({prefix})",
                    "version": codx_version(),
                    "namespacePrefix": prefix,
                }
            )
    return {
        "id": f"codx-{view.thread_id}",
        "subject": {"id": f"patient-{view.thread_id}"},
        "phenotypicFeatures": features,
        "metaData": {
            "created": _now(),
            "createdBy": f"codx {codx_version()}",
            "resources": resources,
            "phenopacketSchemaVersion": "2.0",
        },
    }
