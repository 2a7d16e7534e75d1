"""B7: the cooperative hub. Pins to N shops x M overlays on 1 and on 2 workers (PostgreSQL).

``chotdon serve --workers W`` on a PostgreSQL database of its own: the throwaway
cluster of the tests (``tests/pg.py``), or ``CHOTDON_BENCH_DATABASE_URL``'s server
(the user needs CREATEDB). Each layout (:data:`LAYOUTS`: 1 shop x 100 overlays, and
4 shops x 25) runs on a fresh database with its shops added and their demo catalogs
loaded before the server starts. Per shop: its overlays connect with its overlay
key (the kernel spreads them over the workers), an ingestion socket per worker
streams the demo audience's comments at :data:`RATE` a second for the shop, and a
helper pins through a panel socket on each worker in turn. Pins come every
:data:`SPACING_MS` spread over the shops (shop ``i`` pins at ``i * SPACING_MS``,
then every ``shops * SPACING_MS``), one pin at a time per shop. A pin's latency is
from just before its command is sent until the slowest overlay of its shop has the
update (``set.pinned``); with 2 workers half the pins cross the database (commit,
NOTIFY, the other worker's read of ``live_log``).

Durable comments per core: comments acknowledged as stored by ``/ws/ingest``
during the sampled pins, over the CPU seconds the server's processes (the
supervisor and its workers, psutil) spent in the same window. The comment rate is
fixed, so this is the cost of a realistic load, not the machine's ceiling.

The clients share this process (one event loop), so their own lag is in the
figures, equally on every run. ``CHOTDON_BENCH_QUICK=1`` (the smoke test) runs a
tiny version: 2 shops x 2 overlays and a handful of pins.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

from bench.comments import demo_comments
from bench.common import Figure, Section, percentile

__all__ = ["LAYOUTS", "Layout", "measure", "run"]

HELPER = "bench-helper-token"
OVERLAY = "bench-overlay-key"
RATE = 20.0  # comments a second per shop (a busy live)
BATCH = 5
SAMPLES = 100  # pins measured per layout, over all its shops
WARMUP = 8
SPACING_MS = 100.0  # one pin every this often, spread over the shops
CODES = ("A1", "A2")
WAIT_S = 30.0


@dataclass(frozen=True)
class Layout:
    shops: int
    overlays: int  # per shop

    @property
    def name(self) -> str:
        return f"{self.shops} shop{'s' if self.shops > 1 else ''} x {self.overlays} overlays"


LAYOUTS = (Layout(1, 100), Layout(4, 25))
QUICK_LAYOUTS = (Layout(2, 2),)


def _quick() -> bool:
    return os.environ.get("CHOTDON_BENCH_QUICK", "") == "1"


@dataclass
class ShopKeys:
    slug: str
    helper: str
    overlay: str


@dataclass
class Overlay:
    times: dict[int, int] = field(default_factory=dict)  # pin number -> receipt (ns)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def _database() -> Iterator[Any]:
    """A server to create databases on: the given one, or a throwaway cluster."""
    from tests.pg import Postgres, start_cluster

    given = os.environ.get("CHOTDON_BENCH_DATABASE_URL", "")
    cluster = Postgres(given) if given else start_cluster()
    try:
        yield cluster
    finally:
        cluster.stop()


def _add_shops(data_dir: Path, url: str, count: int) -> list[ShopKeys]:
    """The default shop's keys and ``count - 1`` shops added, each with the demo catalog
    (the default one gets it from ``--demo``)."""
    from server.context import load_demo_catalog
    from server.db import open_database
    from server.shops import add_shop, open_shop_store, shop_data_dir

    data_dir.mkdir(parents=True, exist_ok=True)
    keys = [ShopKeys("default", HELPER, OVERLAY)]
    engine = open_database(data_dir / "chotdon.db", url)
    try:
        for number in range(1, count):
            shop = add_shop(engine, f"Bench shop {number}", f"bench{number}")
            assert shop.helper_token and shop.overlay_key
            folder = shop_data_dir(data_dir, shop)
            load_demo_catalog(open_shop_store(engine, folder, shop), folder)
            keys.append(ShopKeys(shop.slug, shop.helper_token, shop.overlay_key))
    finally:
        engine.dispose()
    return keys


@contextlib.contextmanager
def _serve(data_dir: Path, url: str, workers: int) -> Iterator[tuple[str, psutil.Process]]:
    port = _free_port()
    script = Path(sys.executable).with_name("chotdon")
    args = [str(script), "serve", "--data", str(data_dir), "--port", str(port),
            "--host", "127.0.0.1", "--helper-token", HELPER, "--overlay-key", OVERLAY,
            "--no-qr", "--demo", "--workers", str(workers)]  # fmt: skip
    env = {**os.environ, "CHOTDON_DATABASE_URL": url, "CHOTDON_DEMO_COMMENTS": "0"}
    log = (data_dir.parent / f"{data_dir.name}.log").open("wb")
    process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            with contextlib.suppress(httpx.TransportError):
                auth = {"Authorization": f"Bearer {HELPER}"}
                if httpx.get(f"{base}/api/live", headers=auth, timeout=2).is_success:
                    break
            if process.poll() is not None:
                raise RuntimeError(f"chotdon serve exited; see {log.name}")
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(0.1)
        yield f"ws://127.0.0.1:{port}", psutil.Process(process.pid)
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _cpu_seconds(server: psutil.Process) -> dict[int, float]:
    """CPU seconds (user + system) of the server and each of its worker processes."""
    seconds: dict[int, float] = {}
    for process in [server, *server.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            times = process.cpu_times()
            seconds[process.pid] = times.user + times.system
    return seconds


def _spent(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(after[pid] - before.get(pid, 0.0) for pid in after)


async def _on_workers(base: str, path: str, workers: int) -> dict[str, Any]:
    """One socket on each worker (the handshake names the worker that accepted it)."""
    from websockets.asyncio.client import connect

    held: dict[str, Any] = {}
    async with asyncio.timeout(WAIT_S):
        while len(held) < workers:
            ws = await connect(f"{base}{path}", proxy=None, max_size=None)
            worker = ws.response.headers.get("x-chotdon-worker", "0") if ws.response else "0"
            if worker in held:
                await ws.close()
            else:
                held[worker] = ws
    return held


class ShopClients:
    """One shop's overlays, panels and ingestion sockets, and its pins' latencies."""

    def __init__(self, keys: ShopKeys, index: int) -> None:
        self.keys = keys
        self.index = index
        self.overlays: list[Overlay] = []
        self.sockets: list[Any] = []
        self.panels: dict[str, Any] = {}
        self.ingests: dict[str, Any] = {}
        self.expected: dict[str, int] = {}  # code -> pin number it stands for now
        self.arrived: dict[int, asyncio.Event] = {}
        self.stored = 0  # comments acknowledged

    async def connect(self, base: str, overlays: int, workers: int) -> None:
        from websockets.asyncio.client import connect

        for _ in range(overlays):
            url = f"{base}/ws/overlay?key={self.keys.overlay}"
            self.sockets.append(await connect(url, proxy=None, max_size=None))
            self.overlays.append(Overlay())
        helper = self.keys.helper
        self.panels = await _on_workers(base, f"/ws/panel?token={helper}", workers)
        self.ingests = await _on_workers(base, f"/ws/ingest?token={helper}", workers)

    async def drain(self, ws: Any) -> None:
        """Read a panel's messages, as a phone does, so it never falls behind."""
        with contextlib.suppress(Exception):
            async for _ in ws:
                pass

    async def read(self, ws: Any, overlay: Overlay) -> None:
        with contextlib.suppress(Exception):
            async for text in ws:
                message = json.loads(text)
                if message["type"] != "update":
                    continue
                pinned = message["set"].get("pinned")
                if pinned in self.expected:
                    number = self.expected[pinned]
                    if number not in overlay.times:
                        overlay.times[number] = time.monotonic_ns()
                        if all(number in o.times for o in self.overlays):
                            self.arrived[number].set()

    async def stream(self, ws: Any, prefix: str, rate: float, stop: asyncio.Event) -> None:
        sent = 0
        loop = asyncio.get_running_loop()
        start = loop.time()
        while not stop.is_set():
            await ws.send(json.dumps(demo_comments(BATCH, prefix, sent)))
            ack = json.loads(await ws.recv())
            self.stored += len(ack.get("results", ()))
            sent += BATCH
            # The load's pace (not a synchronisation): on the clock, so slow acks do
            # not lower the rate; a server that cannot keep up shows in comments/s.
            await asyncio.sleep(max(0.0, start + sent / rate - loop.time()))

    async def pin(self, number: int, worker: str) -> float:
        """Pin and wait for every overlay of the shop; the latency in ms."""
        code = CODES[number % 2]
        self.expected[code] = number
        self.arrived[number] = asyncio.Event()
        command = {"type": "command", "id": number, "op": "pin", "args": {"code": code}}
        sent = time.monotonic_ns()
        await self.panels[worker].send(json.dumps(command))
        await asyncio.wait_for(self.arrived[number].wait(), WAIT_S)
        return (max(o.times[number] for o in self.overlays) - sent) / 1e6

    async def close(self) -> None:
        for ws in [*self.sockets, *self.panels.values(), *self.ingests.values()]:
            with contextlib.suppress(Exception):
                await ws.close()


