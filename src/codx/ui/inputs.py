"""Voice and image input: a recording or photo is read by an agent tool, and what the tool says is shown as an
editable draft; only the confirmed draft enters the consultation. The controls appear only when a tool for
them is loaded (`codx.ui.media`)."""

from __future__ import annotations

import streamlit as st

from codx.ui.engine import Engine
from codx.ui.labels import label
from codx.ui.media import IMAGE_TYPES, image_tools, read_file_with, save_upload, text_of_outcome, voice_tool

DRAFT = "draft"


def render_media(engine: Engine, thread: str, lang: str) -> None:
    voice = voice_tool(engine.tools)
    if voice is not None:
        audio = st.audio_input(label(lang, "voice"), key=f"audio-{thread}")
        if audio is not None and st.session_state.get("heard") != audio.file_id:
            st.session_state["heard"] = audio.file_id
            path = save_upload(engine.tool_workdir, thread, audio.name or "recording.wav", audio.getvalue())
            _draft_from(read_file_with(voice, path, lang), "voice")
            st.rerun()
    readers = image_tools(engine.tools)
    if readers:
        image = st.file_uploader(label(lang, "image"), type=IMAGE_TYPES, key=f"image-{thread}")
        if image is not None and st.session_state.get("seen-image") != image.file_id:
            st.session_state["seen-image"] = image.file_id
            path = save_upload(engine.tool_workdir, thread, image.name, image.getvalue())
            _draft_from(read_file_with(readers[0], path, lang), "image")
            st.rerun()


def _draft_from(outcome, source: str) -> None:
    text = text_of_outcome(outcome)
    if outcome.ok and text:
        st.session_state[DRAFT] = {"text": text, "source": source}
    else:
        st.session_state["media-error"] = outcome.text or "the tool returned nothing"


def _send(key: str) -> None:
    text = st.session_state.get(key, "").strip()
    st.session_state.pop(DRAFT, None)
    if text:
        st.session_state["queued"] = text


def render_drafts(lang: str) -> None:
    """The draft waiting for confirmation (a transcript or an image reading), with Send and Discard."""
    error = st.session_state.pop("media-error", None)
    if error:
        st.warning(error)
    draft = st.session_state.get(DRAFT)
    if not draft:
        return
    with st.container(border=True):
        key = f"draft-text-{hash(draft['text'])}"
        st.text_area(
            label(lang, "transcript" if draft["source"] == "voice" else "image_read"), value=draft["text"], key=key
        )
        send, discard = st.columns(2)
        send.button(label(lang, "send"), key="draft-send", on_click=_send, args=(key,), type="primary")
        discard.button(label(lang, "discard"), key="draft-discard", on_click=lambda: st.session_state.pop(DRAFT, None))
