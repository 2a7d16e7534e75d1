"""B7: the cooperative hub. A pin's way to every overlay on 1 and on 2 workers (PostgreSQL).

``chotdon serve --workers W`` on a PostgreSQL database of its own: the throwaway
cluster of the tests (``tests/pg.py``), or ``CHOTDON_BENCH_DATABASE_URL``'s server
(the user needs CREATEDB). ``OVERLAYS`` overlay sockets connect (the kernel spreads
them over the workers), an ingestion socket per worker streams the demo audience's
comments at ``RATE`` a second, and a helper pins through a panel socket on each worker
in turn, one pin at a time, ``SPACING_MS`` apart. A pin's latency is from just before
its command is sent until the slowest overlay has the update (``set.pinned``);
with 2 workers half the pins go through the worker that does not hold a given overlay,
so those cross the database: commit, NOTIFY, the other worker's read of ``live_log``.

One shop only: shops (issue 15, item 1) are not merged here yet; the script takes
``--shops`` once they are. The clients share this process (one event loop), so their
own lag is in the figures, equally on both runs.
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

from bench.comments import demo_comments
from bench.common import Figure, Section, percentile

__all__ = ["measure", "run"]

HELPER = "bench-helper-token"
OVERLAY = "bench-overlay-key"
OVERLAYS = 100
RATE = 20.0  # comments a second for the shop (a busy live)
BATCH = 5
SAMPLES = 100
WARMUP = 10
SPACING_MS = 30.0
CODES = ("A1", "A2")
WAIT_S = 30.0


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


@contextlib.contextmanager
def _serve(workdir: Path, url: str, workers: int) -> Iterator[str]:
    port = _free_port()
    script = Path(sys.executable).with_name("chotdon")
    args = [str(script), "serve", "--data", str(workdir / f"data-{workers}"), "--port", str(port),
            "--host", "127.0.0.1", "--helper-token", HELPER, "--overlay-key", OVERLAY,
            "--no-qr", "--demo", "--workers", str(workers)]  # fmt: skip
    env = {**os.environ, "CHOTDON_DATABASE_URL": url, "CHOTDON_DEMO_COMMENTS": "0"}
    log = (workdir / f"serve-{workers}.log").open("wb")
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
        yield f"ws://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


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


async def _measure(base: str, workers: int) -> dict[str, float]:
    from websockets.asyncio.client import connect

    expected: dict[str, int] = {}  # code -> pin number it stands for now
    overlays = [Overlay() for _ in range(OVERLAYS)]
    arrived: dict[int, asyncio.Event] = {}
    sockets = [
        await connect(f"{base}/ws/overlay?key={OVERLAY}", proxy=None, max_size=None)
        for _ in overlays
    ]

    async def read(ws: Any, overlay: Overlay) -> None:
        with contextlib.suppress(Exception):
            async for text in ws:
                message = json.loads(text)
                if message["type"] != "update":
                    continue
                pinned = message["set"].get("pinned")
                if pinned in expected:
                    number = expected[pinned]
                    if number not in overlay.times:
                        overlay.times[number] = time.monotonic_ns()
                        if all(number in o.times for o in overlays):
                            arrived[number].set()

    readers = [asyncio.create_task(read(ws, o)) for ws, o in zip(sockets, overlays, strict=True)]
    panels = await _on_workers(base, f"/ws/panel?token={HELPER}", workers)
    ingests = await _on_workers(base, f"/ws/ingest?token={HELPER}", workers)
    stop = asyncio.Event()

    async def stream(ws: Any, prefix: str, rate: float) -> None:
        sent = 0
        while not stop.is_set():
            await ws.send(json.dumps(demo_comments(BATCH, prefix, sent)))
            await ws.recv()
            sent += BATCH
            await asyncio.sleep(BATCH / rate)  # the load's pace, not a synchronisation

    loads = [
        asyncio.create_task(stream(ws, f"w{worker}", RATE / len(ingests)))
        for worker, ws in ingests.items()
    ]
    latencies: list[float] = []
    try:
        for number in range(WARMUP + SAMPLES):
            code = CODES[number % 2]
            expected[code] = number
            arrived[number] = asyncio.Event()
            panel = panels[str(number % workers)]
            sent = time.monotonic_ns()
            await panel.send(
                json.dumps({"type": "command", "id": number, "op": "pin", "args": {"code": code}})
            )
            await asyncio.wait_for(arrived[number].wait(), WAIT_S)
            slowest = max(o.times[number] for o in overlays)
            if number >= WARMUP:
                latencies.append((slowest - sent) / 1e6)
            await asyncio.sleep(SPACING_MS / 1000)  # spacing between commands
    finally:
        stop.set()
        for task in [*loads, *readers]:
            task.cancel()
        await asyncio.gather(*loads, *readers, return_exceptions=True)
        for ws in [*sockets, *panels.values(), *ingests.values()]:
            with contextlib.suppress(Exception):
                await ws.close()
    return {"p50": percentile(latencies, 50), "p99": percentile(latencies, 99)}


def measure(workdir: Path) -> dict[int, dict[str, float]]:
    results: dict[int, dict[str, float]] = {}
    with _database() as cluster:
        for workers in (1, 2):
            name, url = cluster.create()
            try:
                with _serve(workdir, url, workers) as base:
                    results[workers] = asyncio.run(_measure(base, workers))
            finally:
                cluster.drop(name)
    return results


def run(workdir: Path) -> Section:
    started = time.monotonic()
    folder = workdir / "b7"
    folder.mkdir(parents=True, exist_ok=True)
    results = measure(folder)
    one, two = results[1], results[2]
    section = Section(
        "B7 hub",
        [
            Figure(f"B7 pin to {OVERLAYS} overlays, 1 worker, p50", one["p50"], "ms"),
            Figure(f"B7 pin to {OVERLAYS} overlays, 1 worker, p99", one["p99"], "ms"),
            Figure(f"B7 pin to {OVERLAYS} overlays, 2 workers, p50", two["p50"], "ms"),
            Figure(
                f"B7 pin to {OVERLAYS} overlays, 2 workers, p99",
                two["p99"],
                "ms",
                one["p99"],
                "1 worker",
            ),
        ],
        [
            f"B7: PostgreSQL (throwaway cluster, fsync off), one shop, {OVERLAYS} overlays, "
            f"{RATE:.0f} comments/s through one ingestion socket per worker, {SAMPLES} pins "
            f"{SPACING_MS:.0f} ms apart through a panel socket on each worker in turn; latency "
            "from just before the command to the slowest overlay. Clients share one process.",
        ],
    )
    section.seconds = time.monotonic() - started
    return section
