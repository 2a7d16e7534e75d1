"""Storing a batch of comments, and turning the confident ones into orders.

One batch is one transaction: the comments, their buyers, their parses and any
order lines (with their stock) commit together or not at all, and nothing is
acknowledged before that commit. Statements are batched where SQL allows it
(one look-up for repeats, one for buyers, one multi-row insert for comments),
so the per-comment cost is mostly the parser's.

What each comment becomes (its ``status``):

- ``ordered`` / ``waitlist``: a confident order, in stock or not;
- ``duplicate``: the same buyer asked for the same items in the last minute;
- ``cancelled`` / ``no_match``: a confident cancel, and whether it found anything;
- ``review``: anything doubtful (low confidence, unknown product, odd quantity,
  a parser error) waits for a helper;
- ``question`` and ``other``: nothing to do but show it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, case, func, select, update

from chotdon.codes import variant_id
from chotdon.limits import MAX_QTY
from server.comments import CommentIn
from server.db import comments, customers, order_lines, products, utcnow_iso
from server.dialect import upsert

from .book import (
    Changes,
    LineSpec,
    cancel_for_customer,
    create_lines,
    needs_variant,
    product_rows,
    reserve,
    units,
)
from .parsing import Parsed

__all__ = ["REPEAT_WINDOW", "Stored", "decide", "store_batch"]

REPEAT_WINDOW = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class Stored:
    """The acknowledgement for one comment."""

    platform: str
    message_id: str
    comment_id: int
    duplicate: bool
    intent: str | None
    status: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "id": self.message_id,
            "comment_id": self.comment_id,
            "duplicate": self.duplicate,
            "intent": self.intent,
            "status": self.status,
        }


@dataclass(frozen=True, slots=True)
class _New:
    comment: CommentIn
    parsed: Parsed
    customer_id: int
    comment_id: int


def decide(parsed: Parsed, threshold: float, known: set[str]) -> str:
    """The first status of a comment from its parse alone (before any stock is touched)."""
    if parsed.intent in ("question", "other"):
        return parsed.intent
    if parsed.intent is None or parsed.confidence < threshold:
        return "review"
    if parsed.intent == "order":
        if not parsed.items or any(
            i.code not in known or i.qty is None or not 0 < i.qty <= MAX_QTY for i in parsed.items
        ):
            return "review"
        return "order"
    if any(i.code not in known or (i.qty is not None and i.qty <= 0) for i in parsed.items):
        return "review"
    return "cancel"


def store_batch(
    conn: Connection,
    batch: Sequence[tuple[CommentIn, Parsed]],
    *,
    changes: Changes,
    known: set[str],
    threshold: float,
    session_id: int | None,
    now: datetime | None = None,
) -> list[Stored]:
    """Store ``batch`` in the caller's transaction; one :class:`Stored` per input, in order."""
    moment = now or datetime.now(UTC)
    received = utcnow_iso(moment)
    keys: list[tuple[str, str]] = [(c.platform, c.id) for c, _ in batch]
    existing = _existing(conn, keys)
    fresh: dict[tuple[str, str], tuple[CommentIn, Parsed]] = {}
    for comment, parsed in batch:
        if (comment.platform, comment.id) not in existing:
            fresh.setdefault((comment.platform, comment.id), (comment, parsed))
    buyers = _upsert_customers(conn, list(fresh.values()))
    rows = [
        _comment_row(c, p, buyers[(c.platform, c.user)], session_id, received)
        for c, p in fresh.values()
    ]
    ids: list[int] = []
    if rows:
        # Rows come back in any order (so SQLAlchemy batches them into multi-row
        # INSERTs, instead of one statement per comment); the key says whose id it is.
        inserted = conn.execute(_INSERT_COMMENTS, rows)
        by_key = {(r.platform, r.message_id): r.id for r in inserted}
        ids = [by_key[key] for key in fresh]
    statuses: dict[tuple[str, str], tuple[int, str]] = {}
    decided = [decide(p, threshold, known) for _, p in fresh.values()]
    orders = _Orders(conn, changes, session_id, moment)
    orders.preload(
        {r["customer_id"] for r, d in zip(rows, decided, strict=True) if d == "order"},
        {i.code for (_, p), d in zip(fresh.values(), decided, strict=True)
         if d == "order" for i in p.items},
    )  # fmt: skip
    items = zip(fresh.items(), ids, rows, decided, strict=True)
    for (key, (comment, parsed)), comment_id, row, status in items:
        if status in ("order", "cancel"):
            new = _New(comment, parsed, row["customer_id"], comment_id)
            status = orders.act(new, status)
            orders.settle(comment_id, status)
        statuses[key] = (comment_id, status)
    orders.flush()
    out: list[Stored] = []
    seen: set[tuple[str, str]] = set()
    for (_comment, parsed), key in zip(batch, keys, strict=True):
        if key in statuses and key not in seen:
            seen.add(key)
            comment_id, status = statuses[key]
            out.append(Stored(*key, comment_id, False, parsed.intent, status))
        else:
            first = existing.get(key) or (*statuses[key][:1], parsed.intent, statuses[key][1])
            out.append(Stored(*key, first[0], True, first[1], first[2]))
    return out


