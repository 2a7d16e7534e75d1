"""REST routes. Every control route needs ``Authorization: Bearer <helper token>``.

Routes that touch the live state are ``async``: they run on the event loop, where
``Hub.publish`` may touch the sockets' queues, and await the live service, whose
database work runs in its writer thread. Routes that only read the database are
plain ``def``, so FastAPI runs them in its threadpool, off the loop.

Downloads the browser opens directly (exports, packing slips) may carry the token as
``?token=`` instead, since a link cannot set a header.
"""

from __future__ import annotations

import json
import logging
from typing import Annotated, Any

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import JSONResponse, Response, StreamingResponse
from sqlalchemy import Connection

from chotdon.catalog import parse_catalog_bytes, rows_to_csv, rows_to_xlsx
from chotdon.codes import normalize_code
from chotdon.eventlog import to_jsonl

from . import catalog, protocol, uploads
from .catalog import Product, ProductCreate, ProductPatch
from .commands import COMMANDS, run_command
from .context import Helper, HelperLink, UploadLimit
from .errors import InvalidInput
from .events import iter_events
from .live import product_view

__all__ = ["router"]

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/api")


# -- catalog -------------------------------------------------------------------


@router.get("/products")
def list_products(ctx: Helper) -> list[dict[str, Any]]:
    with ctx.engine.connect() as conn:
        return [product_view(p, ctx.live.media_url) for p in catalog.list_products(conn)]


@router.post("/products", status_code=201)
async def create_product(ctx: Helper, body: ProductCreate) -> dict[str, Any]:
    product = await ctx.live.edit_catalog(lambda conn: catalog.create_product(conn, body))
    return product_view(product, ctx.live.media_url)


@router.get("/products/{code}")
def get_product(ctx: Helper, code: str) -> dict[str, Any]:
    with ctx.engine.connect() as conn:
        return product_view(catalog.get_product(conn, code), ctx.live.media_url)


@router.patch("/products/{code}")
async def patch_product(ctx: Helper, code: str, body: ProductPatch) -> dict[str, Any]:
    product = await ctx.live.edit_catalog(lambda conn: catalog.patch_product(conn, code, body))
    return product_view(product, ctx.live.media_url)


@router.delete("/products/{code}", status_code=204)
async def delete_product(ctx: Helper, code: str) -> Response:
    await ctx.live.edit_catalog(lambda conn: catalog.delete_product(conn, code))
    return Response(status_code=204)


@router.post("/products/{code}/image")
async def upload_image(
    ctx: Helper, limit: UploadLimit, code: str, file: Annotated[UploadFile, File()]
) -> dict[str, Any]:
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise InvalidInput(f"image over {limit} bytes", field="file")
    extension = uploads.image_extension(data, file.filename)
    name = uploads.stored_image_name(normalize_code(code), data, extension)

    def edit(conn: Connection) -> Product:
        catalog.get_product(conn, code)  # 404 before anything is written
        (ctx.images_dir / name).write_bytes(data)
        return catalog.set_image(conn, code, name)

    product = await ctx.live.edit_catalog(edit)
    return product_view(product, ctx.live.media_url)


@router.post("/catalog/import")
async def import_catalog(
    ctx: Helper, limit: UploadLimit, file: Annotated[UploadFile, File()]
) -> dict[str, int]:
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise InvalidInput("catalog file too large", field="file")
    rows = parse_catalog_bytes(data, filename=file.filename or "catalog.csv")
    created, updated = await ctx.live.edit_catalog(lambda conn: catalog.import_rows(conn, rows))
    return {"created": created, "updated": updated}


@router.get("/catalog/export")
def export_catalog(ctx: HelperLink, format: str = "csv") -> Response:
    with ctx.engine.connect() as conn:
        rows = catalog.to_rows(catalog.list_products(conn))
    if format == "csv":
        # A BOM so Excel opens Vietnamese text as UTF-8.
        body = ("\ufeff" + rows_to_csv(rows)).encode("utf-8")
        media = "text/csv; charset=utf-8"
    elif format == "xlsx":
        body = rows_to_xlsx(rows)
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        raise InvalidInput("format is csv or xlsx", field="format")
    headers = {"Content-Disposition": f'attachment; filename="catalog.{format}"'}
    return Response(body, media_type=media, headers=headers)


# -- live ----------------------------------------------------------------------


@router.get("/live", response_model=None)  # a TypedDict: no pydantic model on 3.11
async def live_snapshot(ctx: Helper) -> Response:
    # Encoded as the sockets encode it, not walked by FastAPI's jsonable_encoder first:
    # the read that must stay fast while the database is busy does the least work.
    return Response(protocol.encode(ctx.live.snapshot()), media_type="application/json")


def _command_route(op: str) -> None:
    async def handler(request: Request, ctx: Helper) -> JSONResponse:
        raw = await request.body()
        try:
            args = json.loads(raw) if raw.strip() else {}
        except (ValueError, RecursionError) as exc:  # a 422 naming the body, not a 500
            raise InvalidInput("the body is not valid JSON", field="body") from exc
        message = await run_command(ctx.live, op, args)
        return JSONResponse({"ok": True, "rev": ctx.live.rev, "result": _result(message)})

    router.add_api_route(f"/live/{op}", handler, methods=["POST"], name=f"live_{op}")


def _result(message: Any) -> Any:
    if isinstance(message, dict) and message.get("type") == "update":
        return {"set": message["set"], "products": message["products"]}
    return message


for _op in COMMANDS:
    _command_route(_op)


# -- sessions ------------------------------------------------------------------


@router.get("/sessions")
def list_sessions(ctx: Helper) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from .db import live_sessions

    with ctx.engine.connect() as conn:
        rows = conn.execute(select(live_sessions).order_by(live_sessions.c.id.desc()))
        return [dict(r._mapping) for r in rows]


@router.get("/sessions/{session_id}/events")
def session_events(ctx: Helper, session_id: int) -> StreamingResponse:
    with ctx.engine.connect() as conn:
        lines = list(to_jsonl(iter_events(conn, session_id)))
    headers = {"Content-Disposition": f'attachment; filename="session-{session_id}.jsonl"'}
    return StreamingResponse(iter(lines), media_type="application/x-ndjson", headers=headers)
