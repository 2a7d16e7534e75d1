"""A live session's event log, read straight from the server's SQLite file.

``chotdon clips --session`` runs on the same machine as the server, but the studio
must not import the server (it runs on an editor's laptop without the web stack).
The stdlib ``sqlite3`` module reads the two tables the log lives in:
``live_sessions(id, ...)`` and ``events(id, session_id, t, type, data)`` with
``data`` a JSON object of the event's fields. The file is opened read-write but
never created (``mode=rw``) and only queried, so a live server keeps writing.

When OBS followed the session (server.obs), the log also says which file was
recorded and when it started (``recording_started`` / ``recording_stopped``), so
``chotdon clips --session N`` needs neither the file nor ``--recording-start``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import platformdirs

from studio.errors import StudioError
from studio.events import Event, parse_time

__all__ = [
    "DATABASE_NAME",
    "LoggedRecording",
    "default_data_dir",
    "logged_recordings",
    "read_session_events",
    "recording_from_events",
]

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


# -- the recording, from the log ------------------------------------------------------


@dataclass(frozen=True)
class LoggedRecording:
    """One OBS recording as the event log tells it (server.obs writes these)."""

    start: datetime  # when its first frame was recorded
    end: datetime | None  # None: the log never saw it stop
    path: Path | None  # the file OBS wrote (``recording_stopped``'s ``path``)

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds() if self.end else 0.0


def logged_recordings(events: Sequence[Event]) -> list[LoggedRecording]:
    """Every ``recording_started`` paired with the ``recording_stopped`` after it."""
    found: list[LoggedRecording] = []
    open_start: Event | None = None
    for event in events:
        if event.type == "recording_started":
            if open_start is not None:
                found.append(_recording(open_start, None))
            open_start = event
        elif event.type == "recording_stopped" and open_start is not None:
            found.append(_recording(open_start, event))
            open_start = None
    if open_start is not None:
        found.append(_recording(open_start, None))
    return found


def _recording(started: Event, stopped: Event | None) -> LoggedRecording:
    start = started.t
    if started.data.get("started_at"):  # OBS was already recording: when it began
        with contextlib.suppress(ValueError):
            start = parse_time(started.data["started_at"])
    raw = (stopped.data.get("path") if stopped else None) or started.data.get("path")
    path = Path(str(raw)) if raw else None
    return LoggedRecording(start, stopped.t if stopped else None, path)


def recording_from_events(
    events: Sequence[Event],
    source: str,
    *,
    recording: Path | None,
    start: datetime | None,
    offset: float | None,
) -> tuple[Path, datetime | None]:
    """The recording file and its start time for ``chotdon clips``: the flags when
    given, else what the event log says (the longest logged recording with a file).
    A RECORDING given without a start gets the start of the logged recording of the
    same file name, if there is one."""
    logged = [r for r in logged_recordings(events) if r.path is not None]
    chosen: LoggedRecording | None
    if recording is None:
        if not logged:
            raise StudioError(
                f"{source} names no recording file (no recording_stopped with a path: was OBS "
                "connected, with CHOTDON_OBS_URL set?); give the RECORDING path"
            )
        chosen = max(logged, key=lambda r: r.seconds)
        if len(logged) > 1:
            logger.warning("%s has %d recordings; using the longest", source, len(logged))
        assert chosen.path is not None
        if not chosen.path.is_file():
            raise StudioError(
                f"the recording OBS wrote for {source}, {chosen.path}, is not here; "
                "give the RECORDING path"
            )
        recording = chosen.path
    else:
        same = [r for r in logged if r.path is not None and r.path.name == recording.name]
        chosen = same[-1] if same else None
    if start is None and offset is None and chosen is not None:
        start = chosen.start
    return recording, start
