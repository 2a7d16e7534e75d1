"""The servers under test, each in its own process: the project and a bare baseline.

The load generator and the clients must not share the server's event loop, so
each server runs as ``python -m bench.serve KIND DATA_DIR`` on 127.0.0.1 with
an ephemeral port that it prints (``port=N``) once uvicorn has started. Both
run on the same stack with the same uvicorn settings as ``chotdon serve``
(``server.cli_serve.UVICORN_OPTIONS``), so the only difference is the app.

The baseline is the least a server can do for the same job: a Starlette app
whose ``POST /broadcast`` sends the update to every socket in a plain loop, and
whose ``/ws/ingest`` writes each batch of comments into a plain SQLite table.
"""

from __future__ import annotations

import contextlib
import cProfile
import json
import os
import select
import signal
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["HELPER", "OVERLAY", "ServerProcess", "baseline_app", "running_server"]

HELPER = "bench-helper-token"
OVERLAY = "bench-overlay-key"
START_TIMEOUT = 60.0


@dataclass
class ServerProcess:
    kind: str
    process: subprocess.Popen[bytes]
    port: int
    data_dir: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_base(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def rss(self) -> int:
        """Resident memory of the server process, in bytes (0 once it has gone)."""
        import psutil

        try:
            return int(psutil.Process(self.process.pid).memory_info().rss)
        except psutil.Error:
            return 0


def stop_process(process: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """SIGTERM (uvicorn shuts down cleanly), then SIGKILL if it lingers."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _read_port(process: subprocess.Popen[bytes]) -> int:
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], START_TIMEOUT)
    line = process.stdout.readline().decode() if ready else ""
    if not line.startswith("port="):
        raise RuntimeError(f"the bench server did not start (said {line.strip()!r})")
    return int(line.split("=", 1)[1])


@contextlib.contextmanager
def running_server(kind: str, data_dir: Path) -> Iterator[ServerProcess]:
    """Start ``kind`` ("project" or "baseline") in a child process; always stop it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.serve", kind, str(data_dir)],
        stdout=subprocess.PIPE,
        env=env,
        cwd=Path(__file__).resolve().parent.parent,
    )
    try:
        yield ServerProcess(kind, process, _read_port(process), data_dir)
    finally:
        stop_process(process)


# -- the child side -------------------------------------------------------------------


def project_app(data_dir: Path) -> Any:
    from server.app import create_app
    from server.settings import Settings

    settings = Settings(
        data_dir=data_dir,
        host="127.0.0.1",
        helper_token=HELPER,
        overlay_key=OVERLAY,
        demo=True,
        demo_comments=False,
    )
    return create_app(settings)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def open_plain_db(path: Path) -> sqlite3.Connection:
    """A plain comments table with the project's durability settings (WAL, NORMAL)."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(
        "CREATE TABLE IF NOT EXISTS comments (id INTEGER PRIMARY KEY, platform TEXT, "
        "message_id TEXT, user TEXT, nickname TEXT, text TEXT, ts TEXT, received_at TEXT, "
        "UNIQUE (platform, message_id))"
    )
    return conn


def insert_batch(conn: sqlite3.Connection, batch: list[dict[str, Any]]) -> None:
    """One transaction per batch: the least that makes a batch durable."""
    now = _now()
    rows = [
        (c["platform"], c["id"], c["user"], c.get("nickname", ""), c.get("text", ""),
         c.get("ts"), now)
        for c in batch
    ]  # fmt: skip
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT OR IGNORE INTO comments (platform, message_id, user, nickname, text, ts, "
        "received_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    conn.execute("COMMIT")


def baseline_app(data_dir: Path) -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route, WebSocketRoute
    from starlette.websockets import WebSocket, WebSocketDisconnect

    sockets: set[WebSocket] = set()
    state = {"rev": 0}
    db = open_plain_db(data_dir / "baseline.db")

    async def overlay(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_text(json.dumps({"type": "snapshot", "rev": state["rev"], "state": {}}))
        sockets.add(ws)
        try:
            while True:
                await ws.receive_text()
        except WebSocketDisconnect:
            pass
        finally:
            sockets.discard(ws)

    async def broadcast(request: Request) -> JSONResponse:
        body = await request.json()
        state["rev"] += 1
        message = {"type": "update", "rev": state["rev"], "t": _now(), "set": body, "products": {}}
        text = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
        for ws in list(sockets):
            try:
                await ws.send_text(text)
            except (RuntimeError, OSError):
                sockets.discard(ws)
        return JSONResponse({"ok": True, "rev": state["rev"]})

    async def ingest(ws: WebSocket) -> None:
        await ws.accept()
        try:
            while True:
                batch = json.loads(await ws.receive_text())
                insert_batch(db, batch)
                await ws.send_text(json.dumps({"type": "ack", "results": len(batch)}))
        except WebSocketDisconnect:
            pass

    routes = [
        WebSocketRoute("/ws", overlay),
        WebSocketRoute("/ws/ingest", ingest),
        Route("/broadcast", broadcast, methods=["POST"]),
    ]
    return Starlette(routes=routes)


def main(argv: list[str]) -> None:
    import uvicorn

    from server.cli_serve import UVICORN_OPTIONS

    kind, data_dir = argv[0], Path(argv[1])
    app = project_app(data_dir) if kind == "project" else baseline_app(data_dir)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]

    # BENCH_PROFILE=FILE: profile the server with cProfile (to find what misses a target);
    # written at shutdown, since uvicorn re-raises SIGTERM once it has stopped.
    profile_path = os.environ.get("BENCH_PROFILE")
    profiler = cProfile.Profile() if profile_path else None

    class Server(uvicorn.Server):
        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets)
            if profiler is not None:
                profiler.enable()
            print(f"port={port}", flush=True)

        async def shutdown(self, sockets: Any = None) -> None:
            if profiler is not None:
                profiler.disable()
                profiler.dump_stats(str(profile_path))
            await super().shutdown(sockets)

    config = uvicorn.Config(app, **UVICORN_OPTIONS)
    Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main(sys.argv[1:])
