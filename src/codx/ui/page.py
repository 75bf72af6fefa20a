"""The consultation page, top to bottom: thread from the URL, sidebar (new, past, mode, language), disclaimer,
emergency banner, chat with quick replies, then what the model thinks. Streamlit runs this on every
interaction; a turn runs once and the page reruns to show its result.

Per-browser state in `st.session_state` is only choices and drafts; the consultation itself lives in the
checkpointer under the thread id in the URL, so a reload or a second tab shows the same consultation.
"""

from __future__ import annotations

import re

import streamlit as st

from codx.agent import texts
from codx.agent.session import new_thread_id
from codx.ui import panels
from codx.ui.consultations import ThreadView
from codx.ui.engine import Engine
from codx.ui.inputs import render_drafts, render_media
from codx.ui.labels import LANGUAGE_NAMES, label

THREAD_PARAM = "thread"
_VALID_THREAD = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
AUTO = "auto"


def current_thread() -> str:
    """The thread id in the URL, or a new one written there (so the URL always resumes this consultation)."""
    tid = st.query_params.get(THREAD_PARAM)
    if not tid or not _VALID_THREAD.fullmatch(tid):
        tid = new_thread_id()
        st.query_params[THREAD_PARAM] = tid
    return tid


def _open(thread_id: str) -> None:
    st.query_params[THREAD_PARAM] = thread_id


def _queue(text: str) -> None:
    st.session_state["queued"] = text


def render(engine: Engine) -> None:
    cons = engine.consultations
    thread = current_thread()
    view = cons.view(thread)
    lang = _language(view, thread, engine)
    typed = st.chat_input(label(lang, "placeholder"), key="chat")  # pinned at the bottom of the page
    incoming = st.session_state.pop("queued", None) or typed
    mode = view.mode if view.exists else st.session_state.get(f"mode-choice-{thread}", engine.default_mode)

    _sidebar(engine, view, thread, lang)
    st.title("codx")
    st.caption(label(lang, "subtitle"))
    st.info(texts.t(lang, "disclaimer"), icon=":material/info:")
    banner = st.container()
    chat_col, model_col = st.columns([5, 4], gap="large")
    with chat_col:
        _history(view, lang)
        if incoming:
            _run_turn(engine, view, thread, incoming.strip(), mode, lang)
            st.rerun()
        _pending(view, lang)
        render_drafts(lang)
        render_media(engine, thread, lang)
    _banner(banner, view, lang, engine.emergency_number)
    with model_col:
        panels.render_model(engine, view, lang, mode)


def _language(view: ThreadView, thread: str, engine: Engine) -> str:
    chosen = st.session_state.get(f"lang-{thread}", AUTO)
    if view.language:
        return view.language
    if chosen != AUTO:
        return chosen
    return engine.default_language or "en"


def _sidebar(engine: Engine, view: ThreadView, thread: str, lang: str) -> None:
    cons = engine.consultations
    with st.sidebar:
        st.button(label(lang, "new"), on_click=_open, args=(new_thread_id(),), icon=":material/add:", key="new")
        # Streamlit sends a choice back as its label: a widget whose labels change (the page's language is
        # known only after the first message) gets a new key per language, and the language names never change.
        modes = ["patient", "doctor"]
        current = view.mode if view.exists else st.session_state.get(f"mode-choice-{thread}", engine.default_mode)
        mode_key = f"mode-{thread}-{lang}"

        def mode_changed() -> None:
            chosen = st.session_state[mode_key]
            st.session_state[f"mode-choice-{thread}"] = chosen
            cons.set_options(thread, mode=chosen)

        st.radio(
            label(lang, "mode"),
            modes,
            index=modes.index(current) if current in modes else 0,
            key=mode_key,
            format_func=lambda m: label(lang, m),
            horizontal=True,
            on_change=mode_changed,
        )
        lang_key = f"lang-{thread}"
        if lang_key not in st.session_state:
            st.session_state[lang_key] = view.language or engine.default_language or AUTO
        st.selectbox(
            label(lang, "language"),
            [AUTO, *LANGUAGE_NAMES],
            key=lang_key,
            format_func=lambda code: "Auto" if code == AUTO else LANGUAGE_NAMES[code],
            help=label(lang, "auto"),
            on_change=lambda: cons.set_options(thread, language=_chosen(st.session_state[lang_key])),
        )
        st.subheader(label(lang, "past"))
        past = cons.past(titles=st.session_state.setdefault("titles", {}))
        if not past:
            st.caption(label(lang, "none_yet"))
        for item in past:
            current = item.thread_id == thread
            st.button(
                f"{item.title}  \n{item.updated}",
                key=f"past-{item.thread_id}",
                on_click=_open,
                args=(item.thread_id,),
                type="primary" if current else "secondary",
                disabled=current,
                width="stretch",
            )
        st.caption(f"{label(lang, 'language')}: {LANGUAGE_NAMES.get(lang, lang)} · id {thread}")


def _chosen(code: str) -> str | None:
    return None if code == AUTO else code


def _history(view: ThreadView, lang: str) -> None:
    with st.chat_message("assistant"):
        st.markdown(texts.t(lang, "greeting"))
    for entry in view.entries:
        with st.chat_message(entry.role):
            st.markdown(_md(entry.text))


def _pending(view: ThreadView, lang: str) -> None:
    for notice in view.notices:
        st.caption(notice)
    q = view.question
    if q is None:
        return
    with st.chat_message("assistant"):
        st.markdown(f"**{_md(q['question'])}**")
        cols = st.columns(len(q["options"]))
        for i, (col, option) in enumerate(zip(cols, q["options"], strict=True)):
            col.button(option.capitalize(), key=f"reply-{i}-{view.version}", on_click=_queue, args=(option,))
        st.caption(label(lang, "free_text"))


def _run_turn(engine: Engine, view: ThreadView, thread: str, text: str, mode: str, lang: str) -> None:
    with st.chat_message("user"):
        st.markdown(_md(text))
    with st.chat_message("assistant"), st.status(label(lang, "thinking"), expanded=False) as status:
        first = not view.exists
        language = (_chosen(st.session_state.get(f"lang-{thread}", AUTO)) or engine.default_language) if first else None

        def show(event) -> None:
            if event.summary and event.node != "__interrupt__":
                status.write(f"{event.node}: {event.summary}")

        engine.consultations.turn(thread, text, mode=mode if first else None, language=language, on_event=show)
        status.update(label=label(lang, "done"), state="complete")


def _banner(box, view: ThreadView, lang: str, number: str) -> None:
    if not view.red_flags:
        return
    flags = "; ".join(f"{f['label']} ({f['evidence']})" for f in view.red_flags)
    advice = " ".join(dict.fromkeys(f["advice"] for f in view.red_flags))
    box.error(
        f"**{texts.t(lang, 'emergency', number=number)}**  \n{label(lang, 'emergency_title')}: {flags}  \n{advice}",
        icon=":material/emergency:",
    )


def _md(text: str) -> str:
    """Plain text as Markdown: keep line breaks and leading spaces, never render the patient's markup
    (emphasis, links, HTML, LaTeX, lists, Streamlit's :shortcodes:)."""
    lines = []
    for line in text.split("\n"):
        line = re.sub(r"([\\`*_{}\[\]<>#|~$])", r"\\\1", line)
        line = re.sub(r":(?=\w)", r"\\:", line)
        line = re.sub(r"^(\s*)([-+])", r"\1\\\2", line)
        line = re.sub(r"^(\s*)(\d+)\.", r"\1\2\\.", line)
        lines.append(line.replace("  ", "&nbsp; "))
    return "  \n".join(lines)