def _existing(conn: Connection, keys: list[tuple[str, str]]) -> dict[tuple[str, str], Any]:
    if not keys:
        return {}
    found: dict[tuple[str, str], Any] = {}
    for platform, ids in _by_platform(keys).items():
        for r in conn.execute(_EXISTING, {"p": platform, "ids": ids}):
            found[(r[0], r[1])] = (r[2], r[3], r[4])
    return found


def _by_platform(keys: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """Keys grouped by platform: ``platform = ? AND x IN (...)`` searches the unique
    index, where ``(platform, x) IN (...)`` makes SQLite scan the whole table."""
    groups: dict[str, set[str]] = {}
    for platform, value in keys:
        groups.setdefault(platform, set()).add(value)
    return {platform: sorted(values) for platform, values in sorted(groups.items())}


def _upsert_customers(
    conn: Connection, batch: list[tuple[CommentIn, Parsed]]
) -> dict[tuple[str, str], int]:
    """Buyer ids by (platform, user), creating new buyers and noting new names and phones."""
    wanted = {(c.platform, c.user) for c, _ in batch}
    if not wanted:
        return {}
    found = {
        (r.platform, r.handle): r
        for platform, handles in _by_platform(wanted).items()
        for r in conn.execute(_BUYERS, {"p": platform, "ids": handles})
    }
    latest: dict[tuple[str, str], tuple[CommentIn, Parsed]] = {}
    for comment, parsed in batch:
        key = (comment.platform, comment.user)
        previous = latest.get(key)
        phone = parsed.phone or (previous[1].phone if previous else None)
        latest[key] = (comment, _with_phone(parsed, phone))
    missing = [key for key in latest if key not in found]
    if missing:
        now = utcnow_iso()
        inserted = conn.execute(
            _insert_buyers(conn),
            [
                {
                    "platform": p,
                    "handle": h,
                    "nickname": latest[(p, h)][0].nickname,
                    "phone": latest[(p, h)][1].phone,
                    "created_at": now,
                }
                for p, h in missing
            ],
        )
    changed = []
    for key, row in found.items():
        comment, parsed = latest[key]
        nickname = comment.nickname or row.nickname
        phone = parsed.phone or row.phone
        if (nickname, phone) != (row.nickname, row.phone):
            changed.append({"i": row.id, "n": nickname, "p": phone})
    if changed:
        conn.execute(_UPDATE_BUYER, changed)
    ids = {key: row.id for key, row in found.items()}
    if missing:
        ids.update({(r.platform, r.handle): r.id for r in inserted})
    return ids


def _with_phone(parsed: Parsed, phone: str | None) -> Parsed:
    if phone == parsed.phone:
        return parsed
    return Parsed(parsed.intent, parsed.items, phone, parsed.confidence, parsed.data)


def _comment_row(
    comment: CommentIn, parsed: Parsed, customer_id: int, session_id: int | None, received: str
) -> dict[str, Any]:
    return {
        "platform": comment.platform,
        "message_id": comment.id,
        "session_id": session_id,
        "customer_id": customer_id,
        "nickname": comment.nickname,
        "text": comment.text,
        "ts": utcnow_iso(comment.ts) if comment.ts else None,
        "received_at": received,
        "intent": parsed.intent,
        "parse": json.dumps(parsed.data, ensure_ascii=False, separators=(",", ":")),
        "status": _placeholder(parsed),
    }


def _placeholder(parsed: Parsed) -> str:
    # Orders and cancels are settled right after the insert; the rest keep this.
    return parsed.intent if parsed.intent in ("question", "other") else "review"


_SET_STATUS = (
    update(comments).where(comments.c.id == bindparam("cid")).values(status=bindparam("s"))
)
_OPEN = ("pending", "confirmed", "waitlist")
# Built once, bound per batch: building a statement with 50 literal keys costs more
# than running it.
_EXISTING = select(
    comments.c.platform, comments.c.message_id, comments.c.id, comments.c.intent,
    comments.c.status,
).where(
    comments.c.platform == bindparam("p"),
    comments.c.message_id.in_(bindparam("ids", expanding=True)),
)  # fmt: skip
_BUYER_COLUMNS = (
    customers.c.id, customers.c.platform, customers.c.handle, customers.c.nickname,
    customers.c.phone,
)  # fmt: skip
_BUYERS = select(*_BUYER_COLUMNS).where(
    customers.c.platform == bindparam("p"), customers.c.handle.in_(bindparam("ids", expanding=True))
)
_INSERT_BUYERS: dict[str, Any] = {}


def _insert_buyers(conn: Connection) -> Any:
    """New buyers, as an upsert: another worker may insert the same buyer in the same
    moment (PostgreSQL, several workers); then its row is taken, with this comment's
    name and phone when it has them, and its id comes back all the same."""
    name = conn.dialect.name
    if name not in _INSERT_BUYERS:
        stmt = upsert(conn, customers)
        new = stmt.excluded
        _INSERT_BUYERS[name] = stmt.on_conflict_do_update(
            index_elements=[customers.c.platform, customers.c.handle],
            set_={
                "nickname": case((new.nickname != "", new.nickname), else_=customers.c.nickname),
                "phone": func.coalesce(new.phone, customers.c.phone),
            },
        ).returning(customers.c.id, customers.c.platform, customers.c.handle)
    return _INSERT_BUYERS[name]


_UPDATE_BUYER = (
    update(customers)
    .where(customers.c.id == bindparam("i"))
    .values(nickname=bindparam("n"), phone=bindparam("p"))
)
_RECENT = select(
    order_lines.c.customer_id, order_lines.c.comment_id, order_lines.c.code, order_lines.c.qty,
    order_lines.c.variant,
).where(
    order_lines.c.customer_id.in_(bindparam("ids", expanding=True)),
    order_lines.c.created_at >= bindparam("since"),
    order_lines.c.status.in_(_OPEN),
)  # fmt: skip
_INSERT_COMMENTS = comments.insert().returning(
    comments.c.id, comments.c.platform, comments.c.message_id
)
_INSERT_LINE = order_lines.insert()
# The batch's stock, read once and locked until the commit: SQLite's write lock is
# already held (the comments were inserted first); PostgreSQL locks the rows.
_LOCK_STOCK = (
    select(products.c.code, products.c.stock)
    .where(products.c.code.in_(bindparam("codes", expanding=True)))
    .order_by(products.c.code)
    .with_for_update()
)
_TAKE = (
    update(products)
    .where(products.c.code == bindparam("c"), products.c.stock >= bindparam("n"))
    .values(stock=products.c.stock - bindparam("n"), updated_at=bindparam("t"))
)


class _Orders:
    """One batch's order work: products read once, each buyer's recent orders read once.

    Stock is a ledger: a product's stock is read (and locked) once per batch,
    reservations are counted in memory, and :meth:`flush` takes each product's
    total with the same conditional ``UPDATE`` as :func:`~.book.reserve`, one per
    product instead of one per line. Products with variants reserve line by line.
    """

    def __init__(
        self, conn: Connection, changes: Changes, session_id: int | None, moment: datetime
    ) -> None:
        self.conn = conn
        self.changes = changes
        self.session_id = session_id
        self.moment = moment
        self.now = utcnow_iso(moment)
        self.since = utcnow_iso(moment - REPEAT_WINDOW)
        self.products: dict[str, dict[str, Any]] = {}
        self.recent: dict[int, dict[Any, list[tuple[str, float]]]] = {}
        # Order lines and comment statuses waiting for one executemany each.
        self.lines: list[dict[str, Any]] = []
        self.statuses: list[dict[str, Any]] = []
        self.stock: dict[str, int] = {}  # locked stock, less what is taken in memory
        self.taken: dict[str, int] = {}  # units reserved in memory, written by flush

    def take(self, code: str, qty: float, variant: str | None) -> bool:
        """Reserve ``units(qty)`` of ``code`` in the ledger (variants: in the database)."""
        if variant is not None or self.products.get(code, {}).get("variants"):
            return reserve(self.conn, code, qty, variant)
        if code not in self.stock:
            self._lock_stock({code})
        need = units(qty)
        if self.stock.get(code, 0) < need:
            return False
        self.stock[code] -= need
        self.taken[code] = self.taken.get(code, 0) + need
        return True

    def _lock_stock(self, codes: set[str]) -> None:
        wanted = sorted(codes - set(self.stock))
        if wanted:
            self.stock.update(
                (r[0], r[1]) for r in self.conn.execute(_LOCK_STOCK, {"codes": wanted})
            )

    def preload(self, customer_ids: set[int], codes: set[str]) -> None:
        if codes:
            self.products = product_rows(self.conn, codes)
            self._lock_stock(codes)
        if customer_ids:
            query = self.conn.execute(_RECENT, {"ids": sorted(customer_ids), "since": self.since})
            fresh: dict[int, dict[Any, list[tuple[str, float]]]] = {c: {} for c in customer_ids}
            for customer_id, comment_id, code, qty, variant in query:
                line = (variant_id(code, variant), round(qty, 3))
                fresh[customer_id].setdefault(comment_id, []).append(line)
            self.recent.update(fresh)

    def act(self, new: _New, action: str) -> str:
        if action == "cancel":
            self.flush()  # the cancel reads the buyer's lines from the database
            specs = [(variant_id(i.code, i.variant), i.qty) for i in new.parsed.items]
            self.recent.pop(new.customer_id, None)  # lines change: read them again if needed
            touched = cancel_for_customer(self.conn, self.changes, new.customer_id, specs)
            self.stock.clear()  # stock may have come back: read it again when needed
            return "cancelled" if touched else "no_match"
        lines = [LineSpec(i.code, float(i.qty or 0), i.variant) for i in new.parsed.items]
        if any(s.code not in self.products for s in lines):
            self.products.update(product_rows(self.conn, (s.code for s in lines)))
        if needs_variant(self.products, lines):  # which bag? a helper asks, never a guess
            return "review"
        wanted = sorted((variant_id(s.code, s.variant), round(s.qty, 3)) for s in lines)
        recent = self._recent(new.customer_id)
        if any(sorted(items) == wanted for items in recent.values()):
            return "duplicate"
        statuses = create_lines(
            self.conn, self.changes, customer_id=new.customer_id, nickname=new.comment.nickname,
            comment_id=new.comment_id, session_id=self.session_id, specs=lines, now=self.now,
            known=self.products, rows=self.lines, take=self.take,
        )  # fmt: skip
        recent[new.comment_id] = wanted
        return "ordered" if "pending" in statuses else "waitlist"

    def _recent(self, customer_id: int) -> dict[Any, list[tuple[str, float]]]:
        if customer_id not in self.recent:
            self.flush()
            self.preload({customer_id}, set())
        return self.recent[customer_id]

    def settle(self, comment_id: int, status: str) -> None:
        """The comment's final status, written with the others by :meth:`flush`."""
        self.statuses.append({"cid": comment_id, "s": status})

    def flush(self) -> None:
        """Take the ledger's stock, then insert the pending order lines and statuses,
        one ``executemany`` each."""
        for code, need in sorted(self.taken.items()):
            taken = self.conn.execute(_TAKE, {"c": code, "n": need, "t": self.now}).rowcount
            if taken != 1:  # the stock was locked: only a bug gets here; the batch rolls back
                raise RuntimeError(f"stock of {code} changed under the batch's lock")
        self.taken = {}
        if self.lines:
            self.conn.execute(_INSERT_LINE, self.lines)
            self.lines = []
        if self.statuses:
            self.conn.execute(_SET_STATUS, self.statuses)
            self.statuses = []
