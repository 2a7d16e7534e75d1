"""B2: comments per second parsed and durably stored, against raw batched inserts.

Three ways in, all on a real SQLite file in WAL mode with ``synchronous=NORMAL``:

- the order book's ingestion called in-process (``await ctx.orders.ingest``, batches
  of 50, its database work in the writer thread, a session running and a product
  pinned so orders are taken): parsing,
  buyers, order lines, stock, the event log and the on-air update in one
  transaction per batch;
- the same through HTTP, ``POST /api/comments`` in batches of 50 to the server in
  its own process (the client is this process);
- the parser alone (``Parser(catalog).parse``, nothing stored).

The baseline writes the same rows into a plain table with ``executemany``, one
transaction per batch: the floor for "stored durably" on this disk. Rates are
wall-clock and single-threaded: the ingestion runs on one core by design.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx

from bench.comments import demo_comments
from bench.common import Figure, Section
from bench.serve import HELPER, insert_batch, open_plain_db, running_server

__all__ = ["intake_http", "intake_in_process", "parser_alone", "raw_inserts", "run"]

COMMENTS = 6000
BATCH = 50
TARGET = 2000.0


def _batches(comments: list[dict[str, Any]], size: int) -> list[list[dict[str, Any]]]:
    return [comments[i : i + size] for i in range(0, len(comments), size)]


def intake_in_process(data_dir: Path, comments: list[dict[str, Any]], batch: int = BATCH) -> float:
    """Comments per second through ``OrderService.ingest`` on a fresh database."""
    from server.app import create_app
    from server.comments import CommentIn
    from server.settings import Settings

    settings = Settings(data_dir=data_dir, demo=True, demo_comments=False, helper_token=HELPER)
    ctx = create_app(settings).state.ctx
    service = ctx.orders
    batches = [[CommentIn.model_validate(c) for c in b] for b in _batches(comments, batch)]

    async def main() -> float:
        await ctx.live.start_session("bench")
        await ctx.live.pin("A1")
        await service.ingest(batches[0])  # the parser index is built once per catalog
        started = time.perf_counter()
        for one in batches[1:]:
            await service.ingest(one)
        return time.perf_counter() - started

    elapsed = asyncio.run(main())
    ctx.engine.dispose()
    return (len(comments) - len(batches[0])) / elapsed


def intake_http(
    data_dir: Path, comments: list[dict[str, Any]], batch: int = BATCH
) -> tuple[float, int]:
    """Comments per second through ``POST /api/comments``; also the server's peak RSS."""
    batches = _batches(comments, batch)
    peak = 0
    with running_server("project", data_dir) as server:
        auth = {"Authorization": f"Bearer {HELPER}"}
        with httpx.Client(base_url=server.base, headers=auth, timeout=60) as client:
            client.post("/api/live/session/start", json={"title": "bench"}).raise_for_status()
            client.post("/api/live/pin", json={"code": "A1"}).raise_for_status()
            client.post("/api/comments", json=batches[0]).raise_for_status()
            started = time.perf_counter()
            for i, one in enumerate(batches[1:]):
                client.post("/api/comments", json=one).raise_for_status()
                if i % 10 == 0:
                    peak = max(peak, server.rss())
            elapsed = time.perf_counter() - started
    return (len(comments) - len(batches[0])) / elapsed, peak


def parser_alone(comments: list[dict[str, Any]]) -> float:
    from assets import DEMO_DIR
    from chotdon.catalog import read_catalog
    from server.parse import Parser

    parser = Parser(read_catalog(DEMO_DIR / "catalog.csv"))
    texts = [c["text"] for c in comments]
    started = time.perf_counter()
    for text in texts:
        parser.parse(text, pinned="A1")
    return len(texts) / (time.perf_counter() - started)


def raw_inserts(path: Path, comments: list[dict[str, Any]], batch: int = BATCH) -> float:
    conn = open_plain_db(path)
    try:
        started = time.perf_counter()
        for one in _batches(comments, batch):
            insert_batch(conn, one)
        return len(comments) / (time.perf_counter() - started)
    finally:
        conn.close()


def run(workdir: Path, count: int = COMMENTS) -> Section:
    started = time.monotonic()
    comments = demo_comments(count, "b2")
    raw = raw_inserts(workdir / "b2-raw.db", comments)
    ours = intake_in_process(workdir / "b2-inproc", comments)
    http, peak = intake_http(workdir / "b2-http", comments)
    parse = parser_alone(comments)
    section = Section(
        "B2 comment intake",
        [
            Figure(
                "B2 intake, in-process ingestion",
                ours,
                "comments/s",
                raw,
                "raw batched inserts",
                f">= {TARGET:,.0f}/s",
                ours >= TARGET,
            ),
            Figure(
                "B2 intake, HTTP POST /api/comments", http, "comments/s", raw, "raw batched inserts"
            ),
            Figure("B2 parser alone", parse, "comments/s"),
            Figure(
                "Server RSS peak under B2 HTTP load",
                peak / 2**20,
                "MiB",
                target="< 150 MB",
                met=peak < 150e6,
            ),
        ],
        [
            f"B2: {count:,} demo comments (unique ids, fresh buyers each pass over the "
            f"148-line demo file), batches of {BATCH}, a session running and A1 pinned, on a "
            "real SQLite file (WAL, synchronous=NORMAL); the first batch (parser index build) "
            "is not timed. The HTTP client is the bench process, the server its own process.",
        ],
    )
    section.seconds = time.monotonic() - started
    return section
