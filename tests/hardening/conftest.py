"""The real server as a child process (``chotdon serve``), for tests that kill it or load it.

Readiness is polled on ``GET /api/live`` a bounded number of times; between tries
the test waits on the child process itself (``Popen.wait`` with a short timeout),
so a server that crashes at start-up fails the test at once with its log.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.pg import url_of
from tests.support import app_settings

T = TypeVar("T")
HELPER = "hardening-helper-token"
OVERLAY = "hardening-overlay-key"
AUTH = {"Authorization": f"Bearer {HELPER}"}


def run_async(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """``asyncio.run(main())`` in a worker thread.

    The main thread may already have a running loop: Playwright's sync API keeps
    one for the whole session once a browser test has run.
    """
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(main())).result()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def chotdon_command() -> list[str]:
    script = Path(sys.executable).with_name("chotdon")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "from server.cli import main; main()"]


@dataclass
class ServerProcess:
    """One ``chotdon serve`` child on loopback, with its log file."""

    data_dir: Path
    log: Path
    env: dict[str, str] = field(default_factory=dict)
    args: list[str] = field(default_factory=list)  # more `chotdon serve` flags
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, attempts: int = 300) -> None:
        self.port = free_port()
        args = [
            *chotdon_command(), "serve", "--data", str(self.data_dir), "--port", str(self.port),
            "--host", "127.0.0.1", "--helper-token", HELPER, "--overlay-key", OVERLAY,
            "--no-qr", "--demo", *self.args,
        ]  # fmt: skip
        env = {**os.environ, "CHOTDON_DEMO_COMMENTS": "0", **self.env}
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
        for _ in range(attempts):
            try:
                if httpx.get(f"{self.base_url}/api/live", headers=AUTH, timeout=2).is_success:
                    return
            except httpx.TransportError:
                pass  # not listening yet
            try:
                code = self.proc.wait(timeout=0.1)
            except subprocess.TimeoutExpired:
                continue
            raise RuntimeError(f"server exited with {code}:\n{self.tail()}")
        self.stop()
        raise RuntimeError(f"server not ready after {attempts} tries:\n{self.tail()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers, no flushing; what is committed must survive."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def tail(self, chars: int = 4000) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-chars:]

    def query(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        """Read the server's database directly (SQLite's WAL or PostgreSQL: safe while it runs)."""
        engine = create_engine(url_of(self.data_dir, self.env.get("CHOTDON_DATABASE_URL", "")))
        try:
            with engine.connect() as conn:
                return [tuple(row) for row in conn.execute(text(sql), params)]
        finally:
            engine.dispose()


@pytest.fixture
def server_process(tmp_path: Path, database_url: str) -> Iterator[ServerProcess]:
    env = {"CHOTDON_DATABASE_URL": database_url}
    server = ServerProcess(data_dir=tmp_path / "data", log=tmp_path / "server.log", env=env)
    yield server
    server.stop()


def comment(cid: str, text: str, user: str, nickname: str = "") -> dict[str, Any]:
    return {"platform": "sim", "id": cid, "user": user, "nickname": nickname or user, "text": text}


# What an audience types: orders for what is pinned and by code, questions, chatter, cancels.
AUDIENCE = (
    "chốt 1",
    "lấy 2",
    "A2 x1",
    "B4 2kg",
    "chốt 1 gói miến",
    "bao nhiêu tiền vậy shop?",
    "ship Hà Giang mấy ngày",
    "hay quá chị ơi",
    "A3 3kg",
    "hủy",
    "e lấy 1",
    "còn hàng không ạ",
)


def audience_comment(n: int, prefix: str = "c") -> dict[str, Any]:
    """The n-th comment of a deterministic audience of 400 buyers."""
    user = f"buyer{n % 400}"
    return comment(f"{prefix}{n}", AUDIENCE[n % len(AUDIENCE)], user, f"Khách {n % 400}")


def make_settings(data_dir: Path, **overrides: Any) -> Any:
    return app_settings(data_dir, helper=HELPER, overlay=OVERLAY, **overrides)


class FakeClock:
    """Monotonic seconds that move only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@contextlib.contextmanager
def open_client(
    data_dir: Path, clock: FakeClock, *, raise_errors: bool = True, **overrides: Any
) -> Iterator[Any]:
    """The app in-process on a real SQLite file, its rate limiters on the fake clock."""
    from fastapi.testclient import TestClient

    from server.app import create_app

    app = create_app(make_settings(data_dir, **overrides))
    app.state.limits.auth.clock = clock
    app.state.limits.ingest.clock = clock
    with TestClient(app, raise_server_exceptions=raise_errors) as test_client:
        yield test_client


@pytest.fixture
def client(tmp_path: Path, clock: FakeClock) -> Iterator[Any]:
    with open_client(tmp_path / "data", clock) as test_client:
        yield test_client
