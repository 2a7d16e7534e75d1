"""Routes of the order book: ingestion (REST and websocket), review, orders, buyers, exports.

Handlers that change the order book are ``async``: they await the order service,
whose transactions run in the live service's writer thread under the command
lock, so an order's database work and its broadcast are never interleaved with
another's. Handlers that only read the database are plain ``def``: FastAPI runs
them in its threadpool, off the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field

from chotdon.limits import MAX_QTY
from server import protocol, validate
from server.connectors.manual import manual_comment
from server.context import INGESTS, AppContext, Helper, HelperLink
from server.errors import InvalidInput
from server.sockets import accept_socket

from . import decisions, export, queries
from .service import ItemIn, OrderService

__all__ = ["router"]

logger = logging.getLogger(__name__)
router = APIRouter()

MAX_INGEST_MESSAGE = 1024 * 1024
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# -- ingestion --------------------------------------------------------------------


@router.post("/api/comments", dependencies=[INGESTS], openapi_extra=validate.BATCH_OPENAPI)
async def post_comments(ctx: Helper, request: Request) -> JSONResponse:
    # The body is read here, item by item: one bad comment must not fail its batch.
    status, body = await validate.ingest_body(ctx.orders, await request.body())
    return JSONResponse(body, status_code=status)


class ManualIn(BaseModel):
    text: str = Field(min_length=1, max_length=2000)
    nickname: str = Field(default="", max_length=100)


@router.post("/api/comments/manual")
async def post_manual(ctx: Helper, body: ManualIn) -> dict[str, Any]:
    """A comment typed on the panel; the buyer's name makes the buyer (``manual:<name>``)."""
    name = " ".join(body.nickname.split()) or "Khách"
    try:
        comment = manual_comment(body.text, "panel", nickname=name)
    except ValueError as exc:
        raise InvalidInput(str(exc), field="text") from exc
    comment = comment.model_copy(update={"user": f"manual:{name.casefold()}"[:200]})
    return (await ctx.orders.ingest([comment]))[0].to_dict()


@router.websocket("/ws/ingest", dependencies=[INGESTS])
async def ingest_socket(ws: WebSocket) -> None:
    """One JSON comment or list per message; each gets ``{"type": "ack", "results": [...]}``
    once stored."""
    ctx = await accept_socket(ws, "ingest")
    if ctx is None:
        return
    service = ctx.orders
    try:
        while True:
            text = await ws.receive_text()
            await ws.send_text(protocol.encode(await _ingest_message(service, text)))
            # Queued messages come back without suspending: a client far ahead of the
            # server would hold the loop until its backlog is gone, starving helpers'
            # commands and the overlays. One yield per message keeps the loop fair.
            await asyncio.sleep(0)
    except WebSocketDisconnect:
        return


async def _ingest_message(service: OrderService, text: str) -> dict[str, Any]:
    return await validate.ingest_message(service, text, MAX_INGEST_MESSAGE)


# -- comments and the review queue ------------------------------------------------


