"""``chotdon serve --workers 2`` on a real PostgreSQL: fan-out, serialisation, a killed worker.

The two workers share one listening socket, so a test cannot pick one by port:
every socket names the worker that accepted it (``x-chotdon-worker``), and the
helpers here connect until they hold one socket on each. Nothing waits on time:
every wait is for a message or an event, with a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import psycopg
import pytest
from click.testing import CliRunner
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from server.cli import main
from server.fanout import (
    CHANNEL,
    MAX_PAYLOAD,
    Listener,
    conninfo,
    news_pokes,
    read_poke,
    rev_poke,
)
from tests.pg import Postgres

from .conftest import HELPER, OVERLAY, ServerProcess, comment, run_async

pytestmark = pytest.mark.postgres
WAIT_S = 30
CODES = ("A1", "A2", "A3", "B1", "B2")


@pytest.fixture(scope="module")
def workers(
    tmp_path_factory: pytest.TempPathFactory, postgres_server: Postgres
) -> Iterator[ServerProcess]:
    """One server with two workers for the module (each test reads the revs it starts
    from); the test that kills a worker comes last."""
    folder = tmp_path_factory.mktemp("workers")
    name, url = postgres_server.create()
    server = ServerProcess(
        data_dir=folder / "data",
        log=folder / "server.log",
        env={"CHOTDON_DATABASE_URL": url},
        args=["--workers", "2"],
    )
    try:
        server.start()
        yield server
    finally:
        server.stop()
        postgres_server.drop(name)


@dataclass
class View:
    """One socket and what it showed: a snapshot plus the numbered updates after it."""

    ws: ClientConnection
    worker: str
    rev: int = -1
    state: dict[str, Any] = field(default_factory=dict)
    revs: list[int] = field(default_factory=list)
    pins: list[str | None] = field(default_factory=list)
    others: list[dict[str, Any]] = field(default_factory=list)
    acks: dict[Any, dict[str, Any]] = field(default_factory=dict)
    moved: asyncio.Event = field(default_factory=asyncio.Event)
    closed: bool = False

    def apply(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "snapshot":
            self.rev, self.state = message["rev"], message["state"]
        elif kind == "update":
            self.revs.append(message["rev"])
            self.rev = message["rev"]
            self.state.update(message["set"])
            if "pinned" in message["set"]:
                self.pins.append(message["set"]["pinned"])
            for code, view in message["products"].items():
                self.state["products"][code] = view
        elif kind == "ack" and "id" in message:  # a command's (an ingest ack has results)
            self.acks[message["id"]] = message
        else:
            self.others.append(message)
        self.moved.set()

    async def until(self, check: Any, what: str) -> None:
        async with asyncio.timeout(WAIT_S):
            while not check():
                self.moved.clear()
                await self.moved.wait()
        assert check(), what


async def _read(view: View) -> None:
    try:
        async for text in view.ws:
            view.apply(json.loads(text))
    except ConnectionClosed:
        pass
    finally:
        view.closed = True
        view.moved.set()


@contextlib.asynccontextmanager
async def on_each(
    server: ServerProcess, path: str, count: int = 2, snapshot: bool = True
) -> AsyncIterator[dict[str, View]]:
    """A socket on ``path`` held on each of ``count`` workers, each read in the background."""
    views: dict[str, View] = {}
    tasks: list[asyncio.Task[None]] = []
    try:
        async with asyncio.timeout(WAIT_S):
            while len(views) < count:
                ws = await connect(f"{server.ws_url}{path}", proxy=None)
                worker = ws.response.headers["x-chotdon-worker"] if ws.response else "?"
                if worker in views:
                    await ws.close()
                    continue
                views[worker] = View(ws, worker)
                tasks.append(asyncio.create_task(_read(views[worker])))
        for view in views.values() if snapshot else ():
            await view.until(lambda v=view: v.rev >= 0, "a snapshot first")
        yield views
    finally:
        for view in views.values():
            await view.ws.close()
        await asyncio.gather(*tasks, return_exceptions=True)


async def command(panel: View, op: str, args: dict[str, Any], id_: Any) -> dict[str, Any]:
    await panel.ws.send(json.dumps({"type": "command", "id": id_, "op": op, "args": args}))
    await panel.until(lambda: id_ in panel.acks, f"the ack of {id_}")
    ack = panel.acks[id_]
    assert ack["ok"], ack
    return ack


class Pokes:
    """A LISTEN connection of the test's own: every payload the workers send."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.payloads: list[str] = []

    async def run(self, ready: asyncio.Event) -> None:
        conn = await psycopg.AsyncConnection.connect(conninfo(self.url), autocommit=True)
        async with conn:
            await conn.execute(f"LISTEN {CHANNEL}")
            ready.set()
            async for note in conn.notifies():
                self.payloads.append(note.payload)


