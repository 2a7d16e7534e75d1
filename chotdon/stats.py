"""Live numbers counted from a session's event log: the same records ``chotdon clips`` reads.

One pure function, :func:`session_stats`, over event records (``{"t", "type", ...}``
dicts as :mod:`chotdon.eventlog` reads them), so the server's stats route, the
after-live report and the studio count the same way:

- ``orders``: ``order_created`` entries (a line put on the book with stock behind it,
  including a waitlisted line promoted later);
- ``cancels``: ``order_cancelled`` entries that undo a sale (a waitlisted line's
  cancel, marked ``"waitlist": true``, never sold anything and is skipped);
- ``revenue``: đồng ordered minus đồng cancelled, each entry ``round(qty * price)``
  with the line's unit price the order book logs; older logs without ``price``
  count quantities but no money;
- ``comments``: ``comment_received`` entries (new comments, repeats excluded);
- per minute (UTC, ``2026-12-02T12:41:00Z``), every minute from the first event to
  the last (or ``until``), with the product on screen for most of that minute.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from chotdon.eventlog import EventType, parse_time

__all__ = [
    "Minute",
    "PinSpan",
    "ProductStats",
    "SessionStats",
    "StatsCounter",
    "iso_minute",
    "line_amount",
    "session_stats",
]

MINUTE = timedelta(minutes=1)


def line_amount(qty: float, price: int) -> int:
    """Đồng for ``qty`` at ``price`` (half a kilo at 45.000 ₫/kg is 22.500 ₫)."""
    return round(qty * price)


def iso_minute(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:00Z")


def _floor_minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


@dataclass
class Minute:
    start: datetime
    comments: int = 0
    questions: int = 0
    orders: int = 0
    cancels: int = 0
    revenue: int = 0
    pinned: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "t": iso_minute(self.start),
            "comments": self.comments,
            "questions": self.questions,
            "orders": self.orders,
            "cancels": self.cancels,
            "revenue": self.revenue,
            "pinned": self.pinned,
        }


@dataclass
class ProductStats:
    code: str
    qty: float = 0.0
    revenue: int = 0
    orders: int = 0
    cancels: int = 0

    def to_json(self) -> dict[str, Any]:
        qty = round(self.qty, 3)
        return {
            "code": self.code,
            "qty": int(qty) if qty.is_integer() else qty,
            "revenue": self.revenue,
            "orders": self.orders,
            "cancels": self.cancels,
        }


@dataclass(frozen=True)
class PinSpan:
    """One stretch of time a product was on screen; ``end`` None while it still is."""

    code: str
    start: datetime
    end: datetime | None

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "start": _iso(self.start),
            "end": _iso(self.end) if self.end else None,
        }


@dataclass
class SessionStats:
    orders: int = 0
    cancels: int = 0
    revenue: int = 0
    comments: int = 0
    questions: int = 0
    started: datetime | None = None
    stopped: datetime | None = None
    per_minute: list[Minute] = field(default_factory=list)
    products: list[ProductStats] = field(default_factory=list)
    pins: list[PinSpan] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "orders": self.orders,
            "cancels": self.cancels,
            "revenue": self.revenue,
            "comments": self.comments,
            "questions": self.questions,
            "started": _iso(self.started) if self.started else None,
            "stopped": _iso(self.stopped) if self.stopped else None,
            "per_minute": [m.to_json() for m in self.per_minute],
            "products": [p.to_json() for p in self.products],
            "pins": [p.to_json() for p in self.pins],
        }


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def session_stats(
    records: Iterable[Mapping[str, Any]], *, until: datetime | None = None
) -> SessionStats:
    """Count one session's records (in log order). ``until`` extends the minute range
    to "now" for a session still running; records of unknown types are ignored."""
    counter = StatsCounter()
    counter.feed(records)
    return counter.result(until)


_COUNTED = frozenset(
    {
        EventType.SESSION_STARTED,
        EventType.SESSION_STOPPED,
        EventType.PRODUCT_PINNED,
        EventType.PRODUCT_UNPINNED,
        EventType.COMMENT_RECEIVED,
        EventType.ORDER_CREATED,
        EventType.ORDER_CANCELLED,
    }
)
_PIN_EVENTS = frozenset(
    {
        EventType.SESSION_STARTED,
        EventType.SESSION_STOPPED,
        EventType.PRODUCT_PINNED,
        EventType.PRODUCT_UNPINNED,
    }
)


def _minute_key(value: str) -> str:
    """``2026-12-02T12:41`` for a record's time. The server writes ``...Z`` times, cut
    without parsing (a long live has tens of thousands of comments); others are parsed."""
    if len(value) >= 17 and value[10] == "T" and value[16] in ":Z" and value.endswith("Z"):
        return value[:16]
    return iso_minute(parse_time(value))[:16]


def _key_time(key: str) -> datetime:
    return datetime.fromisoformat(key).replace(tzinfo=UTC)


class StatsCounter:
    """:func:`session_stats`, fed as the log grows: a live session's numbers are asked
    for every few seconds, and only the records since the last time need counting."""

    def __init__(self) -> None:
        self.totals = SessionStats()
        self.minutes: dict[str, Minute] = {}
        self.products: dict[str, ProductStats] = {}
        self.pins: list[PinSpan] = []

    def feed(self, records: Iterable[Mapping[str, Any]]) -> None:
        for record in records:
            kind = record.get("type")
            if kind not in _COUNTED:
                continue
            key = _minute_key(record["t"])
            minute = self.minutes.get(key)
            if minute is None:
                minute = self.minutes[key] = Minute(_key_time(key))
            moment = parse_time(record["t"]) if kind in _PIN_EVENTS else minute.start
            _count(self.totals, minute, self.products, self.pins, moment, record)

    def result(self, until: datetime | None = None) -> SessionStats:
        """The numbers so far, as a new :class:`SessionStats` (the counter keeps counting)."""
        totals = self.totals
        stats = replace(totals, per_minute=[], products=[], pins=list(self.pins))
        if not self.minutes:
            return stats
        first = _key_time(min(self.minutes))
        last = _key_time(max(self.minutes))
        if until is not None:
            last = max(last, _floor_minute(until.astimezone(UTC)))
        stats.per_minute = _timeline(self.minutes, first, last, self.pins)
        products = [replace(p) for p in self.products.values()]
        stats.products = sorted(products, key=lambda p: (-p.revenue, -p.qty, p.code))
        return stats


def _count(
    stats: SessionStats,
    minute: Minute,
    products: dict[str, ProductStats],
    pins: list[PinSpan],
    moment: datetime,
    record: Mapping[str, Any],
) -> None:
    kind = record["type"]
    if kind == EventType.SESSION_STARTED:
        stats.started = stats.started or moment
    elif kind == EventType.SESSION_STOPPED:
        stats.stopped = moment
        _end_pin(pins, moment)
    elif kind == EventType.PRODUCT_PINNED:
        _end_pin(pins, moment)
        pins.append(PinSpan(str(record.get("code")), moment, None))
    elif kind == EventType.PRODUCT_UNPINNED:
        _end_pin(pins, moment)
    elif kind == EventType.COMMENT_RECEIVED:
        stats.comments += 1
        minute.comments += 1
        if record.get("intent") == "question":
            stats.questions += 1
            minute.questions += 1
    elif kind == EventType.ORDER_CREATED:
        _order(stats, minute, products, record, sign=1)
    elif kind == EventType.ORDER_CANCELLED and not record.get("waitlist"):
        _order(stats, minute, products, record, sign=-1)


def _order(
    stats: SessionStats,
    minute: Minute,
    products: dict[str, ProductStats],
    record: Mapping[str, Any],
    sign: int,
) -> None:
    code = str(record.get("code"))
    qty = float(record.get("qty") or 0)
    amount = sign * line_amount(qty, int(record.get("price") or 0))
    product = products.setdefault(code, ProductStats(code))
    product.qty += sign * qty
    product.revenue += amount
    stats.revenue += amount
    minute.revenue += amount
    if sign > 0:
        stats.orders += 1
        minute.orders += 1
        product.orders += 1
    else:
        stats.cancels += 1
        minute.cancels += 1
        product.cancels += 1


def _end_pin(pins: list[PinSpan], moment: datetime) -> None:
    if pins and pins[-1].end is None:
        pins[-1] = PinSpan(pins[-1].code, pins[-1].start, moment)


def _timeline(
    minutes: dict[str, Minute], first: datetime, last: datetime, pins: list[PinSpan]
) -> list[Minute]:
    out: list[Minute] = []
    start = first
    while start <= last:
        counted = minutes.get(start.strftime("%Y-%m-%dT%H:%M"))
        minute = replace(counted) if counted else Minute(start)
        minute.pinned = _on_screen(pins, start, start + MINUTE)
        out.append(minute)
        start += MINUTE
    return out


def _on_screen(pins: list[PinSpan], start: datetime, end: datetime) -> str | None:
    """The code on screen for the longest part of [start, end); the later one on a tie."""
    best: tuple[timedelta, int] | None = None
    code = None
    for index, pin in enumerate(pins):
        overlap = min(end, pin.end or end) - max(start, pin.start)
        if overlap > timedelta(0) and (best is None or (overlap, index) >= best):
            best, code = (overlap, index), pin.code
    return code
