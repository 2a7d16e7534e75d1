"""The live show's state, owned by the server (as in NodeCG: panels send commands,
graphics only draw).

Commands are serialised by one asyncio lock. Inside it, the database part (the
change, its event log entries and the persisted state) runs in the one writer
thread (:class:`server.db.Writer`), so the event loop never waits on SQLite;
once it has committed, the in-memory :class:`LiveState` moves and one numbered
update goes to every socket, both on the loop without awaiting. Snapshot
readers therefore never see half a change, and ``rev`` has no gaps. Clients
hold a snapshot plus updates with consecutive ``rev`` numbers; one that sees a
gap asks for a new snapshot.

On PostgreSQL several workers (processes) may hold the same shop's state, so
the database decides the order (:attr:`LiveService.shared`). Each command's
transaction first takes the shop's advisory lock (:func:`server.fanout.lock_shop`)
and compares the stored ``rev`` with its own: a worker that is behind applies the
updates it missed (read from ``live_log``, applied on the loop while the lock is
held) before the command reads the state, so revisions never collide and no
change is lost. The update is written to
``live_log`` and a small poke goes out with the commit; the other workers read
the update and publish it to their own sockets (:meth:`LiveService.poked`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import json
import logging
import secrets
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, TypeVar, cast

from sqlalchemy import Connection, Engine, delete, insert, select, update

from chotdon.codes import normalize_code

from . import catalog, fanout, protocol
from .catalog import Product, ProductPatch
from .db import (
    BUSY_TIMEOUT_S,
    QUIET_MAX_S,
    DatabaseBusy,
    Writer,
    kv,
    live_log,
    live_sessions,
    utcnow_iso,
)
from .dialect import is_postgres, upsert
from .errors import InvalidInput, NotFound
from .events import append_events
from .hub import Hub

__all__ = ["ELEMENTS", "Change", "CommandLock", "LiveService", "LiveState", "product_view"]

logger = logging.getLogger(__name__)
T = TypeVar("T")

ELEMENTS: dict[str, bool] = {
    "card": True,
    "countdown": True,
    "ticker": True,
    "comment": True,
    "qr": False,
    "sales": False,
}
TICKER_SIZE = 6
_STATE_KEY = "live_state"
# A command queued behind others gives up (503) rather than wait without end
# while the database is held by another program.
LOCK_WAIT_S = 2 * BUSY_TIMEOUT_S
# Several workers: how many updates live_log keeps per shop (a worker further behind
# reloads the whole state), pruned every PRUNE_EVERY revisions; how many reads a
# catch-up makes at most before it waits for the next poke.
LOG_KEEP = 1000
PRUNE_EVERY = 100
MAX_TURNS = 20
Events = list[tuple[str, dict[str, Any]]]
ProductChanges = dict[str, dict[str, Any] | None]
_STORED = {"stored": True}  # survives a restart (kv "live_state")
_SETTABLE = {"settable": True}  # a command may set it (``Change.set_``)
_BOTH = {**_STORED, **_SETTABLE}


@dataclass
class LiveState:
    """What is on air. The one definition of its fields: pages get :meth:`to_json`,
    the database keeps :meth:`to_stored`, and :meth:`from_stored` brings it back."""

    session: dict[str, Any] | None = field(default=None, metadata=_SETTABLE)
    pinned: str | None = field(default=None, metadata=_BOTH)
    products: dict[str, dict[str, Any]] = field(default_factory=dict)
    countdown: dict[str, Any] | None = field(default=None, metadata=_BOTH)
    elements: dict[str, bool] = field(default_factory=lambda: dict(ELEMENTS), metadata=_BOTH)
    shown_comment: dict[str, Any] | None = field(default=None, metadata=_BOTH)
    ticker: list[dict[str, Any]] = field(default_factory=list, metadata=_BOTH)
    sold: dict[str, float] = field(default_factory=dict, metadata=_BOTH)
    rev: int = field(default=0, metadata=_STORED)
    # Settings the pages need (heartbeat, payment QR): sent, never stored.
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def settable(cls) -> frozenset[str]:
        return frozenset(f.name for f in dataclasses.fields(cls) if f.metadata.get("settable"))

    def to_json(self) -> dict[str, Any]:
        """The ``state`` of a snapshot: every field but ``rev`` and ``extra``, plus the extras."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        del data["rev"], data["extra"]
        return {**data, **self.extra}

    def to_stored(self, **changes: Any) -> dict[str, Any]:
        """What is persisted (with ``changes`` applied): the fields marked stored."""
        return {
            f.name: changes.get(f.name, getattr(self, f.name))
            for f in dataclasses.fields(self)
            if f.metadata.get("stored")
        }

    @classmethod
    def from_stored(
        cls,
        stored: dict[str, Any],
        *,
        session: dict[str, Any] | None,
        products: dict[str, dict[str, Any]],
    ) -> LiveState:
        """Restore a stored state; a pinned product deleted since is no longer pinned."""
        pinned = stored.get("pinned")
        return cls(
            session=session,
            pinned=pinned if pinned in products else None,
            products=products,
            countdown=stored.get("countdown"),
            elements={**ELEMENTS, **stored.get("elements", {})},
            shown_comment=stored.get("shown_comment"),
            ticker=list(stored.get("ticker", [])),
            sold=dict(stored.get("sold", {})),
            rev=int(stored.get("rev", 0)),
        )

    def move(self, set_: dict[str, Any], products: ProductChanges) -> None:
        """Apply a committed change (in memory, on the loop) and count a revision."""
        self.rev += 1
        for key, value in set_.items():
            setattr(self, key, value)
        for code, view in products.items():
            if view is None:
                self.products.pop(code, None)
            else:
                self.products[code] = view


