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
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast

from sqlalchemy import Connection, Engine, insert, select, update

from chotdon.codes import normalize_code

from . import catalog, protocol
from .catalog import Product, ProductPatch
from .db import BUSY_TIMEOUT_S, DatabaseBusy, Writer, kv, live_sessions, utcnow_iso
from .errors import InvalidInput, NotFound
from .events import append_events
from .hub import Hub

__all__ = ["ELEMENTS", "Change", "LiveService", "LiveState", "product_view"]

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

    def __init__(self, engine: Engine, hub: Hub, *, media_url: str = "/media/") -> None:
        self.engine = engine
        self.hub = hub
        self.media_url = media_url  # where the shop's product images are served
        self.writer = Writer(engine)
        self.current = LiveState()
        self._lock = asyncio.Lock()

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
            raw = conn.scalar(select(kv.c.value).where(kv.c.key == _STATE_KEY))
            products = {
                p.code: product_view(p, self.media_url) for p in catalog.list_products(conn)
            }
            row = conn.execute(
                select(live_sessions)
                .where(live_sessions.c.stopped_at.is_(None))
                .order_by(live_sessions.c.id.desc())
            ).first()
        stored: dict[str, Any] = json.loads(raw) if raw else {}
        session = dict(row._mapping) if row else None
        extra = self.current.extra
        self.current = LiveState.from_stored(stored, session=session, products=products)
        self.current.extra.update(extra)

    def state(self) -> dict[str, Any]:
        return self.current.to_json()

    def snapshot(self) -> protocol.Snapshot:
        return protocol.snapshot(self.rev, utcnow_iso(), self.state())

    # -- the one way state changes ---------------------------------------------

    async def serial(self, body: Callable[[], Awaitable[T]]) -> T:
        """Run ``body`` with the command lock held, to the end even if the caller goes.

        A caller cancelled half-way (a client that hangs up) must not leave a
        transaction committed but its in-memory change not applied, so the body
        runs as its own task. Waiting for the lock is bounded: a database held
        by another program answers 503 rather than a queue without end.
        """

        async def locked() -> T:
            if self._lock.locked():  # wait_for costs a task: only when there is a queue
                try:
                    await asyncio.wait_for(self._lock.acquire(), LOCK_WAIT_S)
                except TimeoutError:
                    raise DatabaseBusy() from None
            else:
                await self._lock.acquire()
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
    ) -> dict[str, Any] | None:
        """Commit ``work``, the events and the new state together, then broadcast.

        When nothing the pages draw has changed (say, a batch of comments with no
        order), the events are still logged but no revision is spent and nothing
        is broadcast. Returns the update sent, or None.
        """
        change = Change(dict(set_ or {}), dict(products or {}), list(events))
        return await self.serial(lambda: self.apply_locked(change, work))

    async def apply_locked(
        self, change: Change, work: DbWork | None = None
    ) -> dict[str, Any] | None:
        """:meth:`apply` for a caller that already holds the lock (inside :meth:`serial`)."""
        now = utcnow_iso()
        await self.writer.run(lambda: self._commit(change, work, now))
        return self._publish(change, now)

    def _commit(self, change: Change, work: DbWork | None, now: str) -> None:
        """The database half of a command, in the writer thread."""
        with self.engine.begin() as conn:
            if work is not None and (more := work(conn)) is not None:
                change.merge(more)
            session = change.set_.get("session", self.session)
            if session is not None:
                append_events(conn, session["id"], change.events, t=now)
            if change.visible:
                stored = self.current.to_stored(**change.set_, rev=self.rev + 1)
                _put_kv(conn, _STATE_KEY, stored)

    def _publish(self, change: Change, now: str) -> dict[str, Any] | None:
        """The in-memory half, on the loop without awaiting: state moves, one update goes out."""
        if not change.visible:
            return None
        self.current.move(change.set_, change.products)
        message = protocol.update(self.rev, now, change.set_, change.products)
        self.hub.publish(message)
        return cast(dict[str, Any], message)  # commands hand it back as plain data

    # -- commands ----------------------------------------------------------------

    async def start_session(self, title: str = "") -> dict[str, Any]:
        return await self.serial(lambda: self._start_session(title[:200]))

    async def _start_session(self, title: str) -> dict[str, Any]:
        if self.session is not None:
            return self.session
        now = utcnow_iso()
        box: list[dict[str, Any]] = []

        def work(conn: Connection) -> Change:
            session_id = conn.execute(
                insert(live_sessions).values(title=title, started_at=now)
            ).inserted_primary_key[0]  # type: ignore[index]
            box.append({"id": session_id, "title": title, "started_at": now, "stopped_at": None})
            return Change(set_={"session": box[0]})

        opened = Change(events=[("session_started", {"title": title})])
        await self.apply_locked(opened, work)
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
            conn.execute(
                update(live_sessions)
                .where(live_sessions.c.id == session["id"])
                .values(stopped_at=utcnow_iso())
            )

        await self.apply_locked(Change(events=[("session_stopped", {})]), work)
        await self.apply_locked(Change(set_={"session": None}))
        return session

    async def pin(self, code: str) -> dict[str, Any] | None:
        code = self._known(code)
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
        code = self._known(code)
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
        code = self._known(code)

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

    def _known(self, code: str) -> str:
        normalized = normalize_code(code)
        if normalized not in self.products:
            raise NotFound(f"no product with code {normalized}", field="code")
        return normalized


def _put_kv(conn: Connection, key: str, value: Any) -> None:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if conn.execute(update(kv).where(kv.c.key == key).values(value=text)).rowcount == 0:
        conn.execute(insert(kv).values(key=key, value=text))
