"""The Streamlit entry script (`codx ui`, i.e. `streamlit run` on this file): Settings are read here and only
here, the shared Engine is built once per process (first use: packs, model training and, with semantic
matching, embedding indexes, with progress shown), then the page is drawn.
"""

from __future__ import annotations

import threading
from typing import Any

import streamlit as st

from codx.errors import CodxError
from codx.settings import Settings
from codx.ui.engine import Engine
from codx.ui.labels import label
from codx.ui.launch import open_engine
from codx.ui.page import render


@st.cache_resource(show_spinner=False)
def _slot(settings_json: str) -> dict[str, Any]:
    """One slot per configuration: the engine is not personal, so every session shares it."""
    return {"engine": None, "lock": threading.Lock()}


def shared_engine(settings: Settings) -> Engine:
    slot = _slot(settings.model_dump_json())
    if slot["engine"] is not None:
        return slot["engine"]
    lang = settings.language
    lock: threading.Lock = slot["lock"]
    if not lock.acquire(blocking=False):  # another session is building it: wait with a notice
        with st.spinner(label(lang, "loading")):
            lock.acquire()
    try:
        if slot["engine"] is None:
            with st.status(label(lang, "loading"), expanded=True) as status:
                bar = st.progress(0.0)

                def progress(stage: str, fraction: float) -> None:
                    try:
                        bar.progress(min(max(float(fraction), 0.0), 1.0), text=stage)
                    except BaseException:  # noqa: BLE001 - a closed page must not stop the one-time build
                        pass

                slot["engine"] = open_engine(settings, progress)
                status.update(state="complete", expanded=False)
    finally:
        lock.release()
    return slot["engine"]


def main() -> None:
    st.set_page_config(page_title="codx", page_icon=":material/stethoscope:", layout="wide")
    settings = Settings()
    try:
        engine = shared_engine(settings)
    except CodxError as exc:
        st.error(str(exc))
        st.stop()
    render(engine)


main()