@dataclass
class Change:
    """What a command changes: top-level state keys, product rows, event log entries."""

    set_: dict[str, Any] = field(default_factory=dict)
    products: ProductChanges = field(default_factory=dict)
    events: Events = field(default_factory=list)

    def __post_init__(self) -> None:
        unknown = set(self.set_) - LiveState.settable()
        if unknown:
            raise ValueError(f"not a settable live state field: {', '.join(sorted(unknown))}")

    def merge(self, other: Change) -> None:
        self.set_.update(other.set_)
        self.products.update(other.products)
        self.events.extend(other.events)

    @property
    def visible(self) -> bool:
        return bool(self.set_ or self.products)


# Work done inside the command's transaction (in the writer thread, with the
# command lock held); what it returns joins the change.
DbWork = Callable[[Connection], "Change | None"]


def product_view(product: Product, media_url: str = "/media/") -> dict[str, Any]:
    """What pages receive for a product (image path resolved to a URL under the
    shop's ``media_url``)."""
    data = product.model_dump()
    data["image_url"] = f"{media_url}{product.image}" if product.image else None
    return data


class LiveService:
    """Holds the on-air state and applies helpers' commands to it."""

    def __init__(
        self,
        engine: Engine,
        hub: Hub,
        shop: str = fanout.DEFAULT_SHOP,
        *,
        media_url: str = "/media/",
    ) -> None:
        self.engine = engine
        self.hub = hub
        self.media_url = media_url  # where the shop's product images are served
        self.writer = Writer(engine)
        self.current = LiveState()
        self.shop = shop
        # PostgreSQL: other workers (or servers) may change this shop's state too.
        self.shared = is_postgres(engine)
        self.origin = secrets.token_hex(6)  # names this process in its pokes and log rows
        self.pokes_ignored = 0  # pokes for a rev this worker already had
        self._lock = CommandLock()
        self._quiet: asyncio.Task[None] | None = None
        self._wanted = 0  # the highest rev another worker is known to have committed
        self._catching: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None  # set by the first command

    # Read-only views of the current state, for routes and the order book.
    @property
    def rev(self) -> int:
        return self.current.rev

    @property
    def session(self) -> dict[str, Any] | None:
        return self.current.session

    @property
    def pinned(self) -> str | None:
        return self.current.pinned

    @property
    def products(self) -> dict[str, dict[str, Any]]:
        return self.current.products

    @property
    def elements(self) -> dict[str, bool]:
        return self.current.elements

    @property
    def ticker(self) -> list[dict[str, Any]]:
        return self.current.ticker

    @property
    def sold(self) -> dict[str, float]:
        return self.current.sold

    @property
    def extra(self) -> dict[str, Any]:
        return self.current.extra

    # -- loading and snapshots -------------------------------------------------

    def load(self) -> None:
        """Restore exactly what was on air before a restart (at start-up, before serving)."""
        with self.engine.connect() as conn:
            self._replace(_read_state(conn, self.media_url))

    def _replace(self, state: LiveState) -> None:
        extra = self.current.extra
        self.current = state
        self.current.extra.update(extra)

    def state(self) -> dict[str, Any]:
        return self.current.to_json()

    def snapshot(self) -> protocol.Snapshot:
        return protocol.snapshot(self.rev, utcnow_iso(), self.state())

    # -- the one way state changes ---------------------------------------------

    async def serial(self, body: Callable[[], Awaitable[T]], *, urgent: bool = True) -> T:
        """Run ``body`` with the command lock held, to the end even if the caller goes.

        A caller cancelled half-way (a client that hangs up) must not leave a
        transaction committed but its in-memory change not applied, so the body
        runs as its own task. Waiting for the lock is bounded: a database held
        by another program answers 503 rather than a queue without end. Helpers'
        commands are ``urgent``: they go before queued comment batches.
        """

        async def locked() -> T:
            if self._lock.locked():  # wait_for costs a task: only when there is a queue
                try:
                    await asyncio.wait_for(self._lock.acquire(urgent), LOCK_WAIT_S)
                except TimeoutError:
                    raise DatabaseBusy() from None
            else:
                await self._lock.acquire(urgent)
            try:
                return await body()
            finally:
                self._lock.release()

        return await asyncio.shield(asyncio.ensure_future(locked()))

    async def apply(
        self,
        *,
        set_: dict[str, Any] | None = None,
        products: ProductChanges | None = None,
        events: Iterable[tuple[str, dict[str, Any]]] = (),
        work: DbWork | None = None,
        urgent: bool = True,
    ) -> dict[str, Any] | None:
        """Commit ``work``, the events and the new state together, then broadcast.

        When nothing the pages draw has changed (say, a batch of comments with no
        order), the events are still logged but no revision is spent and nothing
        is broadcast. Returns the update sent, or None. ``urgent=False`` (comment
        batches) lets waiting commands go first.
        """
        change = Change(dict(set_ or {}), dict(products or {}), list(events))
        return await self.serial(lambda: self.apply_locked(change, work), urgent=urgent)

    async def apply_locked(
        self, change: Change, work: DbWork | None = None
    ) -> dict[str, Any] | None:
        """:meth:`apply` for a caller that already holds the lock (inside :meth:`serial`)."""
        self._loop = asyncio.get_running_loop()
        now = utcnow_iso()
        sent = await self.writer.run(partial(self._commit, change, work, now))
        return self._publish(change, sent)

    def _commit(self, change: Change, work: DbWork | None, now: str) -> _Sent | None:
        """The database half of a command, in the writer thread."""
        with self.engine.begin() as conn:
            if self.shared:
                fanout.lock_shop(conn, self.shop)
                if (behind := self._check_turn(conn)) is not None:
                    self._absorb_from_writer(behind)  # before work reads the state
            if work is not None and (more := work(conn)) is not None:
                change.merge(more)
            session = change.set_.get("session", self.session)
            if session is not None:
                append_events(conn, session["id"], change.events, t=now)
            if not change.visible:
                return None
            rev = self.rev + 1
            message = protocol.update(rev, now, change.set_, change.products)
            sent = _Sent(cast(dict[str, Any], message), protocol.encode(message))
            _put_kv(conn, _STATE_KEY, self.current.to_stored(**change.set_, rev=rev))
            if self.shared:
                self._log(conn, rev, sent.text)
            return sent

    def _publish(self, change: Change, sent: _Sent | None) -> dict[str, Any] | None:
        """The in-memory half, on the loop without awaiting: state moves, one update goes out."""
        if sent is None:
            return None
        self.current.move(change.set_, change.products)
        self.writer.pause()  # no database job starts while the update is being written
        self.hub.publish_text(sent.text)
        if self._quiet is None or self._quiet.done():
            self._quiet = asyncio.ensure_future(self._resume_when_sent())
        if self._wanted > self.rev:  # a poke waited for this worker's own update
            self._start_catch_up()
        return sent.message  # commands hand it back as plain data

    # -- several workers (PostgreSQL) ----------------------------------------------

    def _check_turn(self, conn: Connection) -> _CatchUp | None:
        """With the shop's lock held: None when this worker has the stored rev, else
        what it missed."""
        stored = _stored_rev(conn)
        return (
            None
            if stored == self.rev
            else _read_since(conn, self.shop, self.rev, stored, self.media_url)
        )

    def _absorb_from_writer(self, catch_up: _CatchUp) -> None:
        """Catch up from the writer thread with the shop's lock held: the state moves on
        the loop (which owns it and the sockets) while this transaction waits, so the
        worker that was behind runs its command now instead of giving the lock away."""
        done: Future[_Absorbed] = Future()

        def absorb() -> None:
            try:
                done.set_result(self._absorb(catch_up, own_pending=False))
            except BaseException as exc:  # handed to the writer thread
                done.set_exception(exc)

        if self._loop is None:  # apply_locked sets it before the writer runs
            raise RuntimeError("no event loop to catch up on")
        self._loop.call_soon_threadsafe(absorb)
        done.result(timeout=LOCK_WAIT_S)

    def _log(self, conn: Connection, rev: int, text: str) -> None:
        """Keep the update for the other workers and poke them (both at commit)."""
        conn.execute(
            insert(live_log).values(shop=self.shop, rev=rev, origin=self.origin, message=text)
        )
        if rev % PRUNE_EVERY == 0:
            old = (live_log.c.shop == self.shop) & (live_log.c.rev <= rev - LOG_KEEP)
            conn.execute(delete(live_log).where(old))
        fanout.notify(conn, [fanout.rev_poke(self.shop, self.origin, rev)])

    def news(self, conn: Connection, kind: fanout.PokeKind, ids: Iterable[int]) -> None:
        """Tell the other workers' panels (at ``conn``'s commit) about changed orders or
        comments; nothing on SQLite, where this worker is the only one."""
        if self.shared:
            fanout.notify(conn, fanout.news_pokes(kind, self.shop, self.origin, ids))

    def poked(self, rev: int, origin: str) -> None:
        """Another worker committed ``rev`` (on the loop): fetch and publish what this
        worker lacks, unless it has it already."""
        if origin == self.origin or rev <= self.rev:
            self.pokes_ignored += 1
            return
        self._wanted = max(self._wanted, rev)
        self._start_catch_up()

    def check(self) -> None:
        """Look in the database for updates this worker may have missed (the poke
        listener (re)connected: pokes sent while it was away are gone)."""
        self._wanted = max(self._wanted, self.rev + 1)
        self._start_catch_up()

    async def stop_catching_up(self) -> None:
        """At shutdown, once no poke can come: let a catch-up in progress end (a few
        short reads at most), so its connection is back in the pool before the engine
        is disposed; a cancelled task would leave its read running in its thread."""
        if self._catching is not None:
            await asyncio.gather(self._catching, return_exceptions=True)

    def _start_catch_up(self) -> None:
        if self._catching is None or self._catching.done():
            self._catching = asyncio.create_task(self._catch_up(), name="live-catch-up")

    async def _catch_up(self) -> None:
        try:
            for _ in range(MAX_TURNS):
                if self._wanted <= self.rev:
                    return
                wanted, start = self._wanted, self.rev
                catch_up = await self.writer.read(partial(_read_since, shop=self.shop, rev=start))
                outcome = self._absorb(catch_up, own_pending=self._lock.locked())
                if outcome is _Absorbed.OWN:
                    return  # this worker's own command publishes it; _publish calls again
                if self.rev == start and catch_up.stored <= self.rev and wanted == self._wanted:
                    self._wanted = self.rev  # nothing newer stored: a stale or stray poke
        except Exception:  # the next poke or command tries again
            logger.exception("could not catch up with the other workers")

    def _absorb(self, catch_up: _CatchUp, *, own_pending: bool) -> _Absorbed:
        """Apply what another worker committed, on the loop without awaiting, and send
        it to this worker's sockets: the very updates it sent, or a new snapshot."""
        if catch_up.state is not None:
            if catch_up.state.rev > self.rev:  # never back: a read may race this worker's own
                self._replace(catch_up.state)
                self.hub.publish(self.snapshot())
            return _Absorbed.DONE
        for rev, origin, text in catch_up.updates:
            if rev <= self.rev:
                continue  # already here (its own command, or an earlier catch-up)
            if rev != self.rev + 1:
                return _Absorbed.GAP  # cannot happen: _read_since reads from self.rev on
            if origin == self.origin and own_pending:
                return _Absorbed.OWN
            message = json.loads(text)
            self.current.move(message["set"], message["products"])
            self.hub.publish_text(text)
        return _Absorbed.DONE

    async def _resume_when_sent(self) -> None:
        try:
            await self.hub.drained(QUIET_MAX_S)
        finally:
            self.writer.resume()

    # -- commands ----------------------------------------------------------------

    async def start_session(self, title: str = "") -> dict[str, Any]:
        return await self.serial(lambda: self._start_session(title[:200]))

    async def _start_session(self, title: str) -> dict[str, Any]:
        if self.session is not None:
            return self.session
        now = utcnow_iso()
        box: list[dict[str, Any]] = []

        def work(conn: Connection) -> Change | None:
            if self.session is not None:  # another worker started one first
                box.append(self.session)
                return None
            session_id = conn.execute(
                insert(live_sessions).values(title=title, started_at=now)
            ).inserted_primary_key[0]  # type: ignore[index]
            box.append({"id": session_id, "title": title, "started_at": now, "stopped_at": None})
            started = ("session_started", {"title": title})
            return Change(set_={"session": box[0]}, events=[started])

        await self.apply_locked(Change(), work)
        if self.pinned:  # what is already on screen belongs to the new session's log
            await self.apply_locked(Change(events=[("product_pinned", {"code": self.pinned})]))
        return box[0]

    async def stop_session(self) -> dict[str, Any] | None:
        return await self.serial(self._stop_session)

    async def _stop_session(self) -> dict[str, Any] | None:
        session = self.session
        if session is None:
            return None

        def work(conn: Connection) -> None:
            if self.session is None or self.session["id"] != session["id"]:
                return  # another worker stopped it first
            conn.execute(
                update(live_sessions)
                .where(live_sessions.c.id == session["id"])
                .values(stopped_at=utcnow_iso())
            )

        await self.apply_locked(Change(events=[("session_stopped", {})]), work)
        await self.apply_locked(Change(set_={"session": None}))
        return session

    async def pin(self, code: str) -> dict[str, Any] | None:
        code = await self._known_now(code)
        return await self.apply(set_={"pinned": code}, events=[("product_pinned", {"code": code})])

    async def unpin(self) -> dict[str, Any] | None:
        def work(_conn: Connection) -> Change | None:
            if self.pinned is None:
                return None
            event = ("product_unpinned", {"code": self.pinned})
            return Change(set_={"pinned": None}, events=[event])

        return await self.apply(work=work)

    async def change_price(
        self, code: str, price: int | None, sale_price: int | None, clear_sale: bool = False
    ) -> dict[str, Any] | None:
        code = await self._known_now(code)
        patch = ProductPatch(price=price, sale_price=sale_price, clear_sale_price=clear_sale)

        def work(conn: Connection) -> Change:
            product = catalog.patch_product(conn, code, patch)
            data = {"code": code, "price": product.price, "sale_price": product.sale_price}
            return Change(
                products={code: product_view(product, self.media_url)},
                events=[("price_changed", data)],
            )

        return await self.apply(work=work)

    async def change_stock(self, code: str, stock: int) -> dict[str, Any] | None:
        code = await self._known_now(code)

        def work(conn: Connection) -> Change:
            product = catalog.patch_product(conn, code, ProductPatch(stock=stock))
            event = ("stock_changed", {"code": code, "stock": product.stock})
            return Change(products={code: product_view(product, self.media_url)}, events=[event])

        return await self.apply(work=work)

    async def start_countdown(self, seconds: int, label: str = "") -> dict[str, Any] | None:
        if not 1 <= seconds <= 24 * 3600:
            raise InvalidInput("a countdown lasts 1 second to 24 hours", field="seconds")
        ends = datetime.now(UTC) + timedelta(seconds=seconds)
        countdown = {"ends_at": utcnow_iso(ends), "seconds": seconds, "label": label[:60]}
        return await self.apply(
            set_={"countdown": countdown},
            events=[("countdown_started", {"ends_at": countdown["ends_at"], "seconds": seconds})],
        )

    async def stop_countdown(self) -> dict[str, Any] | None:
        return await self.apply(set_={"countdown": None}, events=[("countdown_stopped", {})])

    async def set_element(self, element: str, visible: bool) -> dict[str, Any] | None:
        if element not in ELEMENTS:
            raise InvalidInput(
                f"unknown element {element!r} (one of {', '.join(ELEMENTS)})", field="element"
            )
        kind = "element_shown" if visible else "element_hidden"

        def work(_conn: Connection) -> Change:  # under the lock: no other toggle is lost
            elements = {**self.elements, element: visible}
            return Change(set_={"elements": elements}, events=[(kind, {"element": element})])

        return await self.apply(work=work)

    async def refresh_products(self, codes: Iterable[str] | None = None) -> dict[str, Any] | None:
        """Publish catalog rows changed outside a live command (CRUD, import, orders)."""
        wanted = None if codes is None else set(codes)
        return await self.apply(work=lambda conn: self._product_changes(conn, wanted))

    async def edit_catalog(self, edit: Callable[[Connection], T]) -> T:
        """Run a catalog edit in the writer thread and publish what it changed, in one
        transaction (so the overlay never shows a row the database does not have)."""
        box: list[T] = []

        def work(conn: Connection) -> Change:
            box.append(edit(conn))
            return self._product_changes(conn, None)

        await self.apply(work=work)
        return box[0]

    def _product_changes(self, conn: Connection, codes: set[str] | None) -> Change:
        current = {p.code: product_view(p, self.media_url) for p in catalog.list_products(conn)}
        wanted = set(current) | set(self.products) if codes is None else codes
        changes = {
            code: current.get(code)
            for code in wanted
            if current.get(code) != self.products.get(code)
        }
        set_: dict[str, Any] = {}
        if self.pinned is not None and self.pinned not in current:
            set_["pinned"] = None
        return Change(set_=set_, products=changes)

    # -- helpers -------------------------------------------------------------------

    async def _known_now(self, code: str) -> str:
        """:meth:`_known`, after catching up when the code is unknown here and another
        worker may have just added it (a product made through one, pinned through another)."""
        if self.shared and normalize_code(code) not in self.products:
            catch_up = await self.writer.read(partial(_read_since, shop=self.shop, rev=self.rev))
            self._absorb(catch_up, own_pending=self._lock.locked())
        return self._known(code)

    def _known(self, code: str) -> str:
        normalized = normalize_code(code)
        if normalized not in self.products:
            raise NotFound(f"no product with code {normalized}", field="code")
        return normalized


