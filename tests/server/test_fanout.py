"""Two live services on one PostgreSQL database, in one process: how a worker catches up.

The other worker is a real app (``TestClient``) taking commands over REST; the
worker under test is a bare :class:`LiveService` whose hub has one client, so the
test sees exactly what that worker would send its sockets. The whole path through
processes and LISTEN/NOTIFY is in ``tests/hardening/test_workers.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, text

from server import context
from server.app import create_app
from server.db import live_log, open_database
from server.fanout import APPLICATION_NAME
from server.hub import Client, Hub
from server.live import LiveService
from server.shops import add_shop

from .conftest import AUTH, OVERLAY, make_settings

pytestmark = pytest.mark.postgres


class Screen:
    """One socket of the worker under test: every message it was sent."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.moved = asyncio.Event()

    async def send(self, text: str) -> None:
        self.messages.append(json.loads(text))
        self.moved.set()

    async def until(self, count: int) -> None:
        async with asyncio.timeout(10):
            while len(self.messages) < count:
                self.moved.clear()
                await self.moved.wait()


@pytest.fixture
def other(tmp_path: Path, postgres_url: str) -> Iterator[TestClient]:
    settings = make_settings(tmp_path / "other", database_url=postgres_url)
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def engine(tmp_path: Path, postgres_url: str, other: TestClient) -> Iterator[Engine]:
    engine = open_database(tmp_path / "unused.db", postgres_url)
    yield engine
    engine.dispose()


def _pin(other: TestClient, *codes: str) -> None:
    for code in codes:
        other.post("/api/live/pin", json={"code": code}, headers=AUTH).raise_for_status()


async def _watch(live: LiveService, hub: Hub) -> tuple[Screen, asyncio.Task[None]]:
    screen = Screen()
    first = json.dumps(live.snapshot())
    task = asyncio.create_task(hub.serve(Client("overlay", screen.send), first))
    await screen.until(1)
    return screen, task


def test_a_poked_worker_sends_the_very_updates_in_order(other: TestClient, engine: Engine) -> None:
    hub = Hub()
    live = LiveService(engine, hub)
    live.load()
    start = live.rev
    _pin(other, "A1", "A2", "A3")

    async def main() -> list[dict[str, Any]]:
        screen, task = await _watch(live, hub)
        live.poked(start + 1, "someone-else")  # one poke; the log holds three
        await screen.until(4)
        live.poked(start + 2, "someone-else")  # late: already here
        hub.close_all()
        await task
        return screen.messages

    messages = asyncio.run(main())
    updates = messages[1:]
    assert [m["type"] for m in updates] == ["update"] * 3
    assert [m["rev"] for m in updates] == [start + 1, start + 2, start + 3]
    assert [m["set"]["pinned"] for m in updates] == ["A1", "A2", "A3"]
    assert live.pinned == "A3" and live.pokes_ignored == 1


def test_a_worker_whose_updates_left_the_log_reloads_and_sends_a_snapshot(
    other: TestClient, engine: Engine
) -> None:
    hub = Hub()
    live = LiveService(engine, hub)
    live.load()
    start = live.rev
    _pin(other, "A1", "B1")
    with engine.begin() as conn:
        conn.execute(delete(live_log))  # as if pruned past this worker

    async def main() -> list[dict[str, Any]]:
        screen, task = await _watch(live, hub)
        live.check()
        await screen.until(2)
        hub.close_all()
        await task
        return screen.messages

    messages = asyncio.run(main())
    assert messages[1]["type"] == "snapshot"
    assert messages[1]["rev"] == start + 2 and messages[1]["state"]["pinned"] == "B1"


def test_a_command_on_a_worker_that_is_behind_catches_up_first(
    other: TestClient, engine: Engine
) -> None:
    hub = Hub()
    live = LiveService(engine, hub)
    live.load()
    start = live.rev
    _pin(other, "A1", "A2")

    async def main() -> list[dict[str, Any]]:
        screen, task = await _watch(live, hub)
        await live.set_element("qr", True)  # no poke came: the lock's check finds the gap
        await screen.until(4)
        hub.close_all()
        await task
        return screen.messages

    messages = asyncio.run(main())
    assert [m["rev"] for m in messages[1:]] == [start + 1, start + 2, start + 3]
    assert messages[3]["set"]["elements"]["qr"] is True
    assert live.pinned == "A2"  # the state the command ran on had the other's pins


