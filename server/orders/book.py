"""Order lines and stock, inside the caller's transaction.

Stock is reserved with one conditional statement,
``UPDATE products SET stock = stock - :q WHERE code = :c AND stock >= :q``, and the
row count says whether it worked: SQLite runs writers one at a time, so two
buyers racing for the last kilo can never both get it, whatever process or
thread they come from. A product with variants keeps its stock per variant, so a
line for ``B2/XANH`` reserves from the ``variants`` row with the same statement
shape, and a line for such a product must name its variant. An order that does not
fit goes to the waitlist and reserves nothing.

Stock is counted in whole units while buyers may order half a kilo, so a line
reserves ``ceil(qty)`` units (and gives back the same on cancel): we may
under-sell a fraction of a unit, never over-sell.

Every function records what changed in a :class:`Changes` so the caller can
publish it (ticker, sold counts, stock, events) after the commit.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from chotdon.codes import split_variant_id, variant_id
from chotdon.limits import MAX_QTY
from chotdon.money import price_now
from server.db import customers, order_lines, products, utcnow_iso, variants
from server.errors import Conflict, InvalidInput, NotFound

__all__ = [
    "ACTIVE",
    "RESERVING",
    "STATUSES",
    "Changes",
    "LineSpec",
    "cancel_for_customer",
    "cancel_lines",
    "create_lines",
    "mask_nickname",
    "needs_variant",
    "product_rows",
    "promote_waitlist",
    "reserve",
    "set_status",
    "units",
]

STATUSES = ("pending", "confirmed", "paid", "packed", "shipped", "cancelled", "waitlist")
RESERVING = frozenset({"pending", "confirmed", "paid", "packed", "shipped"})
# Lines a buyer's "hủy" may still cancel: nothing paid or on its way.
ACTIVE = ("pending", "confirmed", "waitlist")
TICKER_SIZE = 6


def units(qty: float) -> int:
    """Whole stock units a line of ``qty`` holds (0.5 kg holds one 1-kg unit)."""
    return max(1, math.ceil(qty - 1e-9))


def mask_nickname(nickname: str) -> str:
    """``Hoa Mộc Lan`` -> ``H** M** L**``: recognisable to the buyer, not to strangers."""
    words = nickname.split() or ["?"]
    return " ".join(w[0] + "*" * min(len(w) - 1, 3) if len(w) > 1 else w for w in words)


@dataclass(frozen=True, slots=True)
class LineSpec:
    code: str
    qty: float
    variant: str | None = None  # the variant's key, for a product that has variants


@dataclass
class Changes:
    """What a transaction changed, for the broadcast once it commits."""

    ticker: list[dict[str, Any]]
    sold: dict[str, float]
    mask: bool = True
    codes: set[str] = field(default_factory=set)
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    customers: set[int] = field(default_factory=set)
    released: set[str] = field(default_factory=set)  # codes that got stock back

    def ordered(
        self, code: str, qty: float, nickname: str, product: dict[str, Any], price: int
    ) -> None:
        self.codes.add(code)
        self.sold[code] = round(self.sold.get(code, 0.0) + qty, 3)
        # The line's unit price rides along so the log alone gives revenue (chotdon.stats).
        data: dict[str, Any] = {"code": code, "qty": qty, "price": price}
        if product.get("variant"):
            data["variant"] = product["variant"]  # the variant's key, as on the order line
        self.events.append(("order_created", data))
        entry = {
            "nickname": mask_nickname(nickname) if self.mask else nickname,
            "qty": qty,
            "unit": product["unit"],
            "product": product["name"],
        }
        # Copies of the live lists (see OrderService._changes), compared after the work.
        self.ticker.insert(0, entry)
        del self.ticker[TICKER_SIZE:]

    def cancelled(self, code: str, qty: float, reserved: bool, price: int) -> None:
        self.codes.add(code)
        if reserved:
            self.released.add(code)
            left = round(self.sold.get(code, 0.0) - qty, 3)
            if left > 0:
                self.sold[code] = left
            else:
                self.sold.pop(code, None)
        data: dict[str, Any] = {"code": code, "qty": qty, "price": price}
        if not reserved:  # a waitlisted line never had its order_created: not a sale undone
            data["waitlist"] = True
        self.events.append(("order_cancelled", data))


# Built once: the hot path binds values instead of building statements per order.
_RESERVE = (
    update(products)
    .where(products.c.code == bindparam("c"), products.c.stock >= bindparam("n"))
    .values(stock=products.c.stock - bindparam("n"), updated_at=bindparam("t"))
)
_RELEASE = (
    update(products)
    .where(products.c.code == bindparam("c"))
    .values(stock=products.c.stock + bindparam("n"), updated_at=bindparam("t"))
)
_INSERT_LINE = order_lines.insert()
_VARIANT = (variants.c.product_code == bindparam("c")) & (variants.c.key == bindparam("v"))
_RESERVE_VARIANT = (
    update(variants)
    .where(_VARIANT, variants.c.stock >= bindparam("n"))
    .values(stock=variants.c.stock - bindparam("n"))
)
_RELEASE_VARIANT = update(variants).where(_VARIANT).values(stock=variants.c.stock + bindparam("n"))


_PRODUCT_ROWS = select(
    products.c.code, products.c.name, products.c.unit, products.c.price,
    products.c.sale_price, products.c.stock,
).where(products.c.code.in_(bindparam("codes", expanding=True)))  # fmt: skip
_VARIANT_ROWS = select(
    variants.c.product_code, variants.c.key, variants.c.name, variants.c.price,
    variants.c.sale_price,
).where(variants.c.product_code.in_(bindparam("codes", expanding=True)))  # fmt: skip


def product_rows(conn: Connection, codes: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Products by code; ``variants`` maps each variant's key to its name and prices."""
    wanted = sorted(set(codes))
    found = {
        r.code: {**r._mapping, "variants": {}}
        for r in conn.execute(_PRODUCT_ROWS, {"codes": wanted})
    }
    for v in conn.execute(_VARIANT_ROWS, {"codes": wanted}):
        found[v.product_code]["variants"][v.key] = dict(v._mapping)
    return found


