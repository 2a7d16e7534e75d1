"""The comment load: a separate process that ingests N comments a second over a socket.

It sends a batch every ``batch / rate`` seconds on ``/ws/ingest`` and waits for
each batch's acknowledgement before the next, so a server that cannot keep up
shows as an achieved rate below the asked one (reported), never as an unbounded
backlog. It runs until told to stop, or ``max_seconds`` at most.
"""

from __future__ import annotations

import asyncio
import json
import queue
import time
from dataclasses import dataclass
from multiprocessing.context import SpawnContext, SpawnProcess
from typing import Any

from bench.comments import demo_comments

__all__ = ["Load", "LoadResult", "start_load"]


@dataclass(frozen=True)
class LoadResult:
    sent: int
    seconds: float
    errors: int

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0


async def _run(url: str, rate: float, batch: int, prefix: str, sync: dict[str, Any]) -> LoadResult:
    from websockets.asyncio.client import connect

    interval = batch / rate
    sent = errors = 0
    async with connect(url, max_size=None, open_timeout=30) as ws:
        started = time.monotonic()
        sync["started"].put("started")
        while not sync["stop"].is_set() and time.monotonic() - started < sync["max_seconds"]:
            comments = demo_comments(batch, prefix, start=sent)
            await ws.send(json.dumps(comments, ensure_ascii=False))
            reply = json.loads(await ws.recv())
            if reply.get("type") == "ack":
                sent += batch
            else:
                errors += 1
            delay = started + (sent + errors * batch) / rate - time.monotonic()
            await asyncio.sleep(max(0.0, min(delay, interval)))
        seconds = time.monotonic() - started
    return LoadResult(sent, seconds, errors)


def _main(url: str, rate: float, batch: int, prefix: str, sync: dict[str, Any]) -> None:
    result = asyncio.run(_run(url, rate, batch, prefix, sync))
    sync["out"].put(result)


class Load:
    """A running load process; ``stop()`` returns what it achieved."""

    def __init__(self, process: SpawnProcess, sync: dict[str, Any]) -> None:
        self.process = process
        self.sync = sync

    def stop(self, timeout: float = 20.0) -> LoadResult:
        self.sync["stop"].set()
        try:
            result: LoadResult = self.sync["out"].get(timeout=timeout)
        except queue.Empty:
            raise RuntimeError("the load process gave no result (its traceback is above)") from None
        finally:
            self.kill()
        return result

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.terminate()
        self.process.join(5)


def start_load(
    ctx: SpawnContext,
    url: str,
    *,
    rate: float = 200.0,
    batch: int = 10,
    prefix: str = "load",
    max_seconds: float = 120.0,
) -> Load:
    """Start the load process and return once its first batch is on its way."""
    sync: dict[str, Any] = {
        "started": ctx.Queue(),
        "out": ctx.Queue(),
        "stop": ctx.Event(),
        "max_seconds": max_seconds,
    }
    process = ctx.Process(target=_main, args=(url, rate, batch, prefix, sync), daemon=True)
    process.start()
    load = Load(process, sync)
    try:
        sync["started"].get(timeout=30)
    except BaseException:
        load.kill()
        raise
    return load
