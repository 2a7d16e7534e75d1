"""Several workers on one PostgreSQL database: small pokes through LISTEN/NOTIFY.

Every worker holds the on-air state in memory and writes every numbered update
to ``live_log`` in the command's own transaction (see :mod:`server.live`). The
same transaction sends a NOTIFY on :data:`CHANNEL` carrying only "this shop is
now at rev N" (PostgreSQL delivers it at commit, never before, and never if the
transaction rolls back). A worker that hears a poke for a rev it already has
ignores it; otherwise it reads the missing updates from ``live_log`` (or, when
they are gone, the whole state) and publishes them to its own sockets. A poke
is never replayed and never carries state: a payload is capped at
:data:`MAX_PAYLOAD` bytes, so a 2,000-product catalog import pokes as small as
a pin.

Panel news that is not numbered (``orders_changed``, new comments) goes the
same way, as pokes with a few ids: the other workers tell their own panels,
which fetch the details over REST as they already do.

Payloads are one line of text, fields separated by spaces::

    r <shop> <origin> <rev>          the shop's state is at <rev>
    o <shop> <origin> <id,id,...>    these buyers' order lines changed
    c <shop> <origin> <id,id,...>    these comments are new or changed

``origin`` names the worker process that sent it (random, per process), so a
worker skips its own pokes.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Connection, text

from .connectors.base import backoff_delay
from .dialect import conninfo

__all__ = [
    "APPLICATION_NAME",
    "CHANNEL",
    "DEFAULT_SHOP",
    "MAX_PAYLOAD",
    "Listener",
    "Poke",
    "lock_shop",
    "news_pokes",
    "notify",
    "read_poke",
    "rev_poke",
]

logger = logging.getLogger(__name__)

CHANNEL = "chotdon_live"
APPLICATION_NAME = "chotdon-listen"  # the listeners' connections in pg_stat_activity
# PostgreSQL takes up to 8,000 bytes; pokes stay far below so that NOTIFY's queue
# (8 GB shared by every listener) never fills with state that belongs in tables.
MAX_PAYLOAD = 200
MAX_SHOP = 64
# The only shop until shops land; a shop's id (text) keys its pokes and its lock.
DEFAULT_SHOP = "default"
LIVE_LOCK = 0x6C697665  # "live": the class of the per-shop advisory locks
PokeKind = Literal["rev", "orders", "comments"]
_KINDS: dict[str, PokeKind] = {"r": "rev", "o": "orders", "c": "comments"}
_LETTERS = {kind: letter for letter, kind in _KINDS.items()}


@dataclass(frozen=True, slots=True)
class Poke:
    kind: PokeKind
    shop: str
    origin: str
    rev: int = 0
    ids: tuple[int, ...] = ()


def _head(kind: PokeKind, shop: str, origin: str) -> str:
    if not shop or len(shop) > MAX_SHOP or any(c.isspace() for c in shop):
        raise ValueError(f"a shop id is 1 to {MAX_SHOP} characters without spaces: {shop!r}")
    if not origin or len(origin) > 32 or any(c.isspace() for c in origin):
        raise ValueError(f"a worker origin is 1 to 32 characters without spaces: {origin!r}")
    return f"{_LETTERS[kind]} {shop} {origin} "


def rev_poke(shop: str, origin: str, rev: int) -> str:
    """The payload saying ``shop`` is at ``rev`` (always under :data:`MAX_PAYLOAD`)."""
    payload = _head("rev", shop, origin) + str(int(rev))
    assert len(payload.encode()) <= MAX_PAYLOAD  # head <= 100 bytes, an int <= 20
    return payload


def news_pokes(kind: PokeKind, shop: str, origin: str, ids: Iterable[int]) -> list[str]:
    """Payloads naming ``ids``, as many as it takes to keep each under :data:`MAX_PAYLOAD`."""
    head = _head(kind, shop, origin)
    payloads: list[str] = []
    current = ""
    for number in sorted({int(i) for i in ids}):
        item = str(number)
        candidate = f"{current},{item}" if current else item
        if len((head + candidate).encode()) > MAX_PAYLOAD:
            payloads.append(head + current)
            candidate = item
        current = candidate
    if current:
        payloads.append(head + current)
    return payloads


def read_poke(payload: str) -> Poke | None:
    """A payload read back; None for anything this version does not understand."""
    parts = payload.split(" ")
    if len(payload.encode()) > MAX_PAYLOAD or len(parts) != 4 or parts[0] not in _KINDS:
        return None
    kind = _KINDS[parts[0]]
    try:
        if kind == "rev":
            return Poke(kind, parts[1], parts[2], rev=int(parts[3]))
        return Poke(kind, parts[1], parts[2], ids=tuple(int(i) for i in parts[3].split(",")))
    except ValueError:
        return None


def notify(conn: Connection, payloads: Iterable[str]) -> None:
    """Send ``payloads`` when ``conn``'s transaction commits (PostgreSQL only)."""
    for payload in payloads:
        conn.execute(text("SELECT pg_notify(:c, :p)"), {"c": CHANNEL, "p": payload})