class CommandLock:
    """An asyncio lock with two queues: urgent waiters (helpers' commands) get it
    before the others (comment batches), each queue in arrival order.

    ``release`` hands the lock straight to the next waiter, so nobody can slip in
    between; a waiter cancelled after it was handed the lock passes it on.
    """

    def __init__(self) -> None:
        self._held = False
        self._waiters: tuple[deque[asyncio.Future[None]], ...] = (deque(), deque())

    def locked(self) -> bool:
        return self._held

    async def acquire(self, urgent: bool = True) -> None:
        if not self._held:
            self._held = True
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue = self._waiters[0 if urgent else 1]
        queue.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # handed over just as we gave up: pass it on
            else:
                queue.remove(waiter)
            raise

    def release(self) -> None:
        for queue in self._waiters:
            while queue:
                waiter = queue.popleft()
                if not waiter.done():
                    waiter.set_result(None)  # still held: now by that waiter
                    return
        self._held = False


@dataclass(frozen=True, slots=True)
class _Sent:
    """A committed update: as data (for the caller) and as the text the sockets get."""

    message: dict[str, Any]
    text: str


@dataclass(frozen=True, slots=True)
class _CatchUp:
    """What a worker that is behind lacks: the stored rev, and the updates after its
    own (rev, origin, text), or the whole state when the log no longer has them."""

    stored: int
    updates: list[tuple[int, str, str]] = field(default_factory=list)
    state: LiveState | None = None


