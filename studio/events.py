"""Reading the live session's event log and turning it into product windows.

The log is the contract with the live server: one JSON object per line,
``{"t": "2026-11-20T12:00:03.120Z", "type": "product_pinned", "code": "A1"}``.
Times are absolute (UTC); a recording is placed on that clock by its start
time, so every window is expressed in seconds into the recording.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from chotdon.eventlog import EVENT_TYPES, parse_time
from studio.errors import StudioError

__all__ = [
    "KNOWN_TYPES",
    "Event",
    "ProductWindow",
    "parse_events",
    "parse_time",
    "price_at",
    "product_windows",
    "read_events",
]

# The core's list (chotdon.eventlog): one source of truth for the contract.
KNOWN_TYPES = EVENT_TYPES


@dataclass(frozen=True)
class Event:
    t: datetime
    type: str
    data: Mapping[str, Any] = field(default_factory=dict)

    @property
    def code(self) -> str | None:
        code = self.data.get("code")
        return str(code) if code is not None else None


@dataclass(frozen=True)
class ProductWindow:
    """One stretch of the recording (seconds) while ``code`` was pinned."""

    code: str
    start: float
    end: float
    orders: tuple[float, ...] = ()  # recording seconds of each order_created for this code
    comments: tuple[float, ...] = ()  # recording seconds of every comment in the window

    @property
    def duration(self) -> float:
        return self.end - self.start


def parse_events(records: Iterable[Mapping[str, Any]], source: str = "events") -> list[Event]:
    """Known events from already-decoded records, in time order. Unknown types are
    skipped so an older studio can read a newer server's log."""
    events: list[Event] = []
    for number, record in enumerate(records, start=1):
        where = f"{source}, record {number}"
        if not isinstance(record, Mapping):
            raise StudioError(f"{where}: expected a JSON object")
        kind = record.get("type")
        if kind not in KNOWN_TYPES:
            continue
        try:
            when = parse_time(record.get("t"))
        except ValueError as exc:
            raise StudioError(f"{where}: bad time 't' ({exc})") from None
        data = {k: v for k, v in record.items() if k not in ("t", "type")}
        events.append(Event(when, str(kind), data))
    events.sort(key=lambda e: e.t)
    return events


def read_events(path: Path) -> list[Event]:
    """Events from a JSONL file; a bad line is reported by its number."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise StudioError(f"cannot read events file {path}: {exc.strerror}") from None
    records: list[Mapping[str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise StudioError(f"{path}, line {number}: not valid JSON ({exc.msg})") from None
        if not isinstance(record, dict):
            raise StudioError(f"{path}, line {number}: expected a JSON object")
        if record.get("type") in KNOWN_TYPES:
            try:
                parse_time(record.get("t"))
            except ValueError as exc:
                raise StudioError(f"{path}, line {number}: bad time 't' ({exc})") from None
        records.append(record)
    return parse_events(records, source=str(path))


def _seconds(event: Event, origin: datetime) -> float:
    return (event.t - origin).total_seconds()


def product_windows(
    events: list[Event], recording_start: datetime, duration: float
) -> list[ProductWindow]:
    """Pin-to-next-pin windows (also closed by an unpin or the session stop),
    clipped to ``[0, duration]``; windows wholly outside the recording vanish."""
    windows: list[ProductWindow] = []
    open_code: str | None = None
    open_at = 0.0
    closers = {"product_pinned", "product_unpinned", "session_stopped"}
    for event in events:
        if event.type not in closers:
            continue
        at = _seconds(event, recording_start)
        if open_code is not None:
            windows.append(ProductWindow(open_code, open_at, at))
            open_code = None
        if event.type == "product_pinned" and event.code:
            open_code, open_at = event.code, at
    if open_code is not None:
        windows.append(ProductWindow(open_code, open_at, max(open_at, duration)))
    return [_fill(w, events, recording_start, duration) for w in windows if _overlaps(w, duration)]


def _overlaps(window: ProductWindow, duration: float) -> bool:
    return window.end > 0 and window.start < duration and window.end > window.start


def _fill(
    window: ProductWindow, events: list[Event], origin: datetime, duration: float
) -> ProductWindow:
    start, end = max(0.0, window.start), min(duration, window.end)
    # Orders trail the pitch: count the ones that land shortly after the unpin too.
    order_end = end + 30.0
    orders = tuple(
        at
        for e in events
        if e.type == "order_created" and e.code == window.code
        for at in [_seconds(e, origin)]
        if start <= at < order_end
    )
    comments = tuple(
        at
        for e in events
        if e.type == "comment_received"
        for at in [_seconds(e, origin)]
        if start <= at < end
    )
    return ProductWindow(window.code, start, end, orders, comments)


def price_at(
    events: list[Event], code: str, when: datetime
) -> tuple[int | None, int | None] | None:
    """``(price, sale_price)`` from the latest ``price_changed`` for ``code``
    at or before ``when``, or None when the catalog price still holds."""
    latest: Event | None = None
    for event in events:
        if event.t > when:
            break
        if event.type == "price_changed" and event.code == code:
            latest = event
    if latest is None:
        return None
    return _as_int(latest.data.get("price")), _as_int(latest.data.get("sale_price"))


def _as_int(value: object) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(float(str(value)))
    except ValueError:
        return None
