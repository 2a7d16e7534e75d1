"""B1: from a helper's REST command to its arrival on every overlay and panel socket.

Clients live in one or two separate processes (100 sockets each at most), so
the server's event loop is not shared with the clients and one client process
does not fall behind on 200 sockets. The first client process also sends the
commands (``POST /api/live/pin``, alternating codes, every ``spacing`` ms) over
one keep-alive connection, noting the time just before each request; every
process notes when each socket receives the update carrying that ``rev``.
Times are ``time.monotonic_ns``, which on Linux is CLOCK_MONOTONIC: one clock
for every process on the machine, so a receipt in the second process can be
set against a send in the first.

A command's latency is the slowest of its sockets (the overlay on screen is
only right once every screen is); per-socket latencies are reported too. The
baseline is :func:`bench.serve.baseline_app` on the same stack, measured the
same way; under load its ``/ws/ingest`` writes the comments into a plain table.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import multiprocessing
import queue
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from multiprocessing.context import SpawnContext, SpawnProcess
from pathlib import Path
from typing import Any

import httpx

from bench.common import Figure, Section, percentile
from bench.load import LoadResult, start_load
from bench.serve import HELPER, OVERLAY, ServerProcess, running_server

__all__ = ["Run", "Target", "measure", "run"]

logger = logging.getLogger(__name__)

CLIENTS = (1, 50, 200)
PER_PROCESS = 100
SAMPLES = 200
WARMUP = 20
SPACING_MS = 20.0
MAX_SECONDS = 20.0  # a saturated server answers slowly: stop sending early, keep the figures
LOAD_RATE = 200.0
# Judged against the bare broadcast of the same run: on a shared machine an
# absolute figure says more about the neighbours than about the server.
TARGET_RATIO = 1.25
CODES = ("A1", "A2")


@dataclass(frozen=True)
class Target:
    """How to reach one server: its sockets and its command (picklable for the clients)."""

    kind: str  # project | baseline
    port: int

    def socket_url(self, panel: bool) -> str:
        base = f"ws://127.0.0.1:{self.port}"
        if self.kind == "baseline":
            return f"{base}/ws"
        return f"{base}/ws/panel?token={HELPER}" if panel else f"{base}/ws/overlay?key={OVERLAY}"

    def request(self, code: str) -> bytes:
        if self.kind == "baseline":
            path, body, auth = "/broadcast", {"pinned": code}, ""
        else:
            path, body, auth = (
                "/api/live/pin",
                {"code": code},
                f"Authorization: Bearer {HELPER}\r\n",
            )
        data = json.dumps(body).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n{auth}"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
        )
        return head.encode() + data


@dataclass(frozen=True)
class Share:
    """One client process's part: how many sockets of each role, and whether it commands."""

    index: int
    overlays: int
    panels: int
    commander: bool


# -- the client process ------------------------------------------------------------------


