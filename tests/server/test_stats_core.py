"""chotdon.stats on hand-written logs: the rules the route and the report rely on."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chotdon.stats import line_amount, session_stats


def at(minute: int, second: int = 0) -> str:
    return f"2026-12-02T12:{minute:02d}:{second:02d}.000Z"


def event(t: str, type_: str, **data: Any) -> dict[str, Any]:
    return {"t": t, "type": type_, **data}


def test_the_product_on_screen_longest_owns_the_minute() -> None:
    stats = session_stats(
        [
            event(at(0), "session_started", title=""),
            event(at(0, 10), "product_pinned", code="A1"),
            event(at(1, 20), "product_pinned", code="B2"),  # A1 had 20 s of minute 1, B2 40 s
            event(at(2, 30), "product_pinned", code="C3"),  # a tie: 30 s each, the later wins
            event(at(3, 1), "product_unpinned", code="C3"),
            event(at(4, 2), "session_stopped"),
        ]
    )
    assert [m.pinned for m in stats.per_minute] == ["A1", "B2", "C3", "C3", None]
    assert [(p.code, p.end is not None) for p in stats.pins] == [
        ("A1", True),
        ("B2", True),
        ("C3", True),
    ]


def test_cancels_undo_sales_but_not_waitlist_lines() -> None:
    stats = session_stats(
        [
            event(at(0, 1), "order_created", code="A1", qty=0.5, price=45_000),
            event(at(0, 2), "order_created", code="A1", qty=2, price=45_000),
            event(at(1, 3), "order_cancelled", code="A1", qty=2, price=45_000),
            event(at(1, 4), "order_cancelled", code="B5", qty=1, price=890_000, waitlist=True),
            event(at(1, 5), "order_created", code="B2", qty=1),  # an older log: no price
        ]
    )
    assert (stats.orders, stats.cancels, stats.revenue) == (3, 1, 22_500)
    assert [m.revenue for m in stats.per_minute] == [112_500, -90_000]
    assert [(p.code, p.qty, p.revenue) for p in stats.products] == [
        ("A1", 0.5, 22_500),
        ("B2", 1.0, 0),
    ]
    assert line_amount(0.5, 45_001) == 22_500  # banker's rounding of the half đồng


def test_until_extends_a_running_session_and_unknown_types_are_ignored() -> None:
    records = [
        event(at(0, 30), "comment_received", intent="question"),
        event(at(0, 40), "recording_started", path="x.mkv"),  # a newer server's event
        event(at(0, 50), "comment_received", intent="order", code="A1"),
    ]
    stats = session_stats(records, until=datetime(2026, 12, 2, 12, 3, 10, tzinfo=UTC))
    assert [m.to_json()["t"] for m in stats.per_minute][-1] == "2026-12-02T12:03:00Z"
    assert (stats.comments, stats.questions, len(stats.per_minute)) == (2, 1, 4)
    assert session_stats([]).to_json()["per_minute"] == []
