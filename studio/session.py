"""A live session's event log, read straight from the server's SQLite file.

``chotdon clips --session`` runs on the same machine as the server, but the studio
must not import the server (it runs on an editor's laptop without the web stack).
The stdlib ``sqlite3`` module reads the two tables the log lives in:
``live_sessions(id, ...)`` and ``events(id, session_id, t, type, data)`` with
``data`` a JSON object of the event's fields. The file is opened read-write but
never created (``mode=rw``) and only queried, so a live server keeps writing.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path
from typing import Any

import platformdirs

from studio.errors import StudioError

__all__ = ["DATABASE_NAME", "default_data_dir", "read_session_events"]

logger = logging.getLogger(__name__)

DATABASE_NAME = "chotdon.db"  # the server's file name inside its data folder


def default_data_dir() -> Path:
    """The server's default data folder (the same platformdirs rule it uses)."""
    return Path(platformdirs.user_data_dir("chotdon", appauthor=False))


def read_session_events(data_dir: Path | None, session_id: int) -> list[dict[str, Any]]:
    """Every event of one session, oldest first, as ``{"t", "type", **data}`` records."""
    folder = data_dir or default_data_dir()
    path = folder / DATABASE_NAME
    if not path.is_file():
        raise StudioError(f"no live session {session_id} in {folder} (no {DATABASE_NAME})")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True)
    except sqlite3.Error as exc:
        raise StudioError(f"cannot open {path}: {exc}") from None
    try:
        return _session_records(conn, session_id, folder)
    except sqlite3.Error as exc:
        raise StudioError(f"cannot read the event log in {path}: {exc}") from None
    finally:
        conn.close()


def _session_records(
    conn: sqlite3.Connection, session_id: int, folder: Path
) -> list[dict[str, Any]]:
    found = conn.execute("SELECT 1 FROM live_sessions WHERE id = ?", (session_id,)).fetchone()
    if found is None:
        raise StudioError(f"no live session {session_id} in {folder}")
    rows = conn.execute(
        "SELECT id, t, type, data FROM events WHERE session_id = ? ORDER BY id", (session_id,)
    )
    records: list[dict[str, Any]] = []
    for event_id, t, type_, data in rows:
        where = f"event {event_id} of session {session_id}"
        try:
            fields = json.loads(data or "{}")
        except json.JSONDecodeError:
            raise StudioError(f"{where}: data is not JSON") from None
        if not isinstance(fields, dict):
            raise StudioError(f"{where}: data is not a JSON object")
        records.append({"t": t, "type": type_, **fields})
    logger.debug("read %d events of session %d from %s", len(records), session_id, folder)
    return records