def needs_variant(known: dict[str, dict[str, Any]], specs: Iterable[LineSpec]) -> bool:
    """Does a line name no variant (or an unknown one) of a product that has variants?"""
    for spec in specs:
        own = known.get(spec.code, {}).get("variants") or {}
        if (own or spec.variant is not None) and spec.variant not in own:
            return True
    return False


def reserve(conn: Connection, code: str, qty: float, variant: str | None = None) -> bool:
    """Take ``units(qty)`` from stock (the variant's, if any) if there is that much."""
    if variant is not None:
        result = conn.execute(_RESERVE_VARIANT, {"c": code, "v": variant, "n": units(qty)})
        if result.rowcount == 1:  # the product's updated_at says "stock changed"
            conn.execute(
                update(products).where(products.c.code == code).values(updated_at=utcnow_iso())
            )
        return result.rowcount == 1
    result = conn.execute(_RESERVE, {"c": code, "n": units(qty), "t": utcnow_iso()})
    return result.rowcount == 1


def release(conn: Connection, code: str, qty: float, variant: str | None = None) -> None:
    if variant is not None:
        conn.execute(_RELEASE_VARIANT, {"c": code, "v": variant, "n": units(qty)})
        return
    conn.execute(_RELEASE, {"c": code, "n": units(qty), "t": utcnow_iso()})


def _priced(product: dict[str, Any], variant: str | None) -> tuple[dict[str, Any], int]:
    """The product as the ticker names it (with the variant) and the price a buyer pays."""
    own = product.get("variants", {}).get(variant) if variant is not None else None
    if own is None:
        return product, price_now(product["price"], product["sale_price"])
    named = {**product, "name": f"{product['name']} · {own['name']}", "variant": variant}
    return named, price_now(own["price"], own["sale_price"])


