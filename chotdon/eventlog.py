"""The session event log: the contract between the live server and the clip studio.

Every change made on air is logged with a UTC time. Exported as JSONL, one
``{"t": "2026-11-20T12:00:03.120Z", "type": "product_pinned", "code": "A1"}`` object
per line; product events carry ``code``. The server writes it, ``chotdon clips``
reads it, both through this module.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, TextIO

__all__ = [
    "EVENT_TYPES",
    "EventLogError",
    "EventType",
    "encode_record",
    "parse_jsonl",
    "parse_time",
    "read_jsonl",
    "to_jsonl",
    "write_jsonl",
]


class EventType(StrEnum):
    """Every event the live server logs. Adding one here is a change to the contract."""

    SESSION_STARTED = "session_started"
    SESSION_STOPPED = "session_stopped"
    PRODUCT_PINNED = "product_pinned"
    PRODUCT_UNPINNED = "product_unpinned"
    PRICE_CHANGED = "price_changed"
    STOCK_CHANGED = "stock_changed"
    COUNTDOWN_STARTED = "countdown_started"
    COUNTDOWN_STOPPED = "countdown_stopped"
    ELEMENT_SHOWN = "element_shown"
    ELEMENT_HIDDEN = "element_hidden"
    COMMENT_SHOWN = "comment_shown"
    COMMENT_RECEIVED = "comment_received"
    ORDER_CREATED = "order_created"
    ORDER_CANCELLED = "order_cancelled"
    # OBS confirmed it records (``path`` when known; ``started_at`` when it was already
    # recording before the session), and stopped (``path``: the file OBS wrote).
    RECORDING_STARTED = "recording_started"
    RECORDING_STOPPED = "recording_stopped"


EVENT_TYPES: frozenset[str] = frozenset(t.value for t in EventType)


class EventLogError(ValueError):
    """An event log that cannot be read; the message names the file and line."""

    def __init__(self, message: str, *, line: int | None = None) -> None:
        self.line = line
        super().__init__(message)


def parse_time(value: object) -> datetime:
    """An ISO-8601 time as an aware UTC datetime (naive times are taken as UTC)."""
    if not isinstance(value, str):
        raise ValueError(f"expected an ISO-8601 string, got {value!r}")
    parsed = datetime.fromisoformat(value.strip())
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def encode_record(record: Mapping[str, Any]) -> str:
    """One log line (with its newline); UTF-8 text kept readable, no spaces."""
    return json.dumps(dict(record), ensure_ascii=False, separators=(",", ":")) + "\n"


def to_jsonl(records: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    """Log lines one by one, for streaming an export."""
    for record in records:
        yield encode_record(record)


def write_jsonl(records: Iterable[Mapping[str, Any]], target: Path | TextIO) -> int:
    """Write records to a file path or an open text stream; returns how many."""
    if isinstance(target, Path):
        with target.open("w", encoding="utf-8", newline="\n") as handle:
            return write_jsonl(records, handle)
    count = 0
    for line in to_jsonl(records):
        target.write(line)
        count += 1
    return count


def parse_jsonl(text: str, *, source: str = "events") -> list[dict[str, Any]]:
    """Decoded records in file order. A line that is not a JSON object, or a known
    event without a valid time ``t``, is an :class:`EventLogError` naming the line.
    Unknown types pass through unchecked so an older studio can read a newer log."""
    records: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            records.append(_record(line, f"{source}, line {number}", number))
    return records


def _record(line: str, where: str, number: int) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise EventLogError(f"{where}: not valid JSON ({exc.msg})", line=number) from None
    if not isinstance(record, dict):
        raise EventLogError(f"{where}: expected a JSON object", line=number)
    if record.get("type") in EVENT_TYPES:
        try:
            parse_time(record.get("t"))
        except ValueError as exc:
            raise EventLogError(f"{where}: bad time 't' ({exc})", line=number) from None
    return record


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Records from a JSONL file (see :func:`parse_jsonl`)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise EventLogError(f"cannot read events file {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise EventLogError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    return parse_jsonl(text, source=str(path))
