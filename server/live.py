"""The live show's state, owned by the server (as in NodeCG: panels send commands,
graphics only draw).

Every command runs to completion without awaiting, so on the single event loop it
is atomic: the database transaction (change, event log entry and the persisted
state) commits first, then the in-memory state moves and one numbered update
goes to every socket. Clients hold a snapshot plus updates with consecutive
``rev`` numbers; one that sees a gap asks for a new snapshot.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from chotdon.codes import normalize_code

from . import catalog
from .catalog import Product, ProductPatch
from .db import kv, live_sessions, utcnow_iso
from .errors import InvalidInput, NotFound
from .events import append_events
from .hub import Hub

__all__ = ["ELEMENTS", "Change", "LiveService", "product_view"]

logger = logging.getLogger(__name__)

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
Events = list[tuple[str, dict[str, Any]]]
ProductChanges = dict[str, dict[str, Any] | None]


@dataclass
class Change:
    """What a command changes: top-level state keys, product rows, event log entries."""

    set_: dict[str, Any] = field(default_factory=dict)
    products: ProductChanges = field(default_factory=dict)
    events: Events = field(default_factory=list)

    def merge(self, other: Change) -> None:
        self.set_.update(other.set_)
        self.products.update(other.products)
        self.events.extend(other.events)


# Work done inside the command's transaction; what it returns joins the change.
DbWork = Callable[[Connection], "Change | None"]


def product_view(product: Product) -> dict[str, Any]:
    """What pages receive for a product (image path resolved to a URL)."""
    data = product.model_dump()
    data["image_url"] = f"/media/{product.image}" if product.image else None
    return data


class LiveService:
    """Holds the on-air state and applies helpers' commands to it."""

    def __init__(self, engine: Engine, hub: Hub) -> None:
        self.engine = engine
        self.hub = hub
        self.rev = 0
        self.session: dict[str, Any] | None = None
        self.pinned: str | None = None
        self.countdown: dict[str, Any] | None = None
        self.elements: dict[str, bool] = dict(ELEMENTS)
        self.shown_comment: dict[str, Any] | None = None
        self.ticker: list[dict[str, Any]] = []
        self.sold: dict[str, float] = {}
        self.products: dict[str, dict[str, Any]] = {}
        self.extra: dict[str, Any] = {}

    # -- loading and snapshots -------------------------------------------------

    def load(self) -> None:
        """Restore exactly what was on air before a restart."""
        with self.engine.connect() as conn:
            raw = conn.scalar(select(kv.c.value).where(kv.c.key == _STATE_KEY))
            stored: dict[str, Any] = json.loads(raw) if raw else {}
            self.products = {p.code: product_view(p) for p in catalog.list_products(conn)}
            row = conn.execute(
                select(live_sessions)
                .where(live_sessions.c.stopped_at.is_(None))
                .order_by(live_sessions.c.id.desc())
            ).first()
        self.session = dict(row._mapping) if row else None
        self.rev = int(stored.get("rev", 0))
        self.pinned = stored.get("pinned") if stored.get("pinned") in self.products else None
        self.countdown = stored.get("countdown")
        self.elements = {**ELEMENTS, **stored.get("elements", {})}
        self.shown_comment = stored.get("shown_comment")
        self.ticker = list(stored.get("ticker", []))
        self.sold = dict(stored.get("sold", {}))

    def state(self) -> dict[str, Any]:
        return {
            "session": self.session,
            "pinned": self.pinned,
            "products": self.products,
            "countdown": self.countdown,
            "elements": self.elements,
            "shown_comment": self.shown_comment,
            "ticker": self.ticker,
            "sold": self.sold,
            **self.extra,
        }

    def snapshot(self) -> dict[str, Any]:
        return {"type": "snapshot", "rev": self.rev, "t": utcnow_iso(), "state": self.state()}

    def _persisted(self) -> dict[str, Any]:
        return {
            "rev": self.rev,
            "pinned": self.pinned,
            "countdown": self.countdown,
            "elements": self.elements,
            "shown_comment": self.shown_comment,
            "ticker": self.ticker,
            "sold": self.sold,
        }

    # -- the one way state changes ---------------------------------------------

    def apply(
        self,
        *,
        set_: dict[str, Any] | None = None,
        products: ProductChanges | None = None,
        events: Iterable[tuple[str, dict[str, Any]]] = (),
        work: DbWork | None = None,
    ) -> dict[str, Any] | None:
        """Commit ``work``, the events and the new state together, then broadcast.

        Runs without awaiting, so it is atomic on the event loop. When nothing the
        pages draw has changed (say, a batch of comments with no order), the events
        are still logged but no revision is spent and nothing is broadcast.
        Returns the update sent, or None.
        """
        change = Change(dict(set_ or {}), dict(products or {}), list(events))
        now = utcnow_iso()
        with self.engine.begin() as conn:
            if work is not None and (more := work(conn)) is not None:
                change.merge(more)
            session = change.set_.get("session", self.session)
            if session is not None:
                append_events(conn, session["id"], change.events, t=now)
            visible = bool(change.set_ or change.products)
            if visible:
                persisted = {**self._persisted(), **change.set_, "rev": self.rev + 1}
                persisted.pop("session", None)
                _put_kv(conn, _STATE_KEY, persisted)
        if not visible:
            return None
        self.rev += 1
        for key, value in change.set_.items():
            setattr(self, key, value)
        for code, view in change.products.items():
            if view is None:
                self.products.pop(code, None)
            else:
                self.products[code] = view
        message = {
            "type": "update",
            "rev": self.rev,
            "t": now,
            "set": change.set_,
            "products": change.products,
        }
        self.hub.publish(message)
        return message

    # -- commands ----------------------------------------------------------------

    def start_session(self, title: str = "") -> dict[str, Any]:
        if self.session is not None:
            return self.session
        now = utcnow_iso()
        with self.engine.begin() as conn:
            session_id = conn.execute(
                insert(live_sessions).values(title=title[:200], started_at=now)
            ).inserted_primary_key[0]  # type: ignore[index]
        session = {"id": session_id, "title": title[:200], "started_at": now, "stopped_at": None}
        self.apply(set_={"session": session}, events=[("session_started", {"title": title[:200]})])
        if self.pinned:  # what is already on screen belongs to the new session's log
            self.apply(events=[("product_pinned", {"code": self.pinned})])
        return session

    def stop_session(self) -> dict[str, Any] | None:
        session = self.session
        if session is None:
            return None

        def work(conn: Connection) -> None:
            conn.execute(
                update(live_sessions)
                .where(live_sessions.c.id == session["id"])
                .values(stopped_at=utcnow_iso())
            )

        self.apply(events=[("session_stopped", {})], work=work)
        self.apply(set_={"session": None})
        return session

    def pin(self, code: str) -> dict[str, Any] | None:
        code = self._known(code)
        return self.apply(set_={"pinned": code}, events=[("product_pinned", {"code": code})])

    def unpin(self) -> dict[str, Any] | None:
        if self.pinned is None:
            return self.apply()
        return self.apply(
            set_={"pinned": None}, events=[("product_unpinned", {"code": self.pinned})]
        )

    def change_price(
        self, code: str, price: int | None, sale_price: int | None, clear_sale: bool = False
    ) -> dict[str, Any] | None:
        code = self._known(code)
        patch = ProductPatch(price=price, sale_price=sale_price, clear_sale_price=clear_sale)

        def work(conn: Connection) -> Change:
            product = catalog.patch_product(conn, code, patch)
            data = {"code": code, "price": product.price, "sale_price": product.sale_price}
            return Change(products={code: product_view(product)}, events=[("price_changed", data)])

        return self.apply(work=work)

    def change_stock(self, code: str, stock: int) -> dict[str, Any] | None:
        code = self._known(code)

        def work(conn: Connection) -> Change:
            product = catalog.patch_product(conn, code, ProductPatch(stock=stock))
            event = ("stock_changed", {"code": code, "stock": product.stock})
            return Change(products={code: product_view(product)}, events=[event])

        return self.apply(work=work)

    def start_countdown(self, seconds: int, label: str = "") -> dict[str, Any] | None:
        if not 1 <= seconds <= 24 * 3600:
            raise InvalidInput("a countdown lasts 1 second to 24 hours", field="seconds")
        ends = datetime.now(UTC) + timedelta(seconds=seconds)
        countdown = {"ends_at": utcnow_iso(ends), "seconds": seconds, "label": label[:60]}
        return self.apply(
            set_={"countdown": countdown},
            events=[("countdown_started", {"ends_at": countdown["ends_at"], "seconds": seconds})],
        )

    def stop_countdown(self) -> dict[str, Any] | None:
        return self.apply(set_={"countdown": None}, events=[("countdown_stopped", {})])

    def set_element(self, element: str, visible: bool) -> dict[str, Any] | None:
        if element not in ELEMENTS:
            raise InvalidInput(
                f"unknown element {element!r} (one of {', '.join(ELEMENTS)})", field="element"
            )
        kind = "element_shown" if visible else "element_hidden"
        return self.apply(
            set_={"elements": {**self.elements, element: visible}},
            events=[(kind, {"element": element})],
        )

    def refresh_products(self, codes: Iterable[str] | None = None) -> dict[str, Any] | None:
        """Publish catalog rows changed outside a live command (CRUD, import, orders)."""
        with self.engine.connect() as conn:
            current = {p.code: product_view(p) for p in catalog.list_products(conn)}
        wanted = set(current) | set(self.products) if codes is None else set(codes)
        changes = {
            code: current.get(code)
            for code in wanted
            if current.get(code) != self.products.get(code)
        }
        set_: dict[str, Any] = {}
        if self.pinned is not None and self.pinned not in current:
            set_["pinned"] = None
        return self.apply(set_=set_, products=changes)

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