async def _measure(
    base: str, workers: int, shops: list[ShopKeys], layout: Layout, server: psutil.Process
) -> dict[str, float]:
    samples, warmup = (12, 4) if _quick() else (SAMPLES, WARMUP)
    clients = [ShopClients(keys, i) for i, keys in enumerate(shops)]
    for shop in clients:
        await shop.connect(base, layout.overlays, workers)
    tasks = [
        asyncio.create_task(shop.read(ws, o))
        for shop in clients
        for ws, o in zip(shop.sockets, shop.overlays, strict=True)
    ]
    tasks += [
        asyncio.create_task(shop.drain(ws)) for shop in clients for ws in shop.panels.values()
    ]
    stop = asyncio.Event()
    tasks += [
        asyncio.create_task(shop.stream(ws, f"{shop.keys.slug}-w{worker}", RATE / workers, stop))
        for shop in clients
        for worker, ws in shop.ingests.items()
    ]
    period = SPACING_MS / 1000 * len(clients)  # each shop's own pace
    per_shop = -(-(samples + warmup) // len(clients))
    started = asyncio.Event()
    window: dict[str, Any] = {}

    async def pins(shop: ShopClients) -> list[float]:
        latencies: list[float] = []
        loop = asyncio.get_running_loop()
        slot = loop.time() + shop.index * SPACING_MS / 1000
        for turn in range(per_shop):
            await asyncio.sleep(max(0.0, slot - loop.time()))  # the pins' pace
            if turn == warmup // len(clients) and not started.is_set():
                window["cpu"], window["stored"] = _cpu_seconds(server), _stored(clients)
                window["at"] = time.monotonic()
                started.set()
            latency = await shop.pin(turn, str(turn % workers))
            if turn >= warmup // len(clients):
                latencies.append(latency)
            slot = max(slot + period, loop.time())  # late: the next one now
        return latencies

    try:
        results = await asyncio.gather(*(pins(shop) for shop in clients))
        cpu = _spent(window["cpu"], _cpu_seconds(server))
        stored = _stored(clients) - window["stored"]
        seconds = time.monotonic() - window["at"]
    finally:
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for shop in clients:
            await shop.close()
    latencies = [ms for shop_latencies in results for ms in shop_latencies]
    return {
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
        "comments_per_cpu_s": stored / cpu if cpu > 0 else float("nan"),
        "comments_per_s": stored / seconds,
        "cpu_share": cpu / seconds,
        "pins": float(len(latencies)),
    }


def _stored(clients: list[ShopClients]) -> int:
    return sum(shop.stored for shop in clients)


def measure(workdir: Path, server: Any | None = None) -> dict[tuple[Layout, int], dict[str, float]]:
    """Every layout on 1 and 2 workers; ``server`` creates the databases (default:
    :func:`_database`'s)."""
    layouts = QUICK_LAYOUTS if _quick() else LAYOUTS
    results: dict[tuple[Layout, int], dict[str, float]] = {}
    given = contextlib.nullcontext(server) if server is not None else _database()
    with given as cluster:
        for layout in layouts:
            for workers in (1, 2):
                name, url = cluster.create()
                try:
                    data_dir = workdir / f"data-{layout.shops}x{layout.overlays}-{workers}w"
                    shops = _add_shops(data_dir, url, layout.shops)
                    with _serve(data_dir, url, workers) as (base, server):
                        figures = asyncio.run(_measure(base, workers, shops, layout, server))
                    results[(layout, workers)] = figures
                finally:
                    cluster.drop(name)
    return results


def run(workdir: Path, server: Any | None = None) -> Section:
    started = time.monotonic()
    folder = workdir / "b7"
    folder.mkdir(parents=True, exist_ok=True)
    results = measure(folder, server)
    figures: list[Figure] = []
    for (layout, workers), found in results.items():
        label = f"B7 {layout.name}, {workers} worker{'s' if workers > 1 else ''}"
        one = results.get((layout, 1), {})
        baseline = one.get("p99") if workers > 1 else None
        figures += [
            Figure(f"{label}, pin p50", found["p50"], "ms"),
            Figure(f"{label}, pin p99", found["p99"], "ms", baseline, "1 worker"),
            Figure(
                f"{label}, durable comments per core", found["comments_per_cpu_s"], "comments/CPU-s"
            ),
        ]
    notes = [
        f"B7: PostgreSQL (throwaway cluster, fsync off); per layout and worker count a fresh "
        f"database; {RATE:.0f} comments/s per shop through one ingestion socket per worker "
        f"and shop; a pin every {SPACING_MS:.0f} ms spread over the shops, one at a time per "
        "shop, through a panel socket on each worker in turn; latency from just before the "
        "command to the slowest overlay of the shop. Durable comments per CPU-s: comments "
        "acknowledged as stored / CPU seconds of the server's processes (psutil) in the "
        "same window, at that fixed rate (a cost, not a ceiling). Clients share one process.",
    ]
    for (layout, workers), found in results.items():
        notes.append(
            f"B7 {layout.name}, {workers} worker(s): {found['pins']:.0f} pins, "
            f"{found['comments_per_s']:.0f} comments/s stored, server CPU "
            f"{found['cpu_share']:.2f} cores."
        )
    section = Section("B7 hub", figures, notes)
    section.seconds = time.monotonic() - started
    return section
