"""The order book bound to a running app: ingestion, helpers' actions, publishing.

Order changes go through the live command lock and the writer thread, like the
live commands (see :mod:`server.live`): the comment, its order lines, the stock,
the event log entries and the on-air state (ticker, sold counts) go into ONE
transaction in the writer thread, then one numbered update carries the new
ticker, sold counts and stock to every overlay. Parsing runs before, on the
loop in slices of a millisecond (see :meth:`OrderService._parse`).
Panel-only news (new comments, "the order book changed", connector states) goes
out as small unnumbered messages; panels fetch the details over REST, which is
also what they do after a reconnect.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, select, update

from chotdon.codes import normalize_code, normalize_variant_key, split_variant_id, variant_id
from chotdon.limits import MAX_QTY
from server import catalog, protocol
from server.comments import CommentIn
from server.connectors.base import ConnectorState
from server.db import comments, customers, order_lines, utcnow_iso
from server.errors import Conflict, InvalidInput, NotFound
from server.live import Change, Events, LiveService, product_view
from server.privacy import mask_private

from . import queries
from .book import Changes, LineSpec, cancel_for_customer, create_lines, promote_waitlist, set_status
from .decisions import record_decision
from .ingest import Stored, store_batch
from .parsing import Parsed, ParserCache

if TYPE_CHECKING:
    from server.context import AppContext

__all__ = ["OrderService"]

logger = logging.getLogger(__name__)
T = TypeVar("T")
MAX_BATCH = 1000
PARSE_SLICE_S = 0.001  # the longest the parser holds the loop at a time
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
        self._pushing: set[asyncio.Task[None]] = set()  # comment rows read for panels

    @property
    def live(self) -> LiveService:
        return self.ctx.live

    # -- ingestion ------------------------------------------------------------------

    async def ingest(self, batch: Sequence[CommentIn]) -> list[Stored]:
        """Store, parse and act on a batch; returns one acknowledgement per comment."""
        if not batch:
            return []
        if len(batch) > MAX_BATCH:
            raise InvalidInput(f"at most {MAX_BATCH} comments per batch", field="comments")
        threshold = self.ctx.settings.order_confidence
        pairs = await self._parse(batch)

        def work(conn: Connection, changes: Changes) -> list[Stored]:
            stored = store_batch(
                conn, pairs, changes=changes, known=set(self.live.products), threshold=threshold,
                session_id=self._session_id(),
            )  # fmt: skip
            # The clip studio scores a product's window by its comments per minute.
            changes.events.extend(_received(pairs, stored))
            self.live.news(conn, "comments", _fresh(stored))
            return stored

        stored, _ = await self._commit(work, urgent=False)  # helpers' commands go first
        await self._push_comments_later(_fresh(stored))
        return stored

    async def _parse(self, batch: Sequence[CommentIn]) -> list[tuple[CommentIn, Parsed]]:
        """Parse on the loop, a slice at a time, before taking the command lock.

        Not in the writer thread: a Python thread doing pure CPU work makes the
        loop wait for the GIL after every socket write, and under the lock it would
        hold up every command for the whole batch. A comment is read against the
        product pinned when it is parsed.
        """
        live = self.live
        self.parsers.refresh(live.products.values())
        pairs: list[tuple[CommentIn, Parsed]] = []
        deadline = time.perf_counter() + PARSE_SLICE_S
        for comment in batch:
            pairs.append((comment, self.parsers.parse(comment.text, live.pinned)))
            if time.perf_counter() > deadline:
                await asyncio.sleep(0)  # let commands and broadcasts through
                deadline = time.perf_counter() + PARSE_SLICE_S
        return pairs

    # -- helpers' actions -------------------------------------------------------------

    async def confirm(
        self, comment_id: int, items: Sequence[ItemIn] | None, intent: str | None
    ) -> str:
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
            self.live.news(conn, "comments", [comment_id])
            return status

        status, pushed = await self._commit(work, push=lambda _status: [comment_id])
        self._push_comments(pushed)
        return status

    async def reject(self, comment_id: int) -> None:
        def work(conn: Connection) -> list[dict[str, Any]]:
            row = _comment(conn, comment_id)
            if row.status in _ACTED:
                raise Conflict(f"comment {comment_id} was already handled ({row.status})")
            conn.execute(
                update(comments).where(comments.c.id == comment_id).values(status="rejected")
            )
            record_decision(conn, row, rejected=True, session_id=self._session_id())
            self.live.news(conn, "comments", [comment_id])
            return self._comment_items(conn, [comment_id])

        self._push_comments(await self.live.writer.write(work))

    async def set_line_status(self, line_ids: Sequence[int], status: str) -> int:
        moved, _ = await self._commit(lambda conn, ch: set_status(conn, ch, line_ids, status))
        return moved

    async def set_buyer_status(self, customer_id: int, status: str) -> int:
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

        moved, _ = await self._commit(work)
        return moved

    async def promote(self, code: str) -> int:
        """Fill waitlisted lines of ``code`` from stock, oldest first."""
        code = normalize_code(code)
        moved, _ = await self._commit(lambda conn, ch: promote_waitlist(conn, ch, code))
        return moved

    async def update_customer(self, customer_id: int, values: dict[str, Any]) -> dict[str, Any]:
        def work(conn: Connection) -> dict[str, Any]:
            if values:
                result = conn.execute(
                    update(customers).where(customers.c.id == customer_id).values(**values)
                )
                if result.rowcount == 0:
                    raise NotFound(f"no customer {customer_id}", field="customer")
                self.live.news(conn, "orders", [customer_id])
            return queries.customer_detail(conn, customer_id)

        detail = await self.live.writer.write(work)
        self._publish(protocol.orders_changed([customer_id]))
        return detail

    async def show_comment(self, comment_id: int) -> dict[str, Any] | None:
        def work(conn: Connection) -> Change:
            row = _comment(conn, comment_id)
            shown = {"id": row.id, "nickname": row.nickname, "text": mask_private(row.text)}
            data = {"comment_id": row.id, "nickname": row.nickname, "text": row.text}
            return Change(set_={"shown_comment": shown}, events=[("comment_shown", data)])

        return await self.live.apply(work=work)

    async def hide_comment(self) -> dict[str, Any] | None:
        return await self.live.apply(set_={"shown_comment": None})

    # -- connectors -------------------------------------------------------------------

    def news_from_peer(self, kind: str, ids: Sequence[int]) -> None:
        """Another worker changed these buyers' orders or these comments (a poke, on the
        loop): tell this worker's panels, as its own changes would."""
        if kind == "orders":
            self._publish(protocol.orders_changed(list(ids)))
        elif kind == "comments":
            task = asyncio.create_task(self._push_comments_later(list(ids)))
            self._pushing.add(task)
            task.add_done_callback(self._pushing.discard)

    async def drain(self) -> None:
        """At shutdown: wait for the comment rows being read for panels (see above)."""
        await asyncio.gather(*self._pushing, return_exceptions=True)

    def connector_state(self, state: ConnectorState) -> None:
        self.connectors[state.name] = state.to_dict()
        self._publish(protocol.connectors_push(list(self.connectors.values())))

    # -- plumbing ---------------------------------------------------------------------

    def _session_id(self) -> int | None:
        session = self.live.session
        return int(session["id"]) if session else None

    async def _commit(
        self,
        work: Callable[[Connection, Changes], T],
        push: Callable[[T], list[int]] | None = None,
        urgent: bool = True,
    ) -> tuple[T, list[dict[str, Any]]]:
        """Run ``work`` inside one live update; ticker, sold, stock and events go with it.

        ``push`` names the comments whose rows panels should get; they are read in
        the same transaction. Returns what ``work`` returned and those rows.
        """
        box: list[tuple[T, list[dict[str, Any]]]] = []
        customers_changed: list[int] = []

        def db_work(conn: Connection) -> Change:
            live = self.live  # read in the writer thread with the lock held: stable
            mask = self.ctx.settings.mask_nicknames
            changes = Changes(list(live.ticker), dict(live.sold), mask=mask)
            result = work(conn, changes)
            for code in sorted(changes.released):  # stock came back: serve the waitlist
                promote_waitlist(conn, changes, code)
            views: dict[str, Any] = {}
            for code in sorted(changes.codes):
                try:
                    views[code] = product_view(catalog.get_product(conn, code), live.media_url)
                except NotFound:
                    views[code] = None
            # Only what moved goes on air: a batch of questions spends no revision.
            set_: dict[str, Any] = {}
            if changes.ticker != live.ticker:
                set_["ticker"] = changes.ticker
            if changes.sold != live.sold:
                set_["sold"] = changes.sold
            box.append((result, self._comment_items(conn, push(result) if push else [])))
            customers_changed.extend(sorted(changes.customers))
            self.live.news(conn, "orders", customers_changed)
            return Change(set_=set_, products=views, events=changes.events)

        await self.live.apply(work=db_work, urgent=urgent)
        if customers_changed:
            self._publish(protocol.orders_changed(customers_changed))
        return box[0]

    def _comment_items(self, conn: Connection, ids: list[int]) -> list[dict[str, Any]]:
        """Rows for the panels' comment lists (none read when no panel is connected)."""
        if not ids or not self.ctx.hub.count("panel"):
            return []
        return queries.list_comments(conn, ids=ids, limit=len(ids))

    async def _push_comments_later(self, ids: list[int]) -> None:
        """Rows for the panels, read after the commit outside the command lock: the
        next command need not wait for a read that only the panels' lists need."""
        if ids and self.ctx.hub.count("panel"):
            self._push_comments(await self.live.writer.read(lambda c: self._comment_items(c, ids)))

    def _push_comments(self, items: list[dict[str, Any]]) -> None:
        if items:
            self._publish(protocol.comments_push(items))

    def _publish(self, message: protocol.ServerMessage) -> None:
        self.ctx.hub.publish(message, roles=("panel",))


def _fresh(stored: list[Stored]) -> list[int]:
    return [s.comment_id for s in stored if not s.duplicate]


def _received(pairs: Sequence[tuple[CommentIn, Parsed]], stored: Sequence[Stored]) -> Events:
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


def _key(variant: str | None) -> str | None:
    return normalize_variant_key(variant) if variant else None


def _confirmed(
    conn: Connection,
    changes: Changes,
    row: Any,
    intent: str | None,
    items: Sequence[ItemIn],
    session_id: int | None,
) -> str:
    if intent == "cancel":
        pairs = [(variant_id(normalize_code(i.code), _key(i.variant)), i.qty) for i in items]
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
        if item.qty is None or not 0 < item.qty <= MAX_QTY:
            raise InvalidInput(f"quantity for {code} must be above 0", field="qty")
        variant = _key(item.variant) or variant
        specs.append(LineSpec(code, float(item.qty), variant))
    nickname = row.nickname
    create_lines(
        conn, changes, customer_id=row.customer_id, nickname=nickname, comment_id=row.id,
        session_id=session_id, specs=specs, now=utcnow_iso(),
    )  # fmt: skip
    return "confirmed"
