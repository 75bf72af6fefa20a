"""What the model thinks, beside the chat: the top-10 confidence chart, the Chain of Diagnosis, the exports and,
in doctor mode, the next-best questions and the findings table with direct edits.

The assessment (chain + urgency) is computed once per checkpoint and kept in the browser session; it is the
patient's own data, so it never goes into a process-wide cache.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from codx.ui import export
from codx.ui.consultations import Assessment, ThreadView
from codx.ui.engine import Engine
from codx.ui.labels import label
from codx.ui.pdf import render_pdf

STATUSES = ["present", "absent", "unsure"]
CHART_LABEL_CHARS = 48


def assessment_of(engine: Engine, view: ThreadView, mode: str) -> Assessment:
    key = (view.thread_id, view.version, view.mode, view.language, mode)
    cached = st.session_state.get("assessment")
    if cached and cached[0] == key:
        return cached[1]
    result = engine.consultations.assess(view)
    st.session_state["assessment"] = (key, result)
    return result


def render_model(engine: Engine, view: ThreadView, lang: str, mode: str) -> None:
    st.subheader(label(lang, "model"))
    if not view.top:
        st.caption(label(lang, "chart_empty"))
    else:
        _chart(view.top)
    if not view.exists:
        if mode == "doctor":
            _doctor(engine, view)
        return
    # The chain is computed only while its expander is open (it opens by itself at the report); the exports
    # compute theirs when clicked. A turn then costs no more than the agent's own work.
    chain = st.expander(
        label(lang, "chain"), expanded=view.finished, key=f"chain-{view.thread_id}-{view.finished}", on_change="rerun"
    )
    with chain:
        if chain.open:
            _chain(assessment_of(engine, view, mode).chain, lang)
    _exports(engine, view, lang)
    if mode == "doctor":
        _doctor(engine, view)


def _chart(top: list[dict]) -> None:
    df = pd.DataFrame(
        {
            "condition": [f"{k}. {_short(c['label'])}" for k, c in enumerate(top[:10], 1)],  # unique, ranked
            "probability": [round(float(c["probability"]), 4) for c in top[:10]],
        }
    )
    st.bar_chart(df, x="condition", y="probability", horizontal=True, sort="-probability", height=320)


def _short(text: str) -> str:
    return text if len(text) <= CHART_LABEL_CHARS else text[: CHART_LABEL_CHARS - 1] + "…"


def _chain(chain: dict, lang: str) -> None:
    from codx.agent import texts

    sym = chain["symptoms"]
    st.markdown(f"**1. {label(lang, 'summary')}**")
    st.markdown(f"{texts.t(lang, 'told')}: " + (", ".join(sym["present"]) or texts.t(lang, "nothing_yet")))
    if sym["absent"]:
        st.markdown(f"{texts.t(lang, 'not_present')}: " + ", ".join(sym["absent"]))
    st.markdown(f"**2. {label(lang, 'candidates')}** · **4. {label(lang, 'confidence')}**")
    rows = [{"condition": c["label"], "id": c["id"], "probability": c["probability"]} for c in chain["candidates"]]
    st.dataframe(
        pd.DataFrame(rows, columns=["condition", "id", "probability"]),
        hide_index=True,
        column_config={"probability": st.column_config.ProgressColumn(format="percent", min_value=0, max_value=1)},
    )
    st.markdown(f"**3. {label(lang, 'reasoning')}**")
    for r in chain["reasoning"]:
        up = ", ".join(f"{x['finding']} {x['log_lr']:+.1f}" for x in r["raised_by"]) or "-"
        down = ", ".join(f"{x['finding']} {x['log_lr']:+.1f}" for x in r["lowered_by"]) or "-"
        st.markdown(f"- **{r['label']}**: {label(lang, 'raised')} {up}; {label(lang, 'lowered')} {down}")
    st.markdown(f"**5. {label(lang, 'decision')}**: {label(lang, chain['decision'])}")


def _exports(engine: Engine, view: ThreadView, lang: str) -> None:
    cons = engine.consultations

    def summary() -> dict:
        return export.summary(view, cons.assess(view), engine.emergency_number)

    def phenopacket() -> bytes:
        versions = {p.meta.name: p.meta.version for p in cons.ctx.model_for(view.packs).packs}
        return export.summary_json(export.phenopacket(view, versions))

    st.markdown(f"**{label(lang, 'export')}**")
    cols = st.columns(2)
    stem = f"codx-{view.thread_id}"
    common = {"on_click": "ignore", "width": "stretch"}
    cols[0].download_button(
        label(lang, "pdf"),
        data=lambda: render_pdf(summary()),
        file_name=f"{stem}.pdf",
        mime="application/pdf",
        key="dl-pdf",
        icon=":material/picture_as_pdf:",
        **common,
    )
    cols[1].download_button(
        label(lang, "json"),
        data=lambda: export.summary_json(summary()),
        file_name=f"{stem}.json",
        mime="application/json",
        key="dl-json",
        icon=":material/data_object:",
        **common,
    )
    if view.mode == "doctor":
        st.download_button(
            "Phenopacket (GA4GH v2)",
            data=phenopacket,
            file_name=f"{stem}.phenopacket.json",
            mime="application/json",
            key="dl-phenopacket",
            icon=":material/genetics:",
            **common,
        )


def _doctor(engine: Engine, view: ThreadView) -> None:
    """Doctor mode (English, with ids): next-best questions and the editable findings table."""
    st.subheader("Next-best questions")
    if view.next_questions:
        rows = [
            {"finding": q["clinical_label"], "id": q["finding"], "gain (bits)": q["gain"], "P(yes)": q["p_yes"]}
            for q in view.next_questions[:5]
        ]
        st.dataframe(pd.DataFrame(rows), hide_index=True)
    else:
        st.caption("No question left to ask (decided, budget reached, or nothing yet).")
    st.subheader("Findings")
    if view.findings:
        rows = [
            {"id": f["id"], "finding": f["label"], "status": f["status"], "source": f["source"], "said": f["evidence"]}
            for f in view.findings
        ]
        st.dataframe(pd.DataFrame(rows), hide_index=True)
    with st.form("add-finding", clear_on_submit=True):
        text = st.text_input("Add a finding (an id such as HP:0001945, or words)", key="add-text")
        cols = st.columns([2, 1], vertical_alignment="bottom")
        status = cols[0].selectbox("Status", STATUSES, key="add-status")
        if cols[1].form_submit_button("Add", width="stretch") and text.strip():
            _edit(engine, view, add=[(text, status)])
    if view.findings:
        with st.form("remove-findings", clear_on_submit=True):
            chosen = st.multiselect("Remove findings", [f["id"] for f in view.findings], key="remove-ids")
            if st.form_submit_button("Remove") and chosen:
                _edit(engine, view, remove=chosen)
    for problem in st.session_state.pop("edit-problems", []):
        st.warning(problem)


def _edit(engine: Engine, view: ThreadView, add=(), remove=()) -> None:
    problems = engine.consultations.edit_findings(
        view.thread_id, add=add, remove=remove, mode="doctor", language=view.language
    )
    st.session_state["edit-problems"] = problems
    st.rerun()
