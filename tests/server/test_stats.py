"""The stats route against a recount of the session's own event log, minute by minute."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import pytest
from fastapi.testclient import TestClient

from chotdon.stats import session_stats
from server.app import create_app
from server.settings import Settings
from tests.orders.conftest import AUTH, Api, comment, make_settings

from .stats_session import Clock, build_session, freeze


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return freeze(monkeypatch)


@pytest.fixture
def api(tmp_path: Any) -> Any:
    settings: Settings = make_settings(tmp_path / "data")
    with TestClient(create_app(settings)) as client:
        yield Api(client)


def recount(events: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Per-minute comments, orders and revenue straight from the exported log."""
    minutes: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for event in events:
        key = event["t"][:16] + ":00Z"
        if event["type"] == "comment_received":
            minutes[key]["comments"] += 1
        elif event["type"] == "order_created":
            minutes[key]["orders"] += 1
            minutes[key]["revenue"] += round(event["qty"] * event["price"])
        elif event["type"] == "order_cancelled" and not event.get("waitlist"):
            minutes[key]["revenue"] -= round(event["qty"] * event["price"])
    return minutes


def test_the_route_agrees_with_the_event_log_minute_by_minute(api: Api, clock: Clock) -> None:
    session = build_session(api, clock)
    stats = api.get(f"/api/sessions/{session}/stats")
    raw = api.client.get(f"/api/sessions/{session}/events", headers=AUTH).text
    events = [json.loads(line) for line in raw.splitlines()]
    minutes = recount(events)
    assert [m["t"] for m in stats["per_minute"]] == [
        f"2026-12-02T12:0{n}:00Z" for n in range(6)
    ]  # every minute of the session, quiet ones included
    for minute in stats["per_minute"]:
        counted = minutes.get(minute["t"], {})
        for key in ("comments", "orders", "revenue"):
            assert minute[key] == counted.get(key, 0), (minute, key)
    assert stats["orders"] == sum(m["orders"] for m in stats["per_minute"]) == 3
    assert stats["comments"] == sum(m["comments"] for m in stats["per_minute"]) == 8
    assert stats["revenue"] == sum(m["revenue"] for m in stats["per_minute"])
    # Minh's A1 x1 and Hoa's B4 x3 stand; Lan's A1 x2 was cancelled; B5 never sold.
    assert stats["revenue"] == 150_000 + 3 * 30_000
    assert stats["cancels"] == 1 and stats["questions"] == 1
    pinned = [m["pinned"] for m in stats["per_minute"]]
    assert pinned == ["A1", "A1", "B4", "B4", "B4", None]
    products = {p["code"]: p for p in stats["products"]}
    assert set(products) == {"A1", "B4"}
    assert (products["A1"]["qty"], products["A1"]["revenue"]) == (1, 150_000)
    assert (products["B4"]["qty"], products["B4"]["name"]) == (3, "Cam sành Hàm Yên")
    assert [p["code"] for p in stats["products"]] == ["A1", "B4"]  # by revenue


def test_the_route_agrees_with_the_order_book(api: Api, clock: Clock) -> None:
    session = build_session(api, clock)
    stats = api.get(f"/api/sessions/{session}/stats")
    book = api.get(f"/api/orders?scope=all&session={session}")
    standing = [
        ln for b in book for ln in b["lines"] if ln["status"] not in ("cancelled", "waitlist")
    ]
    assert stats["revenue"] == sum(ln["amount"] for ln in standing)
    assert stats["commenters"] == 4  # lan, minh, hoa, x
    assert stats["commenters_ordered"] == 2  # minh and hoa still have standing lines
    assert stats["review_queue"] == 0 and stats["running"] is False
    assert api.state()["sold"] == {"A1": 1, "B4": 3}  # what the overlay shows agrees too


def test_a_running_session_reaches_now_and_queues_count(api: Api, clock: Clock) -> None:
    api.post("/api/live/session/start", {})
    api.pin("A1")
    api.ingest(comment("1", "lấy 2 hũ mắm tôm"))  # doubtful: waits for a helper
    session = api.state()["session"]["id"]
    stats = api.get(f"/api/sessions/{session}/stats")
    assert stats["running"] is True and stats["review_queue"] == 1
    assert stats["orders"] == 0 and stats["per_minute"][0]["pinned"] == "A1"


def test_the_route_needs_the_helper_token_and_a_real_session(api: Api) -> None:
    assert api.client.get("/api/sessions/1/stats").status_code == 401
    missing = api.client.get("/api/sessions/99/stats", headers=AUTH)
    assert missing.status_code == 404 and missing.json()["field"] == "session"


def test_numbers_asked_during_the_live_match_a_full_count_after(api: Api, clock: Clock) -> None:
    api.post("/api/live/session/start", {})
    api.pin("A1")
    api.ingest(comment("1", "A1 x2"))
    session = api.state()["session"]["id"]
    early = api.get(f"/api/sessions/{session}/stats")  # the counter is primed here
    clock.at(70)
    api.pin("B4")
    api.ingest(comment("2", "B4 x1", user="minh"), comment("3", "hủy"))
    clock.at(130)
    api.post("/api/live/session/stop", {})
    later = api.get(f"/api/sessions/{session}/stats")
    raw = api.client.get(f"/api/sessions/{session}/events", headers=AUTH).text
    full = session_stats([json.loads(line) for line in raw.splitlines()]).to_json()
    assert early["orders"] == 1 and early["revenue"] == 300_000
    for key in ("orders", "cancels", "revenue", "comments", "per_minute", "pins"):
        assert later[key] == full[key], key
    assert [(p["code"], p["qty"]) for p in later["products"]] == [("B4", 1), ("A1", 0)]
