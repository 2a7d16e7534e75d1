"""A short live session built through the real API, on a clock the test moves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import server.db
from tests.orders.conftest import Api, comment

START = datetime(2026, 12, 2, 12, 0, 5, tzinfo=UTC)


class Clock:
    """The server's clock for event times: tests move it instead of sleeping."""

    moment = START

    def at(self, seconds: float) -> None:
        Clock.moment = START + timedelta(seconds=seconds)


class _Frozen(datetime):
    @classmethod
    def now(cls, tz: Any = None) -> _Frozen:  # type: ignore[override]
        return Clock.moment.astimezone(tz) if tz else Clock.moment  # type: ignore[return-value]


def freeze(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Event times from a :class:`Clock` at ``START`` for the rest of the test."""
    monkeypatch.setattr(server.db, "datetime", _Frozen)
    Clock.moment = START
    return Clock()


def build_session(api: Api, clock: Clock) -> int:
    """A short live: two pins, orders from comments, a question, a cancel, a waitlist."""
    clock.at(0)
    api.post("/api/live/session/start", {"title": "Phiên thử"})
    clock.at(5)
    api.pin("A1")  # 150.000 ₫ on sale
    clock.at(15)
    api.ingest(comment("1", "A1 x2"))
    clock.at(35)
    api.ingest(comment("2", "A1 x1", user="minh", nickname="Minh"))
    clock.at(85)
    api.ingest(comment("3", "còn hàng không shop?", user="hoa", nickname="Hoa"))
    clock.at(125)
    api.pin("B4")  # 30.000 ₫/kg
    clock.at(135)
    api.ingest(comment("4", "B4 x3", user="hoa", nickname="Hoa"), comment("5", "đẹp quá", user="x"))
    clock.at(165)
    api.ingest(comment("6", "hủy"))  # Lan's A1 x2 goes back
    clock.at(205)
    api.set_stock("B5", 0)
    api.ingest(comment("7", "B5 x1", user="minh", nickname="Minh"))  # waitlisted
    clock.at(215)
    api.ingest(comment("8", "hủy", user="minh", nickname="Minh"))  # a waitlist cancel
    session: int = api.state()["session"]["id"]
    clock.at(295)
    api.post("/api/live/session/stop", {})
    return session
