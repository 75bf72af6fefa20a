"""Which consultations exist, newest first, read from the checkpointer's own table.

LangGraph's `list()` loads every checkpoint (a consultation has dozens), so SQLite and PostgreSQL are asked
for the latest checkpoint id per thread directly; checkpoint ids are time-ordered (uuid6). Any other saver
falls back to `list()`. Every consultation in the database is listed: the app serves one person or one
practice, not the public.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.base.id import UUID

#: 100-ns intervals between the UUID epoch (1582-10-15) and the Unix epoch.
_UUID_EPOCH = 0x01B21DD213814000

_SQL = (
    "SELECT thread_id, MAX(checkpoint_id) AS last FROM checkpoints WHERE checkpoint_ns = '' "
    "GROUP BY thread_id ORDER BY last DESC LIMIT {limit}"
)
#: Checkpoints read by the generic fallback before it gives up looking for more threads.
FALLBACK_SCAN = 5_000


@dataclass(frozen=True)
class ThreadSummary:
    thread_id: str
    title: str
    updated: str


def checkpoint_time(checkpoint_id: str) -> str:
    """When a checkpoint was written (UTC, to the minute), read from its uuid6 id; "" if it is not one."""
    try:
        ticks = UUID(checkpoint_id).time
    except ValueError:
        return ""
    return datetime.fromtimestamp((ticks - _UUID_EPOCH) / 1e7, UTC).strftime("%Y-%m-%d %H:%M")


def list_threads(saver: BaseCheckpointSaver | None, limit: int = 20) -> list[tuple[str, str]]:
    """(thread id, latest checkpoint id), most recently updated first."""
    if saver is None or limit <= 0:
        return []
    from langgraph.checkpoint.sqlite import SqliteSaver

    if isinstance(saver, SqliteSaver):
        with saver.lock:
            rows = saver.conn.execute(_SQL.format(limit="?"), (limit,)).fetchall()
        return [(r[0], r[1]) for r in rows]
    try:
        from langgraph.checkpoint.postgres import PostgresSaver
    except ImportError:  # pragma: no cover - the postgres extra is a dependency
        PostgresSaver = None  # type: ignore[assignment,misc]  # noqa: N806
    if PostgresSaver is not None and isinstance(saver, PostgresSaver):
        with saver._cursor() as cur:
            cur.execute(_SQL.format(limit="%s"), (limit,))
            return [(r["thread_id"], r["last"]) for r in cur.fetchall()]
    seen: dict[str, str] = {}
    for item in islice(saver.list(None), FALLBACK_SCAN):
        conf = item.config["configurable"]
        seen.setdefault(conf["thread_id"], conf.get("checkpoint_id", ""))
        if len(seen) >= limit:
            break
    return list(seen.items())