def lock_shop(conn: Connection, shop: str) -> None:
    """Take ``shop``'s turn until ``conn``'s transaction ends: the commands of every
    worker on one shop run one at a time (``lock_timeout`` bounds the wait)."""
    key = zlib.crc32(shop.encode())
    key = key - (1 << 32) if key >= 1 << 31 else key  # int4, as the two-key form takes
    conn.execute(text("SELECT pg_advisory_xact_lock(:a, :b)"), {"a": LIVE_LOCK, "b": key})


class Listener:
    """One LISTEN connection per worker, on the event loop; reconnects with backoff.

    Every shop the worker has opened subscribes with its slug; a poke goes to its
    shop's ``on_poke`` only, and a poke for a shop this worker has not opened is
    dropped (opening it later reads its state from the database). So a worker holds
    one connection for the fan-out however many shops it serves.

    A shop's ``on_connect`` runs when it subscribes while connected and after every
    (re)connection: pokes sent while nobody listened for it are lost, so the worker
    checks the database for what it missed.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.connected = asyncio.Event()
        self._subscribers: dict[str, tuple[Callable[[Poke], None], Callable[[], None]]] = {}
        self._failures = 0

    @property
    def shops(self) -> list[str]:
        """The slugs of the shops subscribed."""
        return list(self._subscribers)

    def subscribe(
        self, shop: str, on_poke: Callable[[Poke], None], on_connect: Callable[[], None]
    ) -> None:
        """Send ``shop``'s pokes to ``on_poke`` (replacing an earlier subscription)."""
        self._subscribers[shop] = (on_poke, on_connect)
        if self.connected.is_set():
            on_connect()  # pokes before now went nowhere: look in the database

    def unsubscribe(self, shop: str) -> None:
        self._subscribers.pop(shop, None)

    def dispatch(self, payload: str) -> None:
        """Hand one payload to its shop's subscriber (unreadable or unknown: dropped)."""
        poke = read_poke(payload)
        if poke is None:
            logger.debug("ignored a poke this version does not read: %r", payload)
            return
        subscriber = self._subscribers.get(poke.shop)
        if subscriber is None:
            return  # a shop this worker has not opened
        try:
            subscriber[0](poke)
        except Exception:  # one bad poke must not stop the fan-out
            logger.exception("poke %r failed", payload)

    async def run(self) -> None:
        import psycopg

        while True:
            try:
                await self._listen(psycopg)
            except (psycopg.Error, OSError) as exc:
                self.connected.clear()
                self._failures += 1
                delay = backoff_delay(self._failures, 0.2, 5.0)
                logger.warning(
                    "poke listener lost its connection (%s); again in %.1f s", exc, delay
                )
                await asyncio.sleep(delay)

    async def _listen(self, psycopg: Any) -> None:
        conn = await psycopg.AsyncConnection.connect(
            conninfo(self.url), autocommit=True, application_name=APPLICATION_NAME
        )
        async with conn:
            await conn.execute(f"LISTEN {CHANNEL}")
            self.connected.set()
            self._failures = 0
            for shop, (_, on_connect) in list(self._subscribers.items()):
                try:
                    on_connect()
                except Exception:
                    logger.exception("shop %s could not check for missed updates", shop)
            async for note in conn.notifies():
                self.dispatch(note.payload)
