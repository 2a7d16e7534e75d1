from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient

from server.app import create_app
from server.events import read_session_events
from server.live import CommandLock

from .conftest import AUTH, make_settings


def _run(client: TestClient, op: str, **args: object) -> dict:
    response = client.post(f"/api/live/{op}", json=args, headers=AUTH)
    assert response.status_code == 200, response.text
    return response.json()


def test_every_change_on_air_is_logged_with_utc_times(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    with TestClient(create_app(settings)) as client:
        session_id = _run(client, "session/start", title="Phiên sáng")["result"]["id"]
        _run(client, "pin", code="a1")
        _run(client, "price", code="A1", price=170000, sale_price=140000)
        _run(client, "stock", code="A1", stock=12)
        _run(client, "countdown", seconds=180)
        _run(client, "element", element="qr", visible=True)
        _run(client, "countdown/stop")
        _run(client, "unpin")
        _run(client, "session/stop")
    events = read_session_events(tmp_path, session_id)
    assert [e["type"] for e in events] == [
        "session_started",
        "product_pinned",
        "price_changed",
        "stock_changed",
        "countdown_started",
        "element_shown",
        "countdown_stopped",
        "product_unpinned",
        "session_stopped",
    ]
    assert events[0]["title"] == "Phiên sáng"
    assert events[1]["code"] == "A1"
    assert events[2] == {**events[2], "code": "A1", "price": 170000, "sale_price": 140000}
    assert events[3]["stock"] == 12
    times = [datetime.fromisoformat(e["t"].replace("Z", "+00:00")) for e in events]
    assert times == sorted(times) and all(t.tzinfo == UTC for t in times)
    assert events[4]["seconds"] == 180


def test_pin_before_start_goes_into_the_new_sessions_log(client: TestClient) -> None:
    _run(client, "pin", code="B4")
    session_id = _run(client, "session/start")["result"]["id"]
    lines = client.get(f"/api/sessions/{session_id}/events", headers=AUTH).text.splitlines()
    assert '"type":"product_pinned"' in lines[1] and '"code":"B4"' in lines[1]


def test_state_survives_a_restart(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    with TestClient(create_app(settings)) as client:
        _run(client, "session/start")
        _run(client, "pin", code="B1")
        _run(client, "countdown", seconds=600, label="Giờ vàng")
        _run(client, "element", element="ticker", visible=False)
        before = client.get("/api/live", headers=AUTH).json()
    with TestClient(create_app(settings)) as client:
        after = client.get("/api/live", headers=AUTH).json()
    assert after["rev"] == before["rev"]
    for key in ("pinned", "countdown", "elements", "session", "products"):
        assert after["state"][key] == before["state"][key], key


def test_countdown_sends_an_end_time_not_ticks(client: TestClient) -> None:
    sent = datetime.now(UTC)
    result = _run(client, "countdown", seconds=60)["result"]
    ends = datetime.fromisoformat(result["set"]["countdown"]["ends_at"].replace("Z", "+00:00"))
    assert 59 <= (ends - sent).total_seconds() <= 61


def test_unknown_element_and_bad_countdown_are_refused(client: TestClient) -> None:
    bad = client.post(
        "/api/live/element", json={"element": "fireworks", "visible": True}, headers=AUTH
    )
    assert bad.status_code == 422 and "fireworks" in bad.json()["error"]
    bad = client.post("/api/live/countdown", json={"seconds": 0}, headers=AUTH)
    assert bad.status_code == 422 and bad.json()["field"] == "seconds"


def test_deleting_the_pinned_product_unpins_it(client: TestClient) -> None:
    _run(client, "pin", code="B5")
    assert client.delete("/api/products/B5", headers=AUTH).status_code == 204
    state = client.get("/api/live", headers=AUTH).json()["state"]
    assert state["pinned"] is None and "B5" not in state["products"]


def test_second_start_returns_the_running_session(client: TestClient) -> None:
    first = _run(client, "session/start")["result"]
    second = _run(client, "session/start")["result"]
    assert first["id"] == second["id"]
    assert len(client.get("/api/sessions", headers=AUTH).json()) == 1


def test_the_command_lock_serves_helpers_commands_before_comment_batches() -> None:
    async def scenario() -> tuple[list[str], bool]:
        lock = CommandLock()
        order: list[str] = []

        async def take(name: str, urgent: bool) -> None:
            await lock.acquire(urgent)
            order.append(name)
            await asyncio.sleep(0)
            lock.release()

        await lock.acquire()  # a batch in the writer thread
        waiting = [
            asyncio.create_task(take(name, name.startswith("pin")))
            for name in ("batch1", "pin1", "batch2", "pin2")
        ]
        gone = asyncio.create_task(take("gone", True))
        await asyncio.sleep(0)
        gone.cancel()  # a helper who hung up while waiting: skipped, nothing held
        lock.release()
        await asyncio.gather(*waiting)
        return order, lock.locked()

    order, held = asyncio.run(scenario())
    assert order == ["pin1", "pin2", "batch1", "batch2"]
    assert held is False
