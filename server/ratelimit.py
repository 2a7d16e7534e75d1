"""Token buckets keyed by client address, for two limits the server applies.

**Failed authentication.** A wrong or missing helper token (REST 401) or socket
key/token (close code 4401) draws one unit from a small bucket per address
(10 a minute by default). Once the bucket is empty, that address's wrong
attempts are answered 429 (with ``Retry-After``) or close code 4429 until it
refills. A *right* token never draws from this bucket and is never refused by
it: OBS on the laptop and a helper on 127.0.0.1 must keep working while
something else on the same machine hammers the server with a wrong key. So the
bucket does not stop guessing by itself; 96 random bits in a generated token
do that. What it buys is a cheap, visible answer to floods and scanners.

**Ingestion.** Every comment posted to ``POST /api/comments`` or sent over
``/ws/ingest`` draws one unit from a per-address bucket (2,000 a second with a
burst of 4,000 by default: ten times the busiest live we expect). Beyond it,
REST gets 429 with ``Retry-After`` and the socket closes with 4429. Connectors
inside the server feed the order book directly and are not limited.

A bucket is just ``(level, last seen)``; the clock is injectable so tests move
time by hand. Buckets that have refilled to full are forgotten when the table
grows, so requests from many addresses cannot grow it without bound.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.responses import JSONResponse
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import DomainError, error_body
from .protocol import CLOSE_RATE_LIMITED
from .routemarks import RouteMarks, ingests
from .settings import Settings

__all__ = [
    "CLOSE_RATE_LIMITED",
    "IngestLimit",
    "Limits",
    "RateLimited",
    "RateLimiter",
    "client_host",
    "proxy_options",
]

Clock = Callable[[], float]


class RateLimited(DomainError):
    """Too many requests from one address; ``retry_after`` is in whole seconds."""

    status = 429

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = max(1, math.ceil(retry_after))


class RateLimiter:
    """Token buckets refilled at ``rate`` units a second up to ``burst``, one per key."""

    def __init__(
        self, rate: float, burst: float, *, clock: Clock = time.monotonic, max_keys: int = 4096
    ) -> None:
        if rate <= 0 or burst <= 0:
            raise ValueError("rate and burst must be positive")
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}

    def level(self, key: str) -> float:
        """Units available to ``key`` now."""
        now = self.clock()
        level, seen = self._buckets.get(key, (self.burst, now))
        return min(self.burst, level + (now - seen) * self.rate)

    def take(self, key: str, cost: float = 1.0) -> float:
        """Draw ``cost`` units: 0.0 when allowed, else the seconds to wait (nothing drawn).

        A cost above the burst is capped at the burst, so one large batch can still
        pass on a full bucket instead of never.
        """
        cost = min(cost, self.burst)
        level = self.level(key)
        if level < cost:
            return (cost - level) / self.rate
        self._buckets[key] = (level - cost, self.clock())
        if len(self._buckets) > self.max_keys:
            self._prune()
        return 0.0

    def __len__(self) -> int:
        return len(self._buckets)

    def _prune(self) -> None:
        # A full bucket is the same as no bucket; if that is not enough, the
        # longest-idle half goes (they are the nearest to full anyway).
        for key in [k for k in self._buckets if self.level(k) >= self.burst]:
            del self._buckets[key]
        if len(self._buckets) > self.max_keys:
            idle = sorted(self._buckets, key=lambda k: self._buckets[k][1])
            for key in idle[: len(idle) // 2]:
                del self._buckets[key]


@dataclass
class Limits:
    """The app's two limiters, on ``app.state.limits``."""

    auth: RateLimiter
    ingest: RateLimiter

    @classmethod
    def from_settings(cls, settings: Settings, clock: Clock = time.monotonic) -> Limits:
        per_minute = settings.auth_failures_per_minute
        return cls(
            auth=RateLimiter(per_minute / 60.0, per_minute, clock=clock),
            ingest=RateLimiter(settings.ingest_rate, settings.ingest_burst, clock=clock),
        )

    def failed_auth(self, host: str) -> float:
        """Count one failed attempt from ``host``: 0.0, or seconds until it may try again."""
        return self.auth.take(host)


def proxy_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's proxy options: X-Forwarded-For believed only from ``trusted_proxies``.

    The limits here key on the peer address. uvicorn by default takes the address
    from X-Forwarded-For when the peer is 127.0.0.1, so any process on the laptop
    (or a page's script through a local proxy) could claim a fresh address per
    request and never run out of wrong-token attempts. Without a configured proxy
    the header is ignored.
    """
    if not settings.trusted_proxies:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": ",".join(settings.trusted_proxies)}


def client_host(client: Any) -> str:
    """The peer address of a request or socket (``request.client``), or ``"unknown"``."""
    return str(client[0]) if client else "unknown"


def comment_count(body: bytes | str) -> int:
    """How many comments a body or message carries (a list's length, else one)."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return 1  # the route answers it with its own error; it still costs a unit
    return max(1, len(data)) if isinstance(data, list) else 1


class IngestLimit:
    """ASGI middleware: the per-address ingestion limit, on the routes marked with
    :data:`server.routemarks.INGESTS` (``POST /api/comments`` and ``/ws/ingest``).

    It counts comments before the route reads them, so a flood costs no parsing. It
    must sit inside :class:`server.app.BodyLimit`, which bounds what it buffers. Wrong
    tokens on the socket are counted where every socket signs in
    (:func:`server.sockets.accept_socket`).
    """

    def __init__(self, app: ASGIApp, limits: Limits, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.limits = limits
        self.routes = RouteMarks(routes, ingests)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or not self.routes.matches(scope):
            await self.app(scope, receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)
        else:
            await self._websocket(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away before sending its body
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        wait = self.limits.ingest.take(client_host(scope.get("client")), comment_count(body))
        if wait:
            retry = RateLimited("", wait).retry_after
            response = JSONResponse(
                error_body(f"too many comments from this address; retry in {retry} s"),
                status_code=429,
                headers={"Retry-After": str(retry)},
            )
            await response(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        host = client_host(scope.get("client"))
        closed = False

        async def limited() -> Message:
            nonlocal closed
            message = await receive()
            if message["type"] != "websocket.receive" or closed:
                return message
            data = message.get("text") or message.get("bytes") or b""
            if self.limits.ingest.take(host, comment_count(data)):
                closed = True
                await send({"type": "websocket.close", "code": CLOSE_RATE_LIMITED})
                return {"type": "websocket.disconnect", "code": CLOSE_RATE_LIMITED}
            return message

        await self.app(scope, limited, send)
