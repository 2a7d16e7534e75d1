"""Fixtures for the connector tests: a tiny loopback HTTP server and a fake clock.

The fake server is a real HTTP/1.1 server on 127.0.0.1 (an ephemeral port)
running in the test's own event loop; each test gives it a handler that plays
Facebook or Shopee. The fake clock makes every backoff and replay wait instant.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from server.comments import CommentIn
from server.connectors.base import ConnectorState


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: bytes = b""

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering, to provoke client timeouts


# A handler returns (status, json_body) or (status, json_body, headers) or
# (status, json_body, headers, delay_seconds): tests cannot import this module.
# A body with ``__aiter__`` (an async generator of bytes) is streamed as
# server-sent events, chunk by chunk; when it ends the connection drops.
Handler = Callable[[Request], tuple[Any, ...]]

_REASONS = {200: "OK", 400: "Bad Request", 403: "Forbidden", 429: "Too Many Requests"}


class FakeHTTPServer:
    """One handler, every request recorded; answers then closes the connection."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[Request] = []
        self._server: asyncio.Server | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            method, target, _ = head.split(b"\r\n", 1)[0].decode().split(" ", 2)
            parts = urlsplit(target)
            query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
            body = await reader.readexactly(int(length.group(1))) if length else b""
            request = Request(method, parts.path, query, body)
            self.requests.append(request)
            reply = Reply(*self.handler(request))
            if reply.delay:
                await asyncio.sleep(reply.delay)
            if hasattr(reply.body, "__aiter__"):
                await self._stream(writer, reply)
                return
            payload = json.dumps(reply.body).encode() if reply.body is not None else b""
            headers = {
                "Content-Type": "application/json",
                "Content-Length": str(len(payload)),
                "Connection": "close",
                **reply.headers,
            }
            writer.write(_head(reply.status, headers) + payload)
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def _stream(self, writer: asyncio.StreamWriter, reply: Reply) -> None:
        headers = {
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "Connection": "close",
            **reply.headers,
        }
        writer.write(_head(reply.status, headers))
        await writer.drain()
        async for chunk in reply.body:
            writer.write(chunk)
            await writer.drain()


def _head(status: int, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@pytest.fixture
async def fake_server() -> AsyncIterator[Callable[[Handler], Awaitable[FakeHTTPServer]]]:
    servers: list[FakeHTTPServer] = []

    async def make(handler: Handler) -> FakeHTTPServer:
        server = FakeHTTPServer(handler)
        await server.start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        await server.close()


class FakeClock:
    """Monotonic time that only moves when someone sleeps on it."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)  # let other tasks run, as a real sleep would


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


class Collector:
    """An ``emit`` target that records batches and wakes waiters at a count."""

    def __init__(self) -> None:
        self.batches: list[list[CommentIn]] = []
        self.states: list[ConnectorState] = []
        self._changed = asyncio.Event()

    @property
    def comments(self) -> list[CommentIn]:
        return [c for batch in self.batches for c in batch]

    @property
    def statuses(self) -> list[str]:
        return [s.status for s in self.states]

    async def emit(self, batch: Sequence[CommentIn]) -> None:
        self.batches.append(list(batch))
        self._changed.set()

    def on_state(self, state: ConnectorState) -> None:
        self.states.append(state)
        self._changed.set()

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        async def loop() -> None:
            while not predicate():
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(loop(), timeout)


@pytest.fixture
def collector() -> Collector:
    return Collector()
