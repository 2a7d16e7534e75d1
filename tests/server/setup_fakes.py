"""Loopback fakes for the setup page's tests, each on its own event-loop thread.

The app under test runs in TestClient's (or uvicorn's) thread, so the fakes get
a loop of their own. The Graph API and Shopee fakes are the connector tests'
own (tests/connectors); the OBS fake follows obs-websocket v5's documented
handshake: Hello (with an authentication challenge when a password is set),
Identify, then Identified, or close code 4009 for a wrong password.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from tests.connectors.conftest import FakeHTTPServer

__all__ = ["FakeOBS", "LoopThread", "loop_thread"]

T = TypeVar("T")


class LoopThread:
    """An asyncio loop running in a daemon thread; ``call`` runs a coroutine on it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self._closers: list[Callable[[], Awaitable[None]]] = []

    def call(self, make: Callable[[], Awaitable[T]]) -> T:
        async def run() -> T:
            return await make()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(10)

    def http(self, handler: Callable[[Any], tuple[Any, ...]]) -> FakeHTTPServer:
        """A started :class:`FakeHTTPServer` (tests/connectors) answering with ``handler``."""
        server = FakeHTTPServer(handler)
        self.call(server.start)
        self._closers.append(server.close)
        return server

    def obs(self, password: str = "") -> FakeOBS:
        fake = FakeOBS(password)
        self.call(fake.start)
        self._closers.append(fake.close)
        return fake

    def close(self) -> None:
        for close in reversed(self._closers):
            self.call(close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


@contextmanager
def loop_thread() -> Iterator[LoopThread]:
    thread = LoopThread()
    try:
        yield thread
    finally:
        thread.close()


def expected_auth(password: str, salt: str, challenge: str) -> str:
    """The documented obs-websocket v5 authentication string, computed here independently."""
    first = hashlib.sha256(password.encode() + salt.encode()).digest()
    secret = base64.b64encode(first)
    return base64.b64encode(hashlib.sha256(secret + challenge.encode()).digest()).decode()


class FakeOBS:
    """obs-websocket v5 on loopback: Hello, Identify, Identified (or close 4009)."""

    VERSION = "5.5.2"

    def __init__(self, password: str = "") -> None:
        self.password = password
        self.salt = "lM1GncleQOaCu9lT1yeUZhFYnqhsLLP1G5lAGo3ixaI="
        self.challenge = "+IxH4CnCiqpX1rM9scsNynZzbOe4KhDeYcTNS3PDaeY="
        self.identified = 0
        self.refused = 0
        self._server: Any = None

    @property
    def url(self) -> str:
        host, port = next(iter(self._server.sockets)).getsockname()[:2]
        return f"ws://{host}:{port}"

    async def start(self) -> None:
        from websockets.asyncio.server import serve

        self._server = await serve(self._session, "127.0.0.1", 0)

    async def close(self) -> None:
        self._server.close()
        await self._server.wait_closed()

    async def _session(self, ws: Any) -> None:
        hello: dict[str, Any] = {"obsWebSocketVersion": self.VERSION, "rpcVersion": 1}
        if self.password:
            hello["authentication"] = {"challenge": self.challenge, "salt": self.salt}
        from websockets.exceptions import ConnectionClosed

        await ws.send(json.dumps({"op": 0, "d": hello}))
        try:
            identify = json.loads(await ws.recv())
        except ConnectionClosed:
            return  # the client gave up after Hello (no password to offer)
        given = identify.get("d", {}).get("authentication")
        if identify.get("op") != 1:
            await ws.close(4007, "Not identified.")  # NotIdentified
            return
        if self.password and given != expected_auth(self.password, self.salt, self.challenge):
            self.refused += 1
            await ws.close(4009, "Authentication failed.")
            return
        self.identified += 1
        await ws.send(json.dumps({"op": 2, "d": {"negotiatedRpcVersion": 1}}))
        await ws.wait_closed()
