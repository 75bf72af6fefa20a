"""The Chain-of-Diagnosis report with real numbers: symptom summary, candidates, reasoning from the model's
likelihood ratios, confidence distribution, and the decision. Patients get plain language and a next step,
never individual treatment advice; doctors get ids, probabilities and the next-best questions."""

from __future__ import annotations

from codx.agent import texts
from codx.agent.safety import RedFlag, emergency_message
from codx.agent.state import case_evidence
from codx.models.diagnosis.model import DiagnosisModel
from codx.models.diagnosis.posterior import finding_contributions
from codx.models.diagnosis.scoring import labelled_top
from codx.models.diagnosis.triage import triage

REASONED = 3  # candidates whose reasoning is spelled out
SHOWN = 10


def build_report(model: DiagnosisModel, state: dict, tau: float, emergency_number: str) -> dict:
    mode = state.get("mode", "patient")
    language = state.get("language") or "en"
    kn = model.knowledge
    findings = state.get("findings", [])
    ev = model.normalise(case_evidence(state))
    ranking = model.rank(ev)
    top = ranking.top(SHOWN)
    contributions = finding_contributions(kn, ev, [i for i, _ in top[:REASONED]])
    reasoning = []
    for (i, _), contrib in zip(top[:REASONED], contributions, strict=True):
        raised = sorted(((v, k) for k, v in contrib.items() if v > 0), reverse=True)
        lowered = sorted((v, k) for k, v in contrib.items() if v < 0)
        reasoning.append(
            {
                "disease": kn.disease_ids[i],
                "label": kn.diseases[i].name,
                "raised_by": [{"finding": _fid(kn, k), "log_lr": round(v, 2)} for v, k in raised[:5]],
                "lowered_by": [{"finding": _fid(kn, k), "log_lr": round(v, 2)} for v, k in lowered[:5]],
            }
        )
    flags = [RedFlag(**f) for f in state.get("red_flags", [])]
    # the update node triaged these same findings a moment ago; a client rendering a report alone computes it
    urgency = state.get("urgency") or triage(kn, ranking, ev.present, [f.label for f in flags]).model_dump()
    confident = bool(top) and top[0][1] >= tau
    decision = "emergency" if flags else ("diagnose" if confident else "undetermined")
    report = {
        "mode": mode,
        "symptoms": {
            s: [f["label"] or f["id"] for f in findings if f["status"] == s] for s in ("present", "absent", "unsure")
        },
        "candidates": labelled_top(kn, ranking, SHOWN),
        "reasoning": reasoning,
        "decision": decision,
        "questions_asked": len(state.get("asked", [])),
        "red_flags": [f.model_dump() for f in flags],
        "urgency": urgency,
        "age_years": state.get("age_years"),
        "sex": state.get("sex"),
        "language": language,
        "disclaimer": texts.t(language, "disclaimer"),
    }
    if mode == "doctor":
        report["findings"] = findings
        report["next_questions"] = state.get("next_questions", [])[:5]
    report["text"] = render(report, flags, emergency_number)
    return report


def _fid(kn, key: int) -> str:
    j = key if key >= 0 else -key - 1
    label = kn.findings[j].label
    return f"{label} ({kn.finding_ids[j]})" + (" absent" if key < 0 else "")


def render(report: dict, flags: list[RedFlag], emergency_number: str) -> str:
    lines: list[str] = []
    doctor = report["mode"] == "doctor"
    lang = "en" if doctor else report.get("language", "en")
    if flags:
        if lang == "en":
            lines += [emergency_message(flags, emergency_number), ""]
        else:  # the instruction in the patient's language, the reasons as clinicians name them
            lines += [
                texts.t(lang, "emergency", number=emergency_number) + " (" + ", ".join(f.label for f in flags) + ")",
                "",
            ]
    sym = report["symptoms"]
    lines.append(texts.t(lang, "told") + ": " + (", ".join(sym["present"]) or texts.t(lang, "nothing_yet")))
    if sym["absent"]:
        lines.append(texts.t(lang, "not_present") + ": " + ", ".join(sym["absent"]))
    shown = report["candidates"][: SHOWN if doctor else 3]
    if shown:
        lines.append(texts.t(lang, "possible") + ":" if not doctor else "Differential (posterior):")
        for c in shown:
            lines.append(f"  {c['probability']:6.1%}  {c['label']}" + (f"  [{c['id']}]" if doctor else ""))
    if doctor:
        for r in report["reasoning"]:
            up = ", ".join(f"{x['finding']} {x['log_lr']:+.1f}" for x in r["raised_by"]) or "-"
            down = ", ".join(f"{x['finding']} {x['log_lr']:+.1f}" for x in r["lowered_by"]) or "-"
            lines.append(f"  {r['label']}: raised by {up}; lowered by {down}")
        for q in report.get("next_questions", []):
            lines.append(f"  next: {q['clinical_label']} ({q['finding']}) gain {q['gain']:.2f} bits")
    urgency = report.get("urgency")
    if urgency:
        lines.append(texts.t(lang, "urgency")[urgency["level"]].format(number=emergency_number))
        lines.append(f"  {texts.t(lang, 'why')}: {urgency['reason']}")
    if not flags:
        lines.append(texts.t(lang, "next_diagnose" if report["decision"] == "diagnose" else "next_undetermined"))
    lines.append(texts.t(lang, "disclaimer"))
    return "\n".join(lines)