@router.get("/api/comments")
def get_comments(
    ctx: Helper,
    status: str | None = None,
    intent: str | None = None,
    before: int | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    with ctx.engine.connect() as conn:
        rows = queries.list_comments(conn, status=status, intent=intent, before=before, limit=limit)
        return decisions.rank_review_queue(conn, rows) if status == "review" else rows


@router.get("/api/comments/{comment_id}")
def get_comment(ctx: Helper, comment_id: int) -> dict[str, Any]:
    with ctx.engine.connect() as conn:
        return queries.comment_detail(conn, comment_id)


class ItemBody(BaseModel):
    code: str = Field(min_length=1, max_length=40)  # "B6" or "B6/XANH"
    qty: float | None = Field(default=None, gt=0, le=MAX_QTY)
    variant: str | None = Field(default=None, min_length=1, max_length=64)


class ConfirmBody(BaseModel):
    intent: Literal["order", "cancel"] | None = None
    items: list[ItemBody] | None = Field(default=None, max_length=20)


@router.post("/api/comments/{comment_id}/confirm")
async def confirm_comment(ctx: Helper, comment_id: int, body: ConfirmBody) -> dict[str, Any]:
    items = None if body.items is None else [ItemIn(i.code, i.qty, i.variant) for i in body.items]
    status = await ctx.orders.confirm(comment_id, items, body.intent)
    return {"ok": True, "status": status}


@router.post("/api/comments/{comment_id}/reject")
async def reject_comment(ctx: Helper, comment_id: int) -> dict[str, Any]:
    await ctx.orders.reject(comment_id)
    return {"ok": True, "status": "rejected"}


@router.get("/api/parser/alias-suggestions")
async def get_alias_suggestions(ctx: Helper) -> list[dict[str, Any]]:
    """Words helpers resolved to a product by editing parses, not yet in the catalog."""
    known = {code: [p["name"], *(p.get("aliases") or ())] for code, p in ctx.live.products.items()}
    with ctx.engine.connect() as conn:
        return [s.to_json() for s in decisions.alias_suggestions(conn, known)]


@router.post("/api/comments/{comment_id}/show")
async def show_comment(ctx: Helper, comment_id: int) -> dict[str, Any]:
    await ctx.orders.show_comment(comment_id)
    return {"ok": True, "rev": ctx.live.rev}


@router.post("/api/comments/hide")
async def hide_comment(ctx: Helper) -> dict[str, Any]:
    await ctx.orders.hide_comment()
    return {"ok": True, "rev": ctx.live.rev}


# -- orders -------------------------------------------------------------------------


class StatusBody(BaseModel):
    status: str = Field(min_length=1, max_length=20)


@router.get("/api/orders")
def get_orders(
    ctx: Helper, scope: queries.Scope = "open", session: int | None = None
) -> list[dict[str, Any]]:
    with ctx.engine.connect() as conn:
        return queries.order_book(conn, scope=scope, session_id=session)


@router.post("/api/orders/lines/{line_id}/status")
async def line_status(ctx: Helper, line_id: int, body: StatusBody) -> dict[str, Any]:
    moved = await ctx.orders.set_line_status([line_id], body.status)
    return {"ok": True, "moved": moved}


@router.post("/api/orders/buyers/{customer_id}/status")
async def buyer_status(ctx: Helper, customer_id: int, body: StatusBody) -> dict[str, Any]:
    moved = await ctx.orders.set_buyer_status(customer_id, body.status)
    return {"ok": True, "moved": moved}


@router.post("/api/orders/waitlist/{code}/promote")
async def promote(ctx: Helper, code: str) -> dict[str, Any]:
    return {"ok": True, "moved": await ctx.orders.promote(code)}


def _book(ctx: AppContext, scope: queries.Scope, session: int | None) -> list[dict[str, Any]]:
    with ctx.engine.connect() as conn:
        return queries.order_book(conn, scope=scope, session_id=session)


def _filename(kind: str, ext: str) -> dict[str, str]:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    return {"Content-Disposition": f'attachment; filename="don-hang-{kind}-{stamp}.{ext}"'}


@router.get("/api/orders/export.csv")
def export_csv(
    ctx: HelperLink,
    by: Literal["line", "buyer"] = "line",
    scope: queries.Scope = "open",
    session: int | None = None,
) -> Response:
    book = _book(ctx, scope, session)
    if by == "line":
        body = export.to_csv(export.LINE_HEADERS, export.line_rows(book))
    else:
        body = export.to_csv(export.BUYER_HEADERS, export.buyer_rows(book))
    return Response(body, media_type="text/csv; charset=utf-8", headers=_filename(by, "csv"))


@router.get("/api/orders/export.xlsx")
def export_xlsx(
    ctx: HelperLink, scope: queries.Scope = "open", session: int | None = None
) -> Response:
    book = _book(ctx, scope, session)
    body = export.to_xlsx(
        [
            ("Theo người mua", export.BUYER_HEADERS, export.buyer_rows(book)),
            ("Theo dòng", export.LINE_HEADERS, export.line_rows(book)),
        ]
    )
    return Response(body, media_type=XLSX, headers=_filename("tong-hop", "xlsx"))


@router.get("/api/orders/slips", response_class=HTMLResponse)
def slips(
    ctx: HelperLink,
    paper: Literal["a4", "80mm"] = "a4",
    scope: queries.Scope = "open",
    session: int | None = None,
) -> HTMLResponse:
    page = export.slips_html(_book(ctx, scope, session), paper=paper)
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})


# -- buyers -------------------------------------------------------------------------


class CustomerPatch(BaseModel):
    nickname: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=20, pattern=r"^[0-9+ .\-]*$")
    address: str | None = Field(default=None, max_length=1000)
    notes: str | None = Field(default=None, max_length=2000)
    bom: bool | None = None


@router.get("/api/customers")
def get_customers(
    ctx: Helper, q: str = "", limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> list[dict[str, Any]]:
    with ctx.engine.connect() as conn:
        return queries.list_customers(conn, q, limit)


@router.get("/api/customers/{customer_id}")
def get_customer(ctx: Helper, customer_id: int) -> dict[str, Any]:
    with ctx.engine.connect() as conn:
        return queries.customer_detail(conn, customer_id)


@router.patch("/api/customers/{customer_id}")
async def patch_customer(ctx: Helper, customer_id: int, body: CustomerPatch) -> dict[str, Any]:
    values = body.model_dump(exclude_none=True)
    if "bom" in values:
        values["bom"] = int(values["bom"])
    return await ctx.orders.update_customer(customer_id, values)


# -- connectors ---------------------------------------------------------------------


@router.get("/api/connectors")
async def get_connectors(ctx: Helper) -> list[dict[str, Any]]:
    return list(ctx.orders.connectors.values())
