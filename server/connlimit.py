"""Connection limits below HTTP: a per-address cap, a deadline for requests, the fd soft limit.

Why a wrapper around uvicorn's protocol and not an ASGI middleware: a connection
that sends nothing never reaches the ASGI app, so middleware cannot see, count or
close it, yet it holds a file descriptor. uvicorn's own ``limit_concurrency`` is
one number for the whole server (a neighbour's connections would make helpers get
503s), and its ``timeout_keep_alive`` only starts after a response, so it never
closes a connection that has not finished its first request. :class:`ConnectionGuard`
sees every accepted TCP connection (``connection_made``), refuses those over the
per-address cap at once, and closes connections that start no request within the
deadline. The wrapped protocol is uvicorn's own (httptools or h11); after a
websocket upgrade uvicorn hands the transport to its websocket protocol, and the
cap keeps counting it because the guard counts transports, not protocols.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, ClassVar

__all__ = ["ConnectionGuard", "GuardedProtocol", "raise_fd_limit"]

logger = logging.getLogger(__name__)

# Enough for a LAN server; far above FD_SETSIZE so nothing select()-based is used.
FD_TARGET = 65536
_MACOS_OPEN_MAX = 10240
_WARN_EVERY = 60.0
_PRUNE_EVERY = 1024  # connections admitted between sweeps of closed transports


def raise_fd_limit(target: int = FD_TARGET) -> int | None:
    """Raise the soft open-file limit toward the hard one; the new soft limit, None on Windows."""
    try:
        import resource
    except ImportError:  # Windows has no rlimits; its handle limit is far higher anyway
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = target if hard == resource.RLIM_INFINITY else min(hard, target)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return soft  # never lower a limit that is already high enough
    for value in (wanted, min(wanted, _MACOS_OPEN_MAX)):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (value, hard))
        except (ValueError, OSError):
            continue  # macOS refuses more than OPEN_MAX even with an unlimited hard limit
        logger.info("open-file limit raised from %d to %d", soft, value)
        return value
    logger.warning("could not raise the open-file limit above %d", soft)
    return soft


class ConnectionGuard:
    """Shared state of one server: open transports per client address, and the limits."""

    def __init__(self, per_address: int, request_timeout: float) -> None:
        self.per_address = per_address
        self.request_timeout = request_timeout
        # Transports, not protocols: a websocket upgrade swaps the protocol, and
        # uvloop's transports cannot be weakly referenced, so closed ones are pruned.
        self._open: dict[str, set[asyncio.BaseTransport]] = {}
        self._admitted = 0
        self._refused = 0
        self._warned_at = -_WARN_EVERY

    def admit(self, host: str, transport: asyncio.BaseTransport) -> bool:
        """Count ``transport`` for ``host``, or refuse it when ``host`` is at the cap."""
        self._admitted += 1
        if self._admitted % _PRUNE_EVERY == 0:
            self.forget_closed()
        live = self._open.setdefault(host, set())
        live.difference_update([t for t in live if t.is_closing()])
        if len(live) >= self.per_address:
            self._note_refusal(host)
            return False
        live.add(transport)
        return True

    def release(self, host: str, transport: asyncio.BaseTransport) -> None:
        live = self._open.get(host)
        if live is not None:
            live.discard(transport)
            if not live:
                del self._open[host]

    def open_count(self, host: str) -> int:
        return sum(not t.is_closing() for t in self._open.get(host, ()))

    def forget_closed(self) -> None:
        for host, live in list(self._open.items()):
            live.difference_update([t for t in live if t.is_closing()])
            if not live:
                del self._open[host]

    def protocol_class(self, base: type[asyncio.Protocol]) -> type[GuardedProtocol]:
        """A protocol class for ``uvicorn.run(http=...)`` wrapping ``base`` under this guard."""
        return type("GuardedHTTPProtocol", (GuardedProtocol,), {"guard": self, "base": base})

    def _note_refusal(self, host: str) -> None:
        self._refused += 1
        now = time.monotonic()
        if now - self._warned_at >= _WARN_EVERY:
            logger.warning(
                "refusing connections from %s: %d already open (the cap); %d refused so far",
                host,
                self.per_address,
                self._refused,
            )
            self._warned_at = now


class GuardedProtocol(asyncio.Protocol):
    """uvicorn's HTTP protocol behind the guard; made by :meth:`ConnectionGuard.protocol_class`."""

    guard: ClassVar[ConnectionGuard]
    base: ClassVar[type[asyncio.Protocol]]

    def __init__(self, **kwargs: Any) -> None:
        self._kwargs = kwargs
        self.inner: Any = None
        self.transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._last_cycle: Any = None
        self._host = ""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no subclass
        peer = transport.get_extra_info("peername")
        self._host = str(peer[0]) if isinstance(peer, tuple) and peer else "?"
        if not self.guard.admit(self._host, transport):
            transport.close()
            return
        self.inner = self.base(**self._kwargs)
        self.inner.connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self.inner is not None:
            self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        if self.inner is not None:
            result: bool | None = self.inner.eof_received()
            return result
        return None

    def pause_writing(self) -> None:
        if self.inner is not None:
            self.inner.pause_writing()

    def resume_writing(self) -> None:
        if self.inner is not None:
            self.inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.transport is not None:
            self.guard.release(self._host, self.transport)
        if self.inner is not None:
            self.inner.connection_lost(exc)

    def _arm(self) -> None:
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(self.guard.request_timeout, self._check)

    def _check(self) -> None:
        """Close the connection if no request started since the last check and none is running."""
        self._timer = None
        transport = self.transport
        if transport is None or transport.is_closing() or transport.get_protocol() is not self:
            return  # closed, or upgraded to a websocket (which has its own pings)
        cycle = getattr(self.inner, "cycle", None)
        running = cycle is not None and not cycle.response_complete
        if running or cycle is not self._last_cycle:
            self._last_cycle = cycle
            self._arm()
            return
        logger.info(
            "closing a connection from %s: no request within %g s",
            self._host,
            self.guard.request_timeout,
        )
        transport.close()