def test_every_pin_through_either_worker_reaches_every_overlay(workers: ServerProcess) -> None:
    url = workers.env["CHOTDON_DATABASE_URL"]

    async def main() -> None:
        pokes, ready = Pokes(url), asyncio.Event()
        listening = asyncio.create_task(pokes.run(ready))
        await asyncio.wait_for(ready.wait(), WAIT_S)
        async with (
            on_each(workers, f"/ws/overlay?key={OVERLAY}") as overlays,
            on_each(workers, f"/ws/panel?token={HELPER}") as panels,
        ):
            assert set(overlays) == set(panels) == {"0", "1"}
            start = overlays["0"].rev
            assert overlays["1"].rev == start
            pins = [CODES[i % len(CODES)] for i in range(12)]
            for n, code in enumerate(pins):
                ack = await command(panels[str(n % 2)], "pin", {"code": code}, n)
                assert ack["rev"] == start + n + 1
            last = start + len(pins)
            for view in [*overlays.values(), *panels.values()]:
                await view.until(lambda v=view: v.rev >= last, f"rev {last} on {view.worker}")
                assert view.revs == list(range(start + 1, last + 1))  # each once, in order
                assert view.pins == pins
            # A product's whole view travels through live_log, not through the poke.
            ack = await command(panels["1"], "price", {"code": "A1", "price": 190000}, "price")
            await overlays["0"].until(lambda: overlays["0"].rev >= ack["rev"], "the price")
            assert overlays["0"].state["products"]["A1"]["price"] == 190000
            # Panel news made through one worker reaches the panel of the other.
            async with connect(f"{workers.ws_url}/ws/ingest?token={HELPER}", proxy=None) as ws:
                await ws.send(json.dumps([comment("w1", "A2 x1", "mai", "Mai")]))
                reply = json.loads(await asyncio.wait_for(ws.recv(), WAIT_S))
                assert reply["results"][0]["intent"] == "order", reply
            for panel in panels.values():
                await panel.until(
                    lambda p=panel: {"orders_changed", "comments"} <= {m["type"] for m in p.others},
                    f"orders and comments news on worker {panel.worker}",
                )
        listening.cancel()
        await asyncio.gather(listening, return_exceptions=True)
        assert pokes.payloads
        for payload in pokes.payloads:
            assert len(payload.encode()) <= MAX_PAYLOAD
            assert read_poke(payload) is not None

    run_async(main)
    # One data folder, one `serve`: the workers share the lock, a second server is refused.
    second = ServerProcess(data_dir=workers.data_dir, log=workers.log.with_name("second.log"))
    with pytest.raises(RuntimeError, match="in use by another chotdon server"):
        second.start(attempts=100)


def test_concurrent_commands_through_both_workers_keep_revs_gap_free(
    workers: ServerProcess,
) -> None:
    per_worker = 25

    async def main() -> None:
        async with (
            on_each(workers, f"/ws/overlay?key={OVERLAY}") as overlays,
            on_each(workers, f"/ws/panel?token={HELPER}") as panels,
        ):
            start = overlays["0"].rev

            async def storm(worker: str, element: str) -> None:
                # The last toggle leaves each worker's element shown: a lost update
                # (one worker writing the elements it had before the other's) hides one.
                sends = [{"element": element, "visible": n % 2 == 1} for n in range(per_worker - 1)]
                sends.append({"element": element, "visible": True})
                await asyncio.gather(
                    *(
                        command(panels[worker], "element", args, f"{worker}-{n}")
                        for n, args in enumerate(sends)
                    )
                )

            await asyncio.gather(storm("0", "qr"), storm("1", "sales"))
            last = start + 2 * per_worker
            for view in overlays.values():
                await view.until(lambda v=view: v.rev >= last, f"rev {last}")
                assert view.revs == list(range(start + 1, last + 1))
                assert view.state["elements"]["qr"] and view.state["elements"]["sales"]

    run_async(main)
    stored = workers.query("SELECT value FROM kv WHERE key = 'live_state'")
    assert json.loads(stored[0][0])["elements"] == {
        **json.loads(stored[0][0])["elements"],
        "qr": True,
        "sales": True,
    }
    logged = workers.query("SELECT count(*) FROM live_log")[0][0]
    assert logged >= 2 * per_worker


