"""Fan-out of numbered updates to every connected overlay and panel socket.

Each client has a bounded queue and its own writer task, so one phone on a weak
connection never slows the broadcast for the others: when its queue is full it
is disconnected, reconnects, and catches up from a fresh snapshot. A message is
serialised to JSON once per publish, not once per client.

The hub also counts the messages queued but not yet written, so the live service
can keep the database writer thread quiet until a broadcast is out (see
:meth:`Hub.drained`): each socket write gives up the GIL for its system call,
and a busy second thread would then hold the loop up to the switch interval per
write, 50 writes after one command.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .protocol import Role

__all__ = ["Client", "Hub", "Role"]

logger = logging.getLogger(__name__)

Send = Callable[[str], Awaitable[None]]
QUEUE_SIZE = 512


@dataclass(eq=False)
class Client:
    role: Role
    send: Send
    queue: asyncio.Queue[str | None] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    dropped: bool = False
    pending: int = 0  # messages offered and not yet written (or thrown away)

    def offer(self, text: str) -> bool:
        try:
            self.queue.put_nowait(text)
        except asyncio.QueueFull:
            self.dropped = True
            return False
        self.pending += 1
        return True


class Hub:
    """Registry of live sockets; ``publish`` never blocks the caller."""

    def __init__(self) -> None:
        self._clients: set[Client] = set()
        self._pending = 0  # the clients' ``pending``, summed
        # Futures of drained() callers, made on the running loop when asked (an app
        # object may serve several loops one after the other: tests).
        self._drain_waiters: list[asyncio.Future[None]] = []

    @property
    def clients(self) -> frozenset[Client]:
        return frozenset(self._clients)

    def count(self, role: Role | None = None) -> int:
        # Also asked from the writer thread: iterate a copy taken in one step.
        return sum(1 for c in tuple(self._clients) if role is None or c.role == role)

    def publish(
        self, message: Mapping[str, Any], *, roles: tuple[Role, ...] = ("overlay", "panel")
    ) -> str:
        text = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
        self.publish_text(text, roles=roles)
        return text

    def publish_text(self, text: str, *, roles: tuple[Role, ...] = ("overlay", "panel")) -> None:
        """:meth:`publish` for a message already encoded (an update another worker sent)."""
        for client in list(self._clients):
            if client.role not in roles:
                continue
            if client.offer(text):
                self._count(1)
            else:
                logger.warning("dropping slow %s client (queue full)", client.role)
                self._close(client)

    async def drained(self, timeout: float) -> bool:
        """Wait until every message published so far is written (or its client gone),
        ``timeout`` at most; a slow phone must not hold anyone up for long."""
        if self._pending == 0:
            return True
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._drain_waiters.append(waiter)
        try:
            await asyncio.wait_for(asyncio.shield(waiter), timeout)
        except TimeoutError:
            return False
        finally:
            if waiter in self._drain_waiters:
                self._drain_waiters.remove(waiter)
        return True

    def _count(self, delta: int) -> None:
        self._pending = max(0, self._pending + delta)
        if self._pending == 0 and self._drain_waiters:
            waiters, self._drain_waiters = self._drain_waiters, []
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)

    def _forget(self, client: Client) -> None:
        """Stop counting what ``client`` has not written: it will never be written."""
        if client.pending:
            self._count(-client.pending)
            client.pending = 0

    def _close(self, client: Client) -> None:
        self._clients.discard(client)
        self._forget(client)
        # A dropped client's backlog is worthless (it resyncs from a snapshot), and
        # its queue must have room for the stop sentinel or its writer never ends.
        while True:
            try:
                client.queue.put_nowait(None)
                return
            except asyncio.QueueFull:
                client.queue.get_nowait()

    async def serve(self, client: Client, first: str) -> None:
        """Register ``client`` and write its queue until it closes; ``first`` goes out first.

        The snapshot is queued in the same step as registration, so no update
        published in between can be missed or arrive before it.
        """
        client.queue.put_nowait(first)
        client.pending += 1
        self._count(1)
        self._clients.add(client)
        try:
            while True:
                text = await client.queue.get()
                if text is None:
                    return
                try:
                    await client.send(text)
                finally:
                    if client.pending:
                        client.pending -= 1
                        self._count(-1)
        finally:
            self._clients.discard(client)
            self._forget(client)

    def detach(self, client: Client) -> None:
        self._close(client)

    def close_all(self) -> None:
        for client in list(self._clients):
            self._close(client)
