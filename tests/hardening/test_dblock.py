"""Another program holds the database's write lock while the real server runs.

A thread with its own sqlite3 connection takes the write lock (``BEGIN IMMEDIATE``)
on the server's database, as a DB browser or ``chotdon catalog import`` would, and
keeps it while the checks run (about four seconds). Meanwhile in-memory reads stay
fast, because database work runs in the server's writer thread and never on the
event loop: every ``GET /api/live`` (one every 20 ms, on a kept-alive connection)
and an overlay's resync answer in under 100 ms, even while a pin is waiting for
the lock. Commands give up after the busy timeout
with a JSON 503 and ``Retry-After`` (REST) or an error reply on a socket that
stays open. Once the lock is released the same commands and comments go through
and nothing is lost: no revision is spent on what failed, and the overlay sees
every revision in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from .conftest import AUTH, HELPER, OVERLAY, ServerProcess, comment, run_async

logger = logging.getLogger(__name__)
FAST_S = 0.1  # an in-memory read, even while a command waits for the lock
READ_EVERY_S = 0.02
BUSY_ANSWER_S = 2.5  # the busy timeout (1.5 s) plus slack for a loaded machine
HOLD_LIMIT_S = 30.0  # the holder lets go by itself if the test dies


@dataclass
class LockHolder:
    """A thread that holds SQLite's write lock until released (``BEGIN IMMEDIATE``)."""

    db: Path
    held: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)
    held_for: float = 0.0

    def run(self) -> None:
        conn = sqlite3.connect(self.db, isolation_level=None, timeout=10)
        try:
            conn.execute("BEGIN IMMEDIATE")
            start = time.monotonic()
            self.held.set()
            self.release.wait(HOLD_LIMIT_S)
            conn.execute("ROLLBACK")
            self.held_for = time.monotonic() - start
        finally:
            conn.close()
            self.released.set()


@contextlib.contextmanager
def holding(db: Path) -> Iterator[LockHolder]:
    holder = LockHolder(db)
    thread = threading.Thread(target=holder.run, name="lock-holder", daemon=True)
    thread.start()
    try:
        assert holder.held.wait(10), "could not take the write lock"
        yield holder
    finally:
        holder.release.set()
        assert holder.released.wait(10)
        thread.join(10)


async def _until(ws: ClientConnection, kind: str, **match: Any) -> dict[str, Any]:
    """The next message of ``kind`` (and ``match``); others are skipped."""
    while True:
        message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if message["type"] == kind and all(message.get(k) == v for k, v in match.items()):
            return message