def test_pokes_are_capped_and_read_back() -> None:
    assert read_poke(rev_poke("default", "abc123", 42)) is not None
    poke = read_poke(rev_poke("default", "abc123", 42))
    assert poke is not None and (poke.kind, poke.shop, poke.rev) == ("rev", "default", 42)
    payloads = news_pokes("orders", "default", "abc123", range(1_000_000, 1_000_500))
    assert len(payloads) > 1
    ids: list[int] = []
    for payload in payloads:
        assert len(payload.encode()) <= MAX_PAYLOAD
        read = read_poke(payload)
        assert read is not None and read.kind == "orders"
        ids.extend(read.ids)
    assert ids == list(range(1_000_000, 1_000_500))
    with pytest.raises(ValueError, match="shop id"):
        rev_poke("x" * 65, "abc123", 1)
    assert read_poke("r default abc " + "9" * 300) is None  # over the cap: not read
    assert read_poke("z default abc 1") is None


def test_one_listener_hands_each_shop_only_its_own_pokes() -> None:
    listener = Listener("postgresql://unused")
    heard: dict[str, list[int]] = {"default": [], "bravo": []}
    checks: list[str] = []
    for shop in heard:
        listener.subscribe(
            shop, lambda p, s=shop: heard[s].append(p.rev), lambda s=shop: checks.append(s)
        )
    assert checks == []  # not connected yet: the connection checks for them all
    listener.dispatch(rev_poke("default", "w1", 5))
    listener.dispatch(rev_poke("bravo", "w1", 7))
    listener.dispatch(rev_poke("charlie", "w1", 9))  # not opened on this worker: dropped
    listener.dispatch("not a poke")
    assert heard == {"default": [5], "bravo": [7]}
    listener.connected.set()
    listener.subscribe("charlie", lambda p: None, lambda: checks.append("charlie"))
    assert checks == ["charlie"]  # pokes before it subscribed went nowhere: it looks
    listener.unsubscribe("bravo")
    listener.dispatch(rev_poke("bravo", "w1", 8))
    assert heard["bravo"] == [7] and sorted(listener.shops) == ["charlie", "default"]


def test_several_workers_are_refused_on_sqlite(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["serve", "--workers", "2", "--data", str(tmp_path), "--no-qr"], env={}
    )
    assert result.exit_code == 1
    assert "several workers need PostgreSQL" in result.output
    assert not (tmp_path / "chotdon.lock").exists()  # refused before anything was opened


def _worker_pid(server: ServerProcess, index: int) -> int:
    for child in psutil.Process(server.pid).children():
        if child.cmdline()[-2:] == ["server.workers", str(index)]:
            return child.pid
    raise AssertionError(f"no worker {index} under {server.pid}")


def test_a_killed_worker_loses_nothing_acknowledged(workers: ServerProcess) -> None:
    async def main() -> None:
        async with (
            on_each(workers, f"/ws/overlay?key={OVERLAY}") as overlays,
            on_each(workers, f"/ws/panel?token={HELPER}") as panels,
            on_each(workers, f"/ws/ingest?token={HELPER}", snapshot=False) as ingests,
        ):
            victim = _worker_pid(workers, 1)
            acked: dict[str, str] = {}
            pins: list[int] = []
            for n in range(8):  # a stream through the worker that will die
                batch = [comment(f"k{n}-{i}", "A3 x1", f"b{i}") for i in range(5)]
                await ingests["1"].ws.send(json.dumps(batch))
                await ingests["1"].until(lambda n=n: len(ingests["1"].others) > n, "an ack")
                for result in ingests["1"].others[n]["results"]:
                    acked[result["id"]] = result["status"]
                ack = await command(panels["1"], "pin", {"code": CODES[n % 5]}, f"p{n}")
                pins.append(ack["rev"])
            psutil.Process(victim).kill()  # SIGKILL: no shutdown, nothing flushed
            await overlays["1"].until(lambda: overlays["1"].closed, "a close")
            # The survivor showed every acknowledged update.
            await overlays["0"].until(lambda: overlays["0"].rev >= pins[-1], "the last pin")
            shown = overlays["0"].state
            # The dead worker's overlay reconnects (to whichever worker accepts) and resyncs.
            async with connect(f"{workers.ws_url}/ws/overlay?key={OVERLAY}", proxy=None) as ws:
                fresh = View(ws, "again")
                fresh.apply(json.loads(await asyncio.wait_for(ws.recv(), WAIT_S)))
            assert fresh.rev == overlays["0"].rev
            assert fresh.state["pinned"] == shown["pinned"] == CODES[7 % 5]
            assert fresh.state["products"] == shown["products"]
            assert fresh.state["ticker"] == shown["ticker"]
            return acked

    acked = run_async(main)
    stored = dict(
        workers.query("SELECT message_id, status FROM comments WHERE message_id LIKE 'k%'")
    )
    assert stored == acked
    state = workers.query("SELECT value FROM kv WHERE key = 'live_state'")[0][0]
    assert json.loads(state)["pinned"] == CODES[7 % 5]
