"""kill -9 the real server while comments stream in; restart it on the same data folder.

What must hold afterwards: every comment the server acknowledged is stored with
the acknowledged id and status, every acknowledged order has its lines, stock
equals the starting stock minus what the stored lines reserve, nothing is
stored half-way, and the overlay's new snapshot shows what the overlay showed
when its socket died (pinned product, countdown, prices, elements, ticker).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
from dataclasses import dataclass, field
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from .conftest import AUTH, HELPER, OVERLAY, ServerProcess, audience_comment, run_async

logger = logging.getLogger(__name__)
BATCH = 10
KILL_AFTER_ACKS = 600  # about three seconds into the stream
RESERVING = ("pending", "confirmed", "paid", "packed", "shipped")
ON_AIR = ("pinned", "countdown", "elements")


@dataclass
class Stream:
    acks: dict[str, dict[str, Any]] = field(default_factory=dict)
    sent: int = 0
    wanted: int = KILL_AFTER_ACKS
    enough: asyncio.Event = field(default_factory=asyncio.Event)

    def want(self, count: int) -> None:
        self.wanted = count
        self.enough.clear()
        if len(self.acks) >= count:
            self.enough.set()


@dataclass
class Overlay:
    """What an overlay shows: a snapshot plus every numbered update after it."""

    rev: int = -1
    state: dict[str, Any] = field(default_factory=dict)
    gaps: int = 0

    def apply(self, message: dict[str, Any]) -> None:
        if message["type"] == "snapshot":
            self.rev, self.state = message["rev"], message["state"]
        elif message["type"] == "update":
            self.gaps += message["rev"] != self.rev + 1
            self.rev = message["rev"]
            self.state.update(message["set"])
            for code, view in message["products"].items():
                if view is None:
                    self.state["products"].pop(code, None)
                else:
                    self.state["products"][code] = view


async def _send(ws: ClientConnection, stream: Stream, batches: int | None = None) -> None:
    """Paced at 200 comments a second; ``batches`` given: that many, back to back."""
    while batches is None or batches > 0:
        n = stream.sent
        await ws.send(json.dumps([audience_comment(n + i, "k") for i in range(BATCH)]))
        stream.sent = n + BATCH
        if batches is None:
            await asyncio.sleep(0.05)
        else:
            batches -= 1


async def _receive_acks(ws: ClientConnection, stream: Stream) -> None:
    with contextlib.suppress(ConnectionClosed):
        async for text in ws:
            reply = json.loads(text)
            assert reply["type"] == "ack", reply
            for result in reply["results"]:
                stream.acks[result["id"]] = result
            if len(stream.acks) >= stream.wanted:
                stream.enough.set()


async def _watch(server: ServerProcess, overlay: Overlay) -> None:
    async with connect(f"{server.ws_url}/ws/overlay?key={OVERLAY}", proxy=None) as ws:
        with contextlib.suppress(ConnectionClosed):
            async for text in ws:
                overlay.apply(json.loads(text))


async def _stream_then_kill(server: ServerProcess) -> tuple[Stream, Overlay]:
    stream, overlay = Stream(), Overlay()
    watcher = asyncio.create_task(_watch(server, overlay))
    async with connect(f"{server.ws_url}/ws/ingest?token={HELPER}", proxy=None) as ws:
        sender = asyncio.create_task(_send(ws, stream))
        receiver = asyncio.create_task(_receive_acks(ws, stream))
        await asyncio.wait_for(stream.enough.wait(), 60)
        async with httpx.AsyncClient(base_url=server.base_url, headers=AUTH) as api:
            # A helper acts mid-stream; the 200 means it is committed.
            (await api.post("/api/live/pin", json={"code": "A3"})).raise_for_status()
        stream.want(2 * KILL_AFTER_ACKS)
        await asyncio.wait_for(stream.enough.wait(), 60)
        sender.cancel()
        await asyncio.gather(sender, return_exceptions=True)
        await _send(ws, stream, batches=5)  # the server is busy with these when it dies
        server.kill()
        await asyncio.wait_for(receiver, 30)
    # The overlay reads what reached its socket before the kill, then sees it close.
    await asyncio.wait_for(watcher, 30)
    return stream, overlay


def _set_the_stage(api: httpx.Client) -> dict[str, int]:
    steps = [
        ("/api/live/session/start", {"title": "crash test"}),
        ("/api/live/stock", {"code": "A2", "stock": 300}),
        ("/api/live/pin", {"code": "A2"}),
        ("/api/live/price", {"code": "A2", "price": 65000, "sale_price": 52000}),
        ("/api/live/countdown", {"seconds": 900, "label": "Giờ vàng"}),
        ("/api/live/element", {"element": "qr", "visible": True}),
        ("/api/live/element", {"element": "comment", "visible": False}),
    ]
    for path, body in steps:
        api.post(path, json=body).raise_for_status()
    return {p["code"]: p["stock"] for p in api.get("/api/products").json()}


def _snapshot(server: ServerProcess) -> dict[str, Any]:
    async def first() -> dict[str, Any]:
        async with connect(f"{server.ws_url}/ws/overlay?key={OVERLAY}", proxy=None) as ws:
            message: dict[str, Any] = json.loads(await ws.recv())
            return message

    return run_async(first)


def _units(qty: float) -> int:
    return max(1, math.ceil(qty - 1e-9))


def test_acknowledged_comments_orders_and_the_screen_survive_kill_9(
    server_process: ServerProcess,
) -> None:
    server = server_process
    server.start()
    with httpx.Client(base_url=server.base_url, headers=AUTH) as api:
        initial = _set_the_stage(api)
    stream, seen = run_async(lambda: _stream_then_kill(server))
    assert stream.sent > len(stream.acks) >= 2 * KILL_AFTER_ACKS  # killed mid-stream

    server.start()  # same data folder, fresh process
    stored = {
        mid: (cid, status)
        for mid, cid, status in server.query("SELECT message_id, id, status FROM comments")
    }
    for mid, ack in stream.acks.items():
        assert stored.get(mid) == (ack["comment_id"], ack["status"]), mid
    assert len(stored) <= stream.sent
    assert server.query("SELECT count(*) FROM comments WHERE parse IS NULL") == [(0,)]

    lines = server.query("SELECT comment_id, code, qty, status FROM order_lines")
    with_lines = {cid for cid, *_ in lines}
    ordered = [a for a in stream.acks.values() if a["status"] in ("ordered", "waitlist")]
    assert len(ordered) > 100
    assert all(a["comment_id"] in with_lines for a in ordered)
    assert with_lines <= {cid for cid, _ in stored.values()}  # no line without its comment

    stock = dict(server.query("SELECT code, stock FROM products"))
    for code, start in initial.items():
        held = sum(_units(q) for _, c, q, s in lines if c == code and s in RESERVING)
        assert stock[code] == start - held >= 0, code

    after = _snapshot(server)
    assert seen.gaps == 0 and after["rev"] >= seen.rev
    state = after["state"]
    assert state["pinned"] == "A3" and state["countdown"]["label"] == "Giờ vàng"
    assert {k: state[k] for k in ON_AIR} == {k: seen.state[k] for k in ON_AIR}
    prices = {c: (p["price"], p["sale_price"]) for c, p in state["products"].items()}
    assert prices == {c: (p["price"], p["sale_price"]) for c, p in seen.state["products"].items()}
    assert prices["A2"] == (65000, 52000)
    if after["rev"] == seen.rev:  # nothing committed after the last update it drew
        assert state["ticker"] == seen.state["ticker"]
        assert state["products"] == seen.state["products"] and state["sold"] == seen.state["sold"]
    else:  # orders committed but not yet sent when it died: newer entries push older ones
        ticker, old = state["ticker"], seen.state["ticker"]
        assert any(ticker[k:] == old[: len(ticker) - k] for k in range(len(ticker) + 1))
    assert stock == {c: p["stock"] for c, p in state["products"].items()}
    logger.info(
        "crash: %d sent, %d acked, %d stored, %d acked orders, %d lines, rev %d seen / %d after",
        stream.sent, len(stream.acks), len(stored), len(ordered), len(lines), seen.rev,
        after["rev"],
    )  # fmt: skip
