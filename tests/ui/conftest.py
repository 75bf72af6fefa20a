"""Fixtures for the app: an Engine around the clinic pack, and AppTest over the real page with that engine."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from ui_harness import close_all, engine_at

from codx.ui.engine import Engine


@pytest.fixture
def paths(tmp_path: Path) -> tuple[str, str]:
    return str(tmp_path / "consult.sqlite"), str(tmp_path / "tool-files")


@pytest.fixture
def engine(paths: tuple[str, str]) -> Iterator[Engine]:
    yield engine_at(*paths)
    close_all()


def _page_script(db: str, workdir: str, media: bool, models_dir: str | None) -> None:
    """What `app.py` does after building its engine: draw the page (AppTest runs this source as a script)."""
    from ui_harness import engine_at

    from codx.ui.page import render

    render(engine_at(db, workdir, media, models_dir))


@pytest.fixture
def open_app(paths: tuple[str, str]) -> Iterator[Callable[..., AppTest]]:
    """`open_app(thread=None, media=False, models_dir=None)`: a fresh browser session on the page, at
    ?thread=... when given; `models_dir` (converted Whisper weights) loads the real transcription tool."""

    def make(thread: str | None = None, media: bool = False, models_dir: Path | None = None) -> AppTest:
        args = (*paths, media, str(models_dir) if models_dir else None)
        at = AppTest.from_function(_page_script, args=args, default_timeout=120)
        if thread:
            at.query_params["thread"] = thread
        return at.run()

    yield make
    close_all()
