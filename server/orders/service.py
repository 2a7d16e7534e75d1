"""The order book bound to a running app: ingestion, helpers' actions, publishing.

Everything here runs on the event loop without awaiting, like the live
commands, so each call is atomic for the sockets. Order changes commit through
``ctx.live.apply(work=...)``: the comment, its order lines, the stock, the event
log entries and the on-air state (ticker, sold counts) go into ONE transaction,
then one numbered update carries the new ticker, sold counts and stock to
every overlay. Panel-only news (new comments, "the order book changed",
connector states) goes out as small unnumbered messages; panels fetch the
details over REST, which is also what they do after a reconnect.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, select, update

from chotdon.codes import normalize_code, normalize_variant_key, split_variant_id
from server import catalog
from server.comments import CommentIn
from server.connectors.base import ConnectorState
from server.db import comments, customers, order_lines, utcnow_iso
from server.errors import Conflict, InvalidInput, NotFound
from server.events import append_events
from server.live import Change, Events, product_view
from server.privacy import mask_private

from . import queries
from .book import Changes, LineSpec, cancel_for_customer, create_lines, promote_waitlist, set_status
from .decisions import record_decision
from .ingest import Stored, store_batch
from .parsing import ParserCache

if TYPE_CHECKING:
    from server.context import AppContext

__all__ = ["OrderService"]

logger = logging.getLogger(__name__)
T = TypeVar("T")
MAX_BATCH = 1000
_ACTED = ("ordered", "waitlist", "confirmed", "cancelled")


@dataclass(frozen=True, slots=True)
class ItemIn:
    code: str
    qty: float | None
    variant: str | None = None  # the variant's key, for a product that has variants


class OrderService:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self.parsers = ParserCache()
        self.connectors: dict[str, dict[str, Any]] = {}
        self.stops: list[Callable[[], Any]] = []

    # -- ingestion ------------------------------------------------------------------

    def ingest(self, batch: Sequence[CommentIn]) -> list[Stored]:
        """Store, parse and act on a batch; returns one acknowledgement per comment."""
        if not batch:
            return []
        if len(batch) > MAX_BATCH:
            raise InvalidInput(f"at most {MAX_BATCH} comments per batch", field="comments")
        live = self.ctx.live
        self.parsers.refresh(live.products.values())
        pairs = [(c, self.parsers.parse(c.text, live.pinned)) for c in batch]
        options: dict[str, Any] = {
            "known": set(live.products),
            "threshold": self.ctx.settings.order_confidence,
            "session_id": live.session["id"] if live.session else None,
        }

        def work(conn: Connection, changes: Changes) -> list[Stored]:
            stored = store_batch(conn, pairs, changes=changes, **options)
            # The clip studio scores a product's window by its comments per minute.
            changes.events.extend(_received(pairs, stored))
            return stored

        if any(p.intent in ("order", "cancel") for _, p in pairs):
            stored = self._commit(work)
        else:  # nothing can touch stock or the screen: no live update, just the log
            with self.ctx.engine.begin() as conn:
                changes = self._changes()
                stored = work(conn, changes)
                if options["session_id"] is not None:
                    append_events(conn, options["session_id"], changes.events)
        self._push_comments([s.comment_id for s in stored if not s.duplicate])
        return stored

    # -- helpers' actions -------------------------------------------------------------

    def confirm(self, comment_id: int, items: Sequence[ItemIn] | None, intent: str | None) -> str:
        """A helper accepts a comment (as parsed, or with edited items) as an order or cancel."""

        def work(conn: Connection, changes: Changes) -> str:
            row = _comment(conn, comment_id)
            if row.status in _ACTED:
                raise Conflict(f"comment {comment_id} was already handled ({row.status})")
            parse = json.loads(row.parse) if row.parse else {}
            action = intent or row.intent
            wanted = (
                list(items)
                if items is not None
                else [
                    ItemIn(i["code"], i.get("qty"), i.get("variant"))
                    for i in parse.get("items", [])
                ]
            )
            status = _confirmed(conn, changes, row, action, wanted, self._session_id())
            # The helper's answer becomes a labelled example (chotdon parse --export-decisions).
            answer = [(i.code, i.qty) for i in wanted]
            record_decision(conn, row, intent=action, items=answer, session_id=self._session_id())
            conn.execute(update(comments).where(comments.c.id == comment_id).values(status=status))
            return status

        status = self._commit(work)
        self._push_comments([comment_id])
        return status

    def reject(self, comment_id: int) -> None:
        with self.ctx.engine.begin() as conn:
            row = _comment(conn, comment_id)
            if row.status in _ACTED:
                raise Conflict(f"comment {comment_id} was already handled ({row.status})")
            conn.execute(
                update(comments).where(comments.c.id == comment_id).values(status="rejected")
            )
            record_decision(conn, row, rejected=True, session_id=self._session_id())
        self._push_comments([comment_id])

    def set_line_status(self, line_ids: Sequence[int], status: str) -> int:
        return self._commit(lambda conn, ch: set_status(conn, ch, line_ids, status))

    def set_buyer_status(self, customer_id: int, status: str) -> int:
        """Move every open line of one buyer (waitlisted ones stay unless cancelled)."""

        def work(conn: Connection, changes: Changes) -> int:
            query = select(order_lines.c.id).where(
                order_lines.c.customer_id == customer_id,
                order_lines.c.status.not_in(("shipped", "cancelled")),
            )
            if status != "cancelled":
                query = query.where(order_lines.c.status != "waitlist")
            ids = list(conn.scalars(query))
            if not ids:
                raise NotFound(f"customer {customer_id} has no open order lines", field="customer")
            return set_status(conn, changes, ids, status)

        return self._commit(work)

    def promote(self, code: str) -> int:
        """Fill waitlisted lines of ``code`` from stock, oldest first."""
        return self._commit(lambda conn, ch: promote_waitlist(conn, ch, normalize_code(code)))

    def update_customer(self, customer_id: int, values: dict[str, Any]) -> dict[str, Any]:
        with self.ctx.engine.begin() as conn:
            if values:
                result = conn.execute(
                    update(customers).where(customers.c.id == customer_id).values(**values)
                )
                if result.rowcount == 0:
                    raise NotFound(f"no customer {customer_id}", field="customer")
            detail = queries.customer_detail(conn, customer_id)
        self._publish({"type": "orders_changed", "customers": [customer_id]})
        return detail

    def show_comment(self, comment_id: int) -> dict[str, Any] | None:
        with self.ctx.engine.connect() as conn:
            row = _comment(conn, comment_id)
        shown = {"id": row.id, "nickname": row.nickname, "text": mask_private(row.text)}
        event = (
            "comment_shown",
            {"comment_id": row.id, "nickname": row.nickname, "text": row.text},
        )
        return self.ctx.live.apply(set_={"shown_comment": shown}, events=[event])

    def hide_comment(self) -> dict[str, Any] | None:
        return self.ctx.live.apply(set_={"shown_comment": None})

    # -- connectors -------------------------------------------------------------------

    def connector_state(self, state: ConnectorState) -> None:
        self.connectors[state.name] = state.to_dict()
        self._publish({"type": "connectors", "items": list(self.connectors.values())})

    # -- plumbing ---------------------------------------------------------------------

    def _session_id(self) -> int | None:
        session = self.ctx.live.session
        return int(session["id"]) if session else None

    def _changes(self) -> Changes:
        live = self.ctx.live
        return Changes(list(live.ticker), dict(live.sold), mask=self.ctx.settings.mask_nicknames)

    def _commit(self, work: Callable[[Connection, Changes], T]) -> T:
        """Run ``work`` inside one live update; ticker, sold, stock and events go with it."""
        changes = self._changes()
        box: list[T] = []

        def db_work(conn: Connection) -> Change:
            box.append(work(conn, changes))
            for code in sorted(changes.released):  # stock came back: serve the waitlist
                promote_waitlist(conn, changes, code)
            views: dict[str, Any] = {}
            for code in sorted(changes.codes):
                try:
                    views[code] = product_view(catalog.get_product(conn, code))
                except NotFound:
                    views[code] = None
            live = self.ctx.live
            # Only what moved goes on air: a batch of questions spends no revision.
            set_: dict[str, Any] = {}
            if changes.ticker != live.ticker:
                set_["ticker"] = changes.ticker
            if changes.sold != live.sold:
                set_["sold"] = changes.sold
            return Change(set_=set_, products=views, events=changes.events)

        self.ctx.live.apply(work=db_work)
        if changes.customers:
            self._publish({"type": "orders_changed", "customers": sorted(changes.customers)})
        return box[0]

    def _push_comments(self, ids: list[int]) -> None:
        if not ids or not self.ctx.hub.count("panel"):
            return
        with self.ctx.engine.connect() as conn:
            items = queries.list_comments(conn, ids=ids, limit=len(ids))
        self._publish({"type": "comments", "items": items})

    def _publish(self, message: dict[str, Any]) -> None:
        self.ctx.hub.publish(message, roles=("panel",))


def _received(pairs: Sequence[tuple[CommentIn, Any]], stored: Sequence[Stored]) -> Events:
    """One ``comment_received`` log entry per new (not repeated) comment."""
    entries: Events = []
    for (_, parsed), ack in zip(pairs, stored, strict=True):
        if not ack.duplicate:
            data: dict[str, Any] = {"intent": parsed.intent}
            if parsed.items:
                data["code"] = parsed.items[0].code
            entries.append(("comment_received", data))
    return entries


def _comment(conn: Connection, comment_id: int) -> Any:
    row = conn.execute(select(comments).where(comments.c.id == comment_id)).first()
    if row is None:
        raise NotFound(f"no comment {comment_id}", field="comment")
    return row


def _confirmed(
    conn: Connection,
    changes: Changes,
    row: Any,
    intent: str | None,
    items: Sequence[ItemIn],
    session_id: int | None,
) -> str:
    if intent == "cancel":
        pairs = [(normalize_code(i.code), i.qty) for i in items]
        return (
            "cancelled"
            if cancel_for_customer(conn, changes, row.customer_id, pairs)
            else "no_match"
        )
    if intent != "order":
        raise InvalidInput("confirm as an order or a cancel", field="intent")
    if not items:
        raise InvalidInput("an order needs at least one item", field="items")
    specs = []
    for item in items:
        # "B6/XANH" typed in the panel's code box, or the variant given on its own.
        code, variant = split_variant_id(item.code)
        if item.qty is None or not 0 < item.qty <= 10_000:
            raise InvalidInput(f"quantity for {code} must be above 0", field="qty")
        variant = normalize_variant_key(item.variant) if item.variant else variant
        specs.append(LineSpec(code, float(item.qty), variant))
    nickname = row.nickname
    create_lines(
        conn, changes, customer_id=row.customer_id, nickname=nickname, comment_id=row.id,
        session_id=session_id, specs=specs, now=utcnow_iso(),
    )  # fmt: skip
    return "confirmed"