async def _post(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    """One request on a keep-alive connection; returns the ``rev`` it answered."""
    writer.write(request)
    await writer.drain()
    status = await reader.readline()
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
    body = json.loads(await reader.readexactly(length))
    if b" 200 " not in status:
        raise RuntimeError(f"command refused: {status!r} {body}")
    return int(body["rev"])


async def _commands(target: Target) -> list[tuple[int, int]]:
    """Send WARMUP + SAMPLES commands (fewer past MAX_SECONDS); (rev, sent_ns) for the
    measured ones."""
    reader, writer = await asyncio.open_connection("127.0.0.1", target.port)
    sent: list[tuple[int, int]] = []
    spacing = int(SPACING_MS * 1e6)
    start = time.monotonic_ns()
    try:
        for i in range(WARMUP + SAMPLES):
            request = target.request(CODES[i % 2])
            before = time.monotonic_ns()
            rev = await _post(reader, writer, request)
            if i >= WARMUP:
                sent.append((rev, before))
            if time.monotonic_ns() - start > MAX_SECONDS * 1e9 and len(sent) >= 20:
                break
            wait = start + (i + 1) * spacing - time.monotonic_ns()
            await asyncio.sleep(max(0, wait) / 1e9)
    finally:
        writer.close()
    return sent


async def _watch(url: str, receipts: dict[int, int], opened: asyncio.Queue[bool]) -> None:
    from websockets.asyncio.client import connect

    async with connect(url, max_size=None, open_timeout=60, ping_interval=None) as ws:
        await ws.recv()  # the snapshot
        await opened.put(True)
        async for message in ws:
            now = time.monotonic_ns()  # before any parsing: the receipt is what counts
            if isinstance(message, str) and message.startswith('{"type":"update"'):
                data = json.loads(message)
                if "pinned" in data.get("set", {}):
                    receipts[data["rev"]] = now


async def _until(condition: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


async def _client(target: Target, share: Share, sync: dict[str, Any]) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    urls = [target.socket_url(False)] * share.overlays + [target.socket_url(True)] * share.panels
    receipts: list[dict[int, int]] = [{} for _ in urls]
    opened: asyncio.Queue[bool] = asyncio.Queue()
    watchers = []
    for i, url in enumerate(urls):  # a few at a time: a burst of handshakes is not the test
        watchers.append(asyncio.create_task(_watch(url, receipts[i], opened)))
        if i % 20 == 19:
            await asyncio.sleep(0.05)
    for _ in urls:
        await asyncio.wait_for(opened.get(), 60)
    sync["ready"].put(share.index)
    await loop.run_in_executor(None, sync["go"].wait, 120)
    sent: list[tuple[int, int]] = []
    if share.commander:
        sent = await _commands(target)
        sync["last_rev"].value = sent[-1][0]
        sync["done"].set()
    else:
        await loop.run_in_executor(None, sync["done"].wait, 120)
    last = sync["last_rev"].value
    complete = await _until(lambda: all(last in r for r in receipts), 10.0)
    for task in watchers:
        task.cancel()
    await asyncio.gather(*watchers, return_exceptions=True)
    return {"index": share.index, "sent": sent, "receipts": receipts, "complete": complete}


def _client_main(target: Target, share: Share, sync: dict[str, Any]) -> None:
    sync["out"].put(asyncio.run(_client(target, share, sync)))


# -- the parent ------------------------------------------------------------------------------


@dataclass
class Run:
    """One measured configuration: latencies in milliseconds."""

    kind: str
    clients: int
    loaded: bool
    worst: list[float] = field(default_factory=list)  # per command, slowest socket (samples)
    each: list[float] = field(default_factory=list)  # per command and socket
    missing: int = 0
    peak_rss: int = 0
    load: LoadResult | None = None

    def p(self, q: float, per_socket: bool = False) -> float:
        return percentile(self.each if per_socket else self.worst, q)


def _shares(clients: int) -> list[Share]:
    panels = clients // 10
    processes = max(1, math.ceil(clients / PER_PROCESS))
    shares = []
    for k in range(processes):
        n = clients // processes + (1 if k < clients % processes else 0)
        p = panels // processes + (1 if k < panels % processes else 0)
        shares.append(Share(k, n - p, p, commander=k == 0))
    return shares


@contextlib.contextmanager
def _client_processes(
    ctx: SpawnContext, target: Target, shares: list[Share], sync: dict[str, Any]
) -> Iterator[list[SpawnProcess]]:
    processes = [
        ctx.Process(target=_client_main, args=(target, s, sync), daemon=True) for s in shares
    ]
    try:
        for process in processes:
            process.start()
        yield processes
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
            process.join(5)


def _collect(run: Run, results: list[dict[str, Any]]) -> None:
    sent = next(r["sent"] for r in results if r["sent"])
    receipts = [r for result in results for r in result["receipts"]]
    for rev, before in sent:
        times = [(r[rev] - before) / 1e6 for r in receipts if rev in r]
        run.missing += len(receipts) - len(times)
        run.each.extend(times)
        if times:
            run.worst.append(max(times))


def _gather(
    source: Any,
    count: int,
    processes: list[SpawnProcess],
    timeout: float,
    tick: Callable[[], None] | None = None,
) -> list[Any]:
    """``count`` items from a process queue; fail fast when a client process dies."""
    items: list[Any] = []
    deadline = time.monotonic() + timeout
    while len(items) < count:
        if tick is not None:
            tick()
        with contextlib.suppress(queue.Empty):
            items.append(source.get(timeout=0.2))
            continue
        if any(p.exitcode not in (None, 0) for p in processes):
            raise RuntimeError("a B1 client process failed (its traceback is above)")
        if time.monotonic() > deadline:
            raise TimeoutError(f"B1 clients did not report within {timeout:g} s")
    return items


def measure(ctx: SpawnContext, server: ServerProcess, clients: int, loaded: bool) -> Run:
    """Connect ``clients`` sockets, send the commands, gather every receipt."""
    target = Target(server.kind, server.port)
    run = Run(server.kind, clients, loaded)
    shares = _shares(clients)
    sync: dict[str, Any] = {
        "ready": ctx.Queue(),
        "out": ctx.Queue(),
        "go": ctx.Event(),
        "done": ctx.Event(),
        "last_rev": ctx.Value("q", -1),
    }
    with _client_processes(ctx, target, shares, sync) as processes:
        _gather(sync["ready"], len(shares), processes, 120.0)
        load = None
        if loaded:
            url = f"{server.ws_base}/ws/ingest?token={HELPER}"
            load = start_load(ctx, url, rate=LOAD_RATE, prefix=f"b1-{clients}-{time.time_ns()}")
        try:
            sync["go"].set()

            def sample() -> None:
                run.peak_rss = max(run.peak_rss, server.rss())

            results = _gather(sync["out"], len(shares), processes, MAX_SECONDS + 120.0, sample)
        finally:
            if load is not None:
                run.load = load.stop()
    _collect(run, results)
    return run


def _prepare_project(server: ServerProcess) -> None:
    auth = {"Authorization": f"Bearer {HELPER}"}
    with httpx.Client(base_url=server.base, headers=auth, timeout=30) as client:
        client.post("/api/live/session/start", json={"title": "bench"}).raise_for_status()
        client.post("/api/live/pin", json={"code": "A1"}).raise_for_status()


def run_all(workdir: Path) -> tuple[list[Run], dict[str, int]]:
    """Every configuration on both servers; also the servers' idle RSS."""
    ctx = multiprocessing.get_context("spawn")
    runs: list[Run] = []
    idle: dict[str, int] = {}
    for kind in ("project", "baseline"):
        with running_server(kind, workdir / f"b1-{kind}") as server:
            if kind == "project":
                _prepare_project(server)
            idle[kind] = server.rss()
            for loaded in (False, True):
                for clients in CLIENTS:
                    run = measure(ctx, server, clients, loaded)
                    logger.info(
                        "B1 %s %d clients %s: p50 %.2f ms p99 %.2f ms",
                        kind, clients, "loaded" if loaded else "idle", run.p(50), run.p(99),
                    )  # fmt: skip
                    runs.append(run)
    return runs, idle


def _label(clients: int, loaded: bool) -> str:
    return f"{clients} client{'s' * (clients > 1)}, {'200 comments/s' if loaded else 'idle'}"


def figures(runs: list[Run]) -> list[Figure]:
    by_key = {(r.kind, r.clients, r.loaded): r for r in runs}
    out = []
    for loaded in (False, True):
        for clients in CLIENTS:
            ours, base = by_key[("project", clients, loaded)], by_key[("baseline", clients, loaded)]
            for q in (50, 99):
                judged = q == 99 and clients == 50 and loaded
                value = ours.p(q)
                out.append(
                    Figure(
                        f"B1 p{q} latency, {_label(clients, loaded)}",
                        value,
                        "ms",
                        base.p(q),
                        "bare broadcast",
                        f"<= {TARGET_RATIO:g}x bare broadcast" if judged else "",
                        value <= TARGET_RATIO * base.p(q) if judged else None,
                    )
                )
    return out


def notes(runs: list[Run]) -> list[str]:
    lines = [
        f"B1: {SAMPLES} `POST /api/live/pin` commands {SPACING_MS:g} ms apart after "
        f"{WARMUP} warm-up ones (fewer when a run passes {MAX_SECONDS:g} s); latency = "
        "request sent to update received on the slowest socket (one in ten sockets is a "
        "panel); clients in separate processes, "
        f"{PER_PROCESS} sockets each at most.",
    ]
    for r in runs:
        load = ""
        if r.load is not None:
            load = f"; load achieved {r.load.rate:.0f} comments/s ({r.load.errors} errors)"
        lines.append(
            f"B1 {r.kind}, {_label(r.clients, r.loaded)}: {len(r.worst)} samples; per-socket p50 "
            f"{r.p(50, True):.2f} ms, p99 {r.p(99, True):.2f} ms, max {max(r.each, default=0):.2f}"
            f" ms; {r.missing} receipts missing; server RSS peak {r.peak_rss / 2**20:.0f} MiB"
            + load
        )
    return lines


def run(workdir: Path) -> Section:
    started = time.monotonic()
    runs, idle = run_all(workdir)
    section = Section("B1 overlay latency", figures(runs), notes(runs))
    peak = max((r.peak_rss for r in runs if r.kind == "project"), default=0)
    base_peak = max((r.peak_rss for r in runs if r.kind == "baseline"), default=0)
    section.figures += [
        Figure("Server RSS idle", idle["project"] / 2**20, "MiB", idle["baseline"] / 2**20,
               "bare app", "< 150 MB", idle["project"] < 150e6),
        Figure("Server RSS peak under B1 load", peak / 2**20, "MiB", base_peak / 2**20,
               "bare app", "< 150 MB", peak < 150e6),
    ]  # fmt: skip
    section.seconds = time.monotonic() - started
    return section