class _Absorbed(enum.Enum):
    DONE = "done"
    GAP = "gap"
    OWN = "own"  # stopped at this worker's own update, which its command publishes


def _read_state(conn: Connection, media_url: str) -> LiveState:
    raw = conn.scalar(select(kv.c.value).where(kv.c.key == _STATE_KEY))
    products = {p.code: product_view(p, media_url) for p in catalog.list_products(conn)}
    row = conn.execute(
        select(live_sessions)
        .where(live_sessions.c.stopped_at.is_(None))
        .order_by(live_sessions.c.id.desc())
    ).first()
    stored: dict[str, Any] = json.loads(raw) if raw else {}
    session = dict(row._mapping) if row else None
    return LiveState.from_stored(stored, session=session, products=products)


def _stored_rev(conn: Connection) -> int:
    raw = conn.scalar(select(kv.c.value).where(kv.c.key == _STATE_KEY))
    return int(json.loads(raw).get("rev", 0)) if raw else 0


def _read_since(
    conn: Connection,
    shop: str,
    rev: int,
    stored: int | None = None,
    media_url: str = "/media/",
) -> _CatchUp:
    """The updates after ``rev`` (up to the stored rev when it is given), or the whole
    state when the log lacks one of them (pruned, or written before the log existed).

    Poked (``stored`` not given), one query usually answers: the log rows after
    ``rev``, consecutive from ``rev + 1``; the stored rev is read only when there
    are none, or they do not follow on.
    """
    if stored == rev:
        return _CatchUp(rev)
    rows = conn.execute(
        select(live_log.c.rev, live_log.c.origin, live_log.c.message)
        .where(live_log.c.shop == shop, live_log.c.rev > rev)
        .order_by(live_log.c.rev)
        .limit(LOG_KEEP)
    ).all()
    updates = [(int(r.rev), str(r.origin), str(r.message)) for r in rows]
    follows = [u[0] for u in updates] == list(range(rev + 1, rev + 1 + len(updates)))
    if stored is None and updates and follows:
        return _CatchUp(updates[-1][0], updates)
    if stored is None:
        stored = _stored_rev(conn)
        if stored == rev:
            return _CatchUp(rev)
    if stored < rev or not follows or len(updates) < stored - rev:
        return _CatchUp(stored, state=_read_state(conn, media_url))
    return _CatchUp(stored, updates)


def _put_kv(conn: Connection, key: str, value: Any) -> None:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    stmt = upsert(conn, kv).values(key=key, value=text)
    conn.execute(stmt.on_conflict_do_update(index_elements=[kv.c.key], set_={"value": text}))
