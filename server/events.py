"""The session event log: the contract between the live and the clip studio.

Every change made on air is appended with a UTC timestamp. Exported as JSONL,
one ``{"t": ISO-8601 UTC, "type": ..., ...}`` object per line, product events
carrying ``code``. ``chotdon clips`` reads exactly this.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, insert, select

# Defined once in the core and re-exported: the event types and the JSONL writer.
from chotdon.eventlog import EVENT_TYPES, to_jsonl

from .db import events, live_sessions, open_database, utcnow_iso
from .errors import NotFound

__all__ = [
    "EVENT_TYPES",
    "append_event",
    "append_events",
    "iter_events",
    "read_session_events",
    "session_exists",
    "to_jsonl",
]

# Built once: the hot path (a comment_received per comment) only binds values.
_INSERT = insert(events)


def append_events(
    conn: Connection,
    session_id: int,
    records: Sequence[tuple[str, dict[str, Any]]],
    t: str | None = None,
) -> None:
    """Append events inside the caller's transaction, in one executemany."""
    if not records:
        return
    unknown = [type_ for type_, _ in records if type_ not in EVENT_TYPES]
    if unknown:
        raise ValueError(f"unknown event type {unknown[0]!r}")
    moment = t or utcnow_iso()
    rows = [
        {
            "session_id": session_id,
            "t": moment,
            "type": type_,
            "data": json.dumps(data, ensure_ascii=False, separators=(",", ":")),
        }
        for type_, data in records
    ]
    conn.execute(_INSERT, rows)


def append_event(
    conn: Connection, session_id: int, type_: str, t: str | None = None, **data: Any
) -> dict[str, Any]:
    """Append one event inside the caller's transaction and return it as exported."""
    moment = t or utcnow_iso()
    append_events(conn, session_id, [(type_, data)], t=moment)
    return {"t": moment, "type": type_, **data}


def session_exists(conn: Connection, session_id: int) -> bool:
    return (
        conn.execute(select(live_sessions.c.id).where(live_sessions.c.id == session_id)).first()
        is not None
    )


def iter_events(conn: Connection, session_id: int) -> Iterator[dict[str, Any]]:
    if not session_exists(conn, session_id):
        raise NotFound(f"no live session {session_id}")
    query = (
        select(events.c.t, events.c.type, events.c.data)
        .where(events.c.session_id == session_id)
        .order_by(events.c.id)
    )
    for t, type_, data in conn.execute(query):
        yield {"t": t, "type": type_, **json.loads(data)}


def read_session_events(
    data_dir: Path | None, session_id: int, *, engine: Engine | None = None
) -> list[dict[str, Any]]:
    """All events of one session from the data directory's database (for ``chotdon clips``)."""
    if engine is None:
        from .settings import Settings

        settings = Settings(data_dir=data_dir)
        engine = open_database(settings.resolved_data_dir() / "chotdon.db", settings.database_url)
    with engine.connect() as conn:
        return list(iter_events(conn, session_id))
