"""Read-only views for the panel and the exports: comments, the order book, buyers.

The order book is grouped per buyer, because that is how a helper works: one
parcel, one phone call, one payment per person. ``scope="open"`` (the default)
is the work still to do, whatever session it came from; ``"all"`` includes
shipped and cancelled lines.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Literal

from sqlalchemy import Connection, Select, select

from server.db import comments, customers, order_lines, products, variants
from server.errors import NotFound

__all__ = [
    "Scope",
    "comment_detail",
    "customer_detail",
    "list_comments",
    "list_customers",
    "order_book",
    "order_lines_view",
]

Scope = Literal["open", "all"]
CLOSED = ("shipped", "cancelled")


def _comment_view(row: Any) -> dict[str, Any]:
    parse = json.loads(row.parse) if row.parse else {}
    return {
        "id": row.id,
        "platform": row.platform,
        "message_id": row.message_id,
        "customer_id": row.customer_id,
        "handle": row.handle,
        "nickname": row.nickname,
        "text": row.text,
        "received_at": row.received_at,
        "intent": row.intent,
        "status": row.status,
        "items": parse.get("items", []),
        "phone": parse.get("phone"),
        "confidence": parse.get("confidence"),
        "bom": bool(row.bom),
    }


def _comments_query() -> Select[Any]:
    return select(
        comments.c.id, comments.c.platform, comments.c.message_id, comments.c.customer_id,
        comments.c.nickname, comments.c.text, comments.c.received_at, comments.c.intent,
        comments.c.status, comments.c.parse, customers.c.handle, customers.c.bom,
    ).join(customers, customers.c.id == comments.c.customer_id)  # fmt: skip


def list_comments(
    conn: Connection,
    *,
    status: str | None = None,
    intent: str | None = None,
    limit: int = 100,
    before: int | None = None,
    ids: Iterable[int] | None = None,
) -> list[dict[str, Any]]:
    """Newest first."""
    query = _comments_query().order_by(comments.c.id.desc()).limit(limit)
    if status:
        query = query.where(comments.c.status == status)
    if intent:
        query = query.where(comments.c.intent == intent)
    if before:
        query = query.where(comments.c.id < before)
    if ids is not None:
        query = query.where(comments.c.id.in_(list(ids)))
    return [_comment_view(r) for r in conn.execute(query)]


def comment_detail(conn: Connection, comment_id: int) -> dict[str, Any]:
    row = conn.execute(_comments_query().where(comments.c.id == comment_id)).first()
    if row is None:
        raise NotFound(f"no comment {comment_id}", field="comment")
    view = _comment_view(row)
    view["parse"] = json.loads(row.parse) if row.parse else None
    return view


def _customer_view(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "platform": row.platform,
        "handle": row.handle,
        "nickname": row.nickname,
        "phone": row.phone,
        "address": row.address,
        "notes": row.notes,
        "bom": bool(row.bom),
    }


def order_lines_view(
    conn: Connection,
    *,
    scope: Scope = "open",
    session_id: int | None = None,
    customer_id: int | None = None,
) -> list[dict[str, Any]]:
    """Order lines with their product and buyer, oldest first."""
    query = (
        select(
            order_lines,
            products.c.name.label("product_name"),
            products.c.unit.label("product_unit"),
            variants.c.name.label("variant_name"),
            customers.c.nickname.label("buyer_nickname"),
        )
        .join(customers, customers.c.id == order_lines.c.customer_id)
        .outerjoin(products, products.c.code == order_lines.c.code)
        .outerjoin(
            variants,
            (variants.c.product_code == order_lines.c.code)
            & (variants.c.key == order_lines.c.variant),
        )
        .order_by(order_lines.c.id)
    )
    if scope == "open":
        query = query.where(order_lines.c.status.not_in(CLOSED))
    if session_id is not None:
        query = query.where(order_lines.c.session_id == session_id)
    if customer_id is not None:
        query = query.where(order_lines.c.customer_id == customer_id)
    return [
        {
            "id": r.id,
            "customer_id": r.customer_id,
            "comment_id": r.comment_id,
            "session_id": r.session_id,
            "code": r.code,
            "name": r.product_name or r.code,
            "unit": r.product_unit or "",
            # The variant's key ("XANH") and name ("Túi xanh"); None for a plain product.
            "variant": r.variant,
            "variant_name": (r.variant_name or r.variant) if r.variant else None,
            "qty": r.qty,
            "unit_price": r.unit_price,
            "amount": round(r.qty * r.unit_price),
            "status": r.status,
            "created_at": r.created_at,
        }
        for r in conn.execute(query)
    ]


def order_book(
    conn: Connection, *, scope: Scope = "open", session_id: int | None = None
) -> list[dict[str, Any]]:
    """Lines grouped per buyer, the buyer with the newest line first.

    ``total`` counts what the buyer owes: cancelled and waitlisted lines are left out.
    """
    lines = order_lines_view(conn, scope=scope, session_id=session_id)
    ids = sorted({line["customer_id"] for line in lines})
    rows = conn.execute(select(customers).where(customers.c.id.in_(ids)))
    buyers = {r.id: {**_customer_view(r), "lines": [], "total": 0} for r in rows}
    for line in lines:
        buyer = buyers[line["customer_id"]]
        buyer["lines"].append(line)
        if line["status"] not in ("cancelled", "waitlist"):
            buyer["total"] += line["amount"]
    return sorted(buyers.values(), key=lambda b: -max(ln["id"] for ln in b["lines"]))


def list_customers(conn: Connection, query: str = "", limit: int = 100) -> list[dict[str, Any]]:
    statement = select(customers).order_by(customers.c.id.desc()).limit(limit)
    if query:
        like = f"%{query.strip()}%"
        statement = statement.where(
            customers.c.handle.like(like)
            | customers.c.nickname.like(like)
            | customers.c.phone.like(like)
        )
    return [_customer_view(r) for r in conn.execute(statement)]


def customer_detail(conn: Connection, customer_id: int) -> dict[str, Any]:
    row = conn.execute(select(customers).where(customers.c.id == customer_id)).first()
    if row is None:
        raise NotFound(f"no customer {customer_id}", field="customer")
    view = _customer_view(row)
    view["created_at"] = row.created_at
    view["orders"] = order_lines_view(conn, scope="all", customer_id=customer_id)
    return view