@dataclass
class Reader:
    """``GET /api/live`` on one kept-alive connection, written by hand: what is timed is
    the server's answer, not an HTTP client library's own work on a busy machine."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    request: bytes

    @classmethod
    async def open(cls, server: ServerProcess) -> Reader:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        request = (
            f"GET /api/live HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
            f"Authorization: {AUTH['Authorization']}\r\n\r\n"
        ).encode()
        return cls(reader, writer, request)

    async def get(self) -> tuple[float, dict[str, Any]]:
        start = time.monotonic()
        self.writer.write(self.request)
        status = await asyncio.wait_for(self.reader.readline(), 10)
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
        body = await self.reader.readexactly(length)
        took = time.monotonic() - start
        assert status.startswith(b"HTTP/1.1 200"), (status, body)
        return took, json.loads(body)

    def close(self) -> None:
        self.writer.close()


@dataclass
class Overlay:
    """An overlay socket opened before the lock: every revision it is sent, in order."""

    ws: ClientConnection
    revs: list[int] = field(default_factory=list)
    pinned: str | None = None

    async def until(self, kind: str, rev: int | None = None) -> dict[str, Any]:
        while True:
            message: dict[str, Any] = json.loads(await asyncio.wait_for(self.ws.recv(), 10))
            if message["type"] in ("snapshot", "update"):
                self.revs.append(message["rev"])
            if message["type"] == "update" and "pinned" in message["set"]:
                self.pinned = message["set"]["pinned"]
            if message["type"] == kind and rev in (None, message["rev"]):
                return message


async def _scenario(server: ServerProcess) -> dict[str, Any]:
    db = server.data_dir / "chotdon.db"
    out: dict[str, Any] = {}
    async with (
        httpx.AsyncClient(base_url=server.base_url, headers=AUTH, timeout=30) as api,
        connect(f"{server.ws_url}/ws/overlay?key={OVERLAY}", proxy=None) as overlay_ws,
        connect(f"{server.ws_url}/ws/panel?token={HELPER}", proxy=None) as panel,
        connect(f"{server.ws_url}/ws/ingest?token={HELPER}", proxy=None) as ingest,
    ):
        await api.post("/api/live/session/start", json={"title": "lock"})
        (await api.post("/api/live/pin", json={"code": "A1"})).raise_for_status()
        await _until(panel, "snapshot")
        before = (await api.get("/api/live")).json()
        overlay = Overlay(overlay_ws)
        await overlay.until("update", before["rev"])
        reads = await Reader.open(server)
        batch = [comment("lock1", "B1 x1", "lan"), comment("lock2", "còn hàng không", "minh")]

        with holding(db) as holder:
            # A pin waits for the lock in the writer thread; the loop keeps answering.
            start = time.monotonic()
            pin = asyncio.create_task(api.post("/api/live/pin", json={"code": "A2"}))
            gets: list[float] = []
            while not pin.done():
                took, state = await reads.get()
                gets.append(took)
                assert state["state"]["pinned"] == "A1" and state["rev"] == before["rev"]
                # A reader every 20 ms, as pages poll, not a flood that starves the server.
                await asyncio.wait([pin], timeout=READ_EVERY_S)
            refused = await pin
            out["pin_s"] = time.monotonic() - start
            out["gets"] = gets
            out["refused"] = refused
            # A resync on the overlay socket is a snapshot from memory: fast too.
            start = time.monotonic()
            await overlay.ws.send(json.dumps({"type": "resync"}))
            resynced = await overlay.until("snapshot")
            out["resync_s"] = time.monotonic() - start
            assert resynced["rev"] == before["rev"]
            # Sockets get an error reply and stay open.
            await panel.send(
                json.dumps({"type": "command", "id": 7, "op": "pin", "args": {"code": "A2"}})
            )
            out["panel_ack"] = await _until(panel, "ack", id=7)
            await ingest.send(json.dumps(batch))
            out["ingest_reply"] = json.loads(await asyncio.wait_for(ingest.recv(), 10))
            out["locked_gets"] = [(await reads.get())[0] for _ in range(5)]
        out["held_s"] = holder.held_for
        reads.close()

        # Released: the same commands and comments go through.
        response = await api.post("/api/live/pin", json={"code": "A2"})
        out["after_pin"] = response.status_code, response.json()
        await panel.send(json.dumps({"type": "command", "id": 8, "op": "unpin", "args": {}}))
        out["after_ack"] = await _until(panel, "ack", id=8)
        await ingest.send(json.dumps(batch))
        out["after_ingest"] = json.loads(await asyncio.wait_for(ingest.recv(), 10))
        after = (await api.get("/api/live")).json()
        out["rev_before"], out["rev_after"] = before["rev"], after["rev"]
        await overlay.until("update", after["rev"])
        out["seen"] = overlay
    return out


def test_a_locked_database_answers_503_and_never_freezes_reads(
    server_process: ServerProcess,
) -> None:
    server = server_process
    server.start()
    out = run_async(lambda: _scenario(server))

    refused = out["refused"]
    assert refused.status_code == 503, refused.text
    assert refused.json() == {"error": refused.json()["error"], "field": None}
    assert "busy" in refused.json()["error"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 5
    assert out["pin_s"] < BUSY_ANSWER_S
    # The loop answered all along while the pin waited (the busy timeout is 1.5 s): every
    # read under 100 ms, since nothing it does waits for the database or its thread.
    gets = sorted(out["gets"])
    assert len(gets) >= 5 and max(gets) < FAST_S, gets
    assert max(out["locked_gets"]) < FAST_S and out["resync_s"] < FAST_S, out["locked_gets"]
    assert out["panel_ack"]["ok"] is False and "busy" in out["panel_ack"]["error"]
    assert out["ingest_reply"]["type"] == "error" and "busy" in out["ingest_reply"]["error"]
    assert out["held_s"] >= 3.0  # all of the above happened while the lock was held

    status, body = out["after_pin"]
    assert status == 200 and body["ok"] is True
    assert out["after_ack"]["ok"] is True
    results = out["after_ingest"]["results"]
    assert out["after_ingest"]["type"] == "ack" and [r["id"] for r in results] == ["lock1", "lock2"]
    assert not any(r["duplicate"] for r in results)  # the refused batch stored nothing
    # Nothing refused spent a revision: pin, unpin, then the order's ticker update.
    assert out["rev_after"] == out["rev_before"] + 3
    seen, rev = out["seen"], out["rev_before"]
    # Snapshot, every update, the resync's snapshot, then the three updates: no gap.
    assert seen.revs == [*range(rev + 1), rev, rev + 1, rev + 2, rev + 3]
    assert seen.pinned is None  # it drew the pin and the unpin
    stored = server.query("SELECT message_id, status FROM comments ORDER BY message_id")
    assert [m for m, _ in stored] == ["lock1", "lock2"] and stored[0][1] == "ordered"
    pins = server.query("SELECT data FROM events WHERE type = 'product_pinned' ORDER BY id")
    assert [json.loads(d)["code"] for (d,) in pins] == ["A1", "A2"]  # the refused ones: not logged