def create_lines(
    conn: Connection,
    changes: Changes,
    *,
    customer_id: int,
    nickname: str,
    comment_id: int | None,
    session_id: int | None,
    specs: Sequence[LineSpec],
    now: str,
    known: dict[str, dict[str, Any]] | None = None,
    rows: list[dict[str, Any]] | None = None,
    take: Callable[[str, float, str | None], bool] | None = None,
) -> list[str]:
    """Reserve and insert one line per spec; returns each line's status.

    ``known`` is the products' rows (price, name, unit) when the caller has them.
    ``rows`` given: the lines are appended to it, for the caller to insert many at
    once (one ``executemany`` per batch of comments), instead of one by one.
    ``take`` reserves instead of :func:`reserve` (a batch's stock ledger).
    """
    if known is None or any(s.code not in known or "variants" not in known[s.code] for s in specs):
        known = product_rows(conn, (s.code for s in specs))
    statuses: list[str] = []
    for spec in specs:
        product = known.get(spec.code)
        if product is None:
            raise NotFound(f"no product with code {spec.code}", field="code")
        if not 0 < spec.qty <= MAX_QTY:
            raise InvalidInput(f"quantity {spec.qty} for {spec.code} is out of range", field="qty")
        if needs_variant(known, [spec]):
            raise InvalidInput(
                f"{variant_id(spec.code, spec.variant)}: pick one of {spec.code}'s variants "
                f"({', '.join(product['variants']) or 'it has none'})",
                field="variant",
            )
        if take is not None:
            ok = take(spec.code, spec.qty, spec.variant)
        else:
            ok = reserve(conn, spec.code, spec.qty, spec.variant)
        status = "pending" if ok else "waitlist"
        product, price = _priced(product, spec.variant)
        row = {
            "session_id": session_id,
            "customer_id": customer_id,
            "comment_id": comment_id,
            "code": spec.code,
            "variant": spec.variant,
            "qty": spec.qty,
            "unit_price": price,
            "status": status,
            "created_at": now,
            "updated_at": now,
        }
        if rows is not None:
            rows.append(row)
        else:
            conn.execute(_INSERT_LINE, row)
        if ok:
            changes.ordered(spec.code, spec.qty, nickname, product, price)
        statuses.append(status)
    changes.customers.add(customer_id)
    return statuses


_SET_LINE: dict[tuple[str, ...], Any] = {}  # statements by the columns they set


def _set_line(conn: Connection, line_id: int, **values: Any) -> None:
    values["updated_at"] = utcnow_iso()
    names = tuple(sorted(values))
    statement = _SET_LINE.get(names)
    if statement is None:  # built once per set of columns, bound per call
        statement = _SET_LINE[names] = (
            update(order_lines)
            .where(order_lines.c.id == bindparam("line_id"))
            .values({name: bindparam(name) for name in names})
        )
    conn.execute(statement, {"line_id": line_id, **values})


def cancel_lines(conn: Connection, changes: Changes, lines: Sequence[Any]) -> int:
    """Cancel whole lines, giving their stock back; returns how many were cancelled."""
    for line in lines:
        reserved = line.status in RESERVING
        if reserved:
            release(conn, line.code, line.qty, line.variant)
        _set_line(conn, line.id, status="cancelled")
        changes.cancelled(line.code, line.qty, reserved, line.unit_price)
        changes.customers.add(line.customer_id)
    return len(lines)


def _active_query(by_code: bool, by_variant: bool) -> Any:
    query = (
        select(order_lines)
        .where(
            order_lines.c.customer_id == bindparam("customer"),
            order_lines.c.status.in_(ACTIVE),
        )
        .order_by(order_lines.c.id.desc())
    )
    if by_code:
        query = query.where(order_lines.c.code == bindparam("code"))
    if by_variant:
        query = query.where(order_lines.c.variant == bindparam("variant"))
    return query


# A buyer's open lines (all, of a product, of a variant): built once, bound per cancel.
_ACTIVE = {(c, v): _active_query(c, v) for c in (False, True) for v in (False, True)}


def _active_lines(
    conn: Connection, customer_id: int, code: str | None = None, variant: str | None = None
) -> list[Any]:
    query = _ACTIVE[(code is not None, variant is not None)]
    params = {"customer": customer_id, "code": code, "variant": variant}
    return list(conn.execute(query, {k: v for k, v in params.items() if v is not None}))


