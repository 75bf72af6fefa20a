"""Where consultations are kept: SQLite in the data directory, or PostgreSQL when a URL is configured."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.sqlite import SqliteSaver

from codx.errors import CodxError


@contextmanager
def open_checkpointer(sqlite_path: Path, database_url: str | None = None) -> Iterator[BaseCheckpointSaver]:
    with ExitStack() as stack:
        if database_url:
            from langgraph.checkpoint.postgres import PostgresSaver

            try:
                saver: BaseCheckpointSaver = stack.enter_context(PostgresSaver.from_conn_string(database_url))
                saver.setup()  # type: ignore[attr-defined]
            except Exception as exc:  # psycopg's own hierarchy: name the fix instead
                raise CodxError(f"cannot use the PostgreSQL database ({exc}); check CODX_DATABASE_URL") from exc
        else:
            sqlite_path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(sqlite_path, check_same_thread=False)
            stack.callback(conn.close)
            saver = SqliteSaver(conn)
            saver.setup()
        yield saver