def test_two_workers_inserting_one_new_buyer_get_the_same_row(
    other: TestClient, engine: Engine
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from sqlalchemy import func, select

    from server.comments import CommentIn
    from server.db import customers
    from server.orders.ingest import _upsert_customers
    from server.orders.parsing import ParserCache

    def batch(nickname: str, text: str) -> list[Any]:
        comment = CommentIn(platform="sim", id=nickname, user="lan", nickname=nickname, text=text)
        return [(comment, ParserCache().parse(comment.text, None))]

    first = engine.connect()
    try:
        first.begin()
        mine = _upsert_customers(first, batch("Lan", "chốt 1"))  # holds the new row
        with ThreadPoolExecutor(1) as pool:
            # The second worker's insert waits on the unique index until the first commits.
            theirs = pool.submit(
                lambda: _in_own_transaction(engine, batch("Lan B", "sđt 0912345678"))
            )
            _until_waiting(engine, theirs)
            first.commit()
            ids = theirs.result(timeout=10)
    finally:
        first.close()
    assert ids == mine
    with engine.connect() as conn:
        rows = conn.execute(select(customers.c.nickname, customers.c.phone)).all()
        assert conn.scalar(select(func.count()).select_from(customers)) == 1
    assert [tuple(r) for r in rows] == [("Lan B", "0912345678")]


def _in_own_transaction(engine: Engine, pairs: list[Any]) -> dict[tuple[str, str], int]:
    from server.orders.ingest import _upsert_customers

    with engine.begin() as conn:
        return _upsert_customers(conn, pairs)


def _until_waiting(engine: Engine, future: Any) -> None:
    """Until the other transaction is seen waiting on a lock (or it ended: its error)."""
    from sqlalchemy import text

    query = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    with engine.connect() as watcher:
        for _ in range(3000):
            if watcher.scalar(query):
                return
            watcher.rollback()  # a fresh snapshot of pg_stat_activity
            with contextlib.suppress(TimeoutError):
                future.result(timeout=0.01)  # wait on the racer, not on the clock
            assert not future.done(), "the second insert did not wait for the first"
    raise AssertionError("the second insert never waited on the unique index")


def _next_pin(overlay: Any) -> Any:
    while (message := overlay.receive_json())["type"] != "update" or "pinned" not in message["set"]:
        pass
    return message["set"]["pinned"]


def test_one_listener_per_worker_brings_each_shop_its_own_pokes(
    tmp_path: Path, postgres_url: str, other: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(context, "RELOAD_EVERY_S", 0.0)  # find the new shop at once
    engine = open_database(tmp_path / "unused.db", postgres_url)
    try:
        bravo = add_shop(engine, "Bravo")
        b_auth = {"Authorization": f"Bearer {bravo.helper_token}"}
        product = {"code": "K1", "name": "Bravo tea", "price": 1000, "unit": "goi", "stock": 5}
        other.post("/api/products", json=product, headers=b_auth).raise_for_status()
        settings = make_settings(tmp_path / "mine", database_url=postgres_url)
        with (
            TestClient(create_app(settings)) as mine,
            mine.websocket_connect(f"/ws/overlay?key={OVERLAY}") as a_overlay,
            mine.websocket_connect(f"/ws/overlay?key={bravo.overlay_key}") as b_overlay,
        ):
            assert a_overlay.receive_json()["type"] == "snapshot"
            assert b_overlay.receive_json()["state"]["products"]["K1"]["name"] == "Bravo tea"
            # Both pins go through the other worker: this one hears them as pokes.
            _pin(other, "A2")
            other.post("/api/live/pin", json={"code": "K1"}, headers=b_auth).raise_for_status()
            assert _next_pin(a_overlay) == "A2"
            assert _next_pin(b_overlay) == "K1"
            registry = mine.app.state.ctx.shops  # type: ignore[attr-defined]
            assert registry.listener is not None
            assert sorted(registry.listener.shops) == sorted(["default", bravo.slug])
            assert all(c.listener is registry.listener for c in registry.contexts.values())
            with engine.connect() as conn:
                listening = conn.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND application_name = :name"
                    ),
                    {"name": APPLICATION_NAME},
                )
            # Two workers (this app and the other), two shops each: two connections.
            assert listening is not None and 1 <= listening <= 2
    finally:
        engine.dispose()