def cancel_for_customer(
    conn: Connection, changes: Changes, customer_id: int, items: Sequence[tuple[str, float | None]]
) -> int:
    """A buyer's cancel: no items = their latest order; ``qty`` None = all of that product.
    A code written ``B6/XANH`` cancels only that variant's lines.

    Returns the number of lines touched (0: there was nothing to cancel).
    """
    if not items:
        lines = _active_lines(conn, customer_id)
        if not lines:
            return 0
        latest = lines[0].comment_id
        return cancel_lines(conn, changes, [ln for ln in lines if ln.comment_id == latest])
    touched = 0
    for code, qty in items:
        touched += _cancel_product(conn, changes, customer_id, code, qty)
    return touched


def _cancel_product(
    conn: Connection, changes: Changes, customer_id: int, code: str, qty: float | None
) -> int:
    code, variant = split_variant_id(code)
    lines = _active_lines(conn, customer_id, code, variant)
    if qty is None:
        return cancel_lines(conn, changes, lines)
    left, touched = qty, 0
    for line in lines:  # newest first
        if left <= 1e-9:
            break
        if line.qty <= left + 1e-9:
            touched += cancel_lines(conn, changes, [line])
            left -= line.qty
            continue
        remaining = round(line.qty - left, 3)
        reserved = line.status in RESERVING
        if reserved:  # give back only the whole units freed
            freed = units(line.qty) - units(remaining)
            if freed and line.variant is not None:
                conn.execute(_RELEASE_VARIANT, {"c": code, "v": line.variant, "n": freed})
            elif freed:
                conn.execute(_RELEASE, {"c": code, "n": freed, "t": utcnow_iso()})
        _set_line(conn, line.id, qty=remaining)
        changes.cancelled(code, left, reserved, line.unit_price)
        changes.customers.add(customer_id)
        touched += 1
        left = 0
    return touched


def promote_waitlist(
    conn: Connection, changes: Changes, code: str, line_id: int | None = None
) -> int:
    """Move waitlisted lines of ``code`` (oldest first, or just ``line_id``) to pending
    while stock allows; returns how many moved."""
    query = (
        select(order_lines, customers.c.nickname)
        .join(customers, customers.c.id == order_lines.c.customer_id)
        .where(order_lines.c.code == code, order_lines.c.status == "waitlist")
        .order_by(order_lines.c.id)
    )
    if line_id is not None:
        query = query.where(order_lines.c.id == line_id)
    product = product_rows(conn, [code]).get(code)
    moved = 0
    for line in list(conn.execute(query)):
        if product is None:
            break
        if not reserve(conn, code, line.qty, line.variant):
            if line.variant is None:
                break
            continue  # another variant of the product may still have stock
        _set_line(conn, line.id, status="pending")
        named, _ = _priced(product, line.variant)
        changes.ordered(code, line.qty, line.nickname, named, line.unit_price)
        changes.customers.add(line.customer_id)
        moved += 1
    return moved


def set_status(conn: Connection, changes: Changes, line_ids: Sequence[int], status: str) -> int:
    """A helper moves lines along; cancelling gives stock back, waitlist lines need promoting.

    Raises :class:`InvalidInput` for an unknown status and :class:`Conflict` for a move
    that is not allowed (out of cancelled, into waitlist, a waitlist line forward).
    """
    if status not in STATUSES:
        raise InvalidInput(
            f"unknown status {status!r} (one of {', '.join(STATUSES)})", field="status"
        )
    rows = list(conn.execute(select(order_lines).where(order_lines.c.id.in_(list(line_ids)))))
    missing = set(line_ids) - {r.id for r in rows}
    if missing:
        raise NotFound(f"no order line {min(missing)}", field="line")
    moved = 0
    for line in rows:
        if line.status == status:
            continue
        if line.status == "cancelled" or status == "waitlist":
            raise Conflict(
                f"line {line.id} cannot go from {line.status} to {status}", field="status"
            )
        if status == "cancelled":
            moved += cancel_lines(conn, changes, [line])
            continue
        if line.status == "waitlist":
            if not promote_waitlist(conn, changes, line.code, line.id):
                raise Conflict(f"not enough stock of {line.code} for line {line.id}", field="stock")
            if status == "pending":
                moved += 1
                continue
        _set_line(conn, line.id, status=status)
        changes.customers.add(line.customer_id)
        moved += 1
    return moved
