"""The application factory: ``create_app(settings)`` builds everything, import does nothing.

As in datasette, the app object is made from a settings object; tests build one per
temporary data directory and talk to it in-process or over a real loopback socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, func, select
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from assets import DEMO_DIR
from chotdon.catalog import CatalogError, read_catalog

from . import catalog
from .auth import Secrets, load_secrets
from .db import open_database, products, utcnow_iso
from .errors import DomainError, error_body
from .hub import Hub
from .live import LiveService
from .ratelimit import IngestLimit, Limits, RateLimited
from .settings import Settings

__all__ = ["AppContext", "create_app"]

logger = logging.getLogger(__name__)


@dataclass
class AppContext:
    """Everything a request handler may need, hung on ``app.state.ctx``."""

    settings: Settings
    data_dir: Path
    engine: Engine
    hub: Hub
    live: LiveService
    secrets: Secrets
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)

    @property
    def images_dir(self) -> Path:
        return self.data_dir / "images"


def build_context(settings: Settings) -> AppContext:
    data_dir = settings.resolved_data_dir()
    engine = open_database(data_dir / "chotdon.db")
    if settings.demo:
        load_demo_catalog(engine, data_dir)
    hub = Hub()
    live = LiveService(engine, hub)
    live.load()
    live.extra["heartbeat"] = settings.heartbeat_seconds
    live.extra["payment_qr"] = bool(settings.bank_bin and settings.bank_account)
    return AppContext(
        settings=settings,
        data_dir=data_dir,
        engine=engine,
        hub=hub,
        live=live,
        secrets=load_secrets(settings, data_dir),
    )


def load_demo_catalog(engine: Engine, data_dir: Path) -> None:
    """Fill an empty catalog with the demo products and their drawn images."""
    with engine.begin() as conn:
        if conn.scalar(select(func.count()).select_from(products)):
            return
        rows = read_catalog(DEMO_DIR / "catalog.csv")
        for row in rows:
            source = DEMO_DIR / (row.image or "")
            if row.image and source.is_file():
                shutil.copyfile(source, data_dir / "images" / row.image)
        rows = [
            r if (data_dir / "images" / (r.image or "-")).is_file() else replace(r, image=None)
            for r in rows
        ]
        catalog.import_rows(conn, rows)
    logger.info("loaded the demo catalog (%d products)", len(rows))


async def _heartbeat(ctx: AppContext) -> None:
    # Application-level pings: phones behind sleepy Wi-Fi drop sockets silently,
    # and clients reconnect when pings stop arriving.
    while True:
        await asyncio.sleep(ctx.settings.heartbeat_seconds)
        ctx.hub.publish({"type": "ping", "t": utcnow_iso(), "rev": ctx.live.rev})


class BodyLimit:
    """Refuse request bodies over the limit with 413, before they are read into memory."""

    def __init__(self, app: ASGIApp, limit: int, upload_limit: int) -> None:
        self.app = app
        self.limit = limit
        self.upload_limit = upload_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = (
            self.upload_limit
            if "/image" in scope["path"] or "/import" in scope["path"]
            else self.limit
        )
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            response = JSONResponse(error_body(f"request body over {limit} bytes"), status_code=413)
            await response(scope, receive, send)
            return
        seen = 0

        async def limited() -> Any:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise _TooLarge
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            response = JSONResponse(error_body(f"request body over {limit} bytes"), status_code=413)
            await response(scope, receive, send)


class _TooLarge(Exception):
    pass


def _validation_body(exc: RequestValidationError) -> dict[str, Any]:
    # FastAPI's own handler echoes the input, and a body of bare NaN cannot be
    # written back as JSON: a bad request became a 500. Name the first problem only.
    errors = exc.errors()
    if not errors:
        return error_body("invalid request")
    first = errors[0]
    loc = [str(part) for part in first.get("loc", ())]
    if loc and loc[0] in ("body", "query", "path", "header", "cookie"):
        loc = loc[1:]
    field = ".".join(loc) or None
    message = str(first.get("msg") or "invalid value")
    return error_body(f"{field}: {message}" if field else message, field)


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RateLimited)
    async def _rate_limited(_request: Request, exc: RateLimited) -> JSONResponse:
        headers = {"Retry-After": str(exc.retry_after)}
        return JSONResponse(error_body(exc.message), status_code=429, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(_validation_body(exc), status_code=422)

    @app.exception_handler(DomainError)
    async def _domain_error(_request: Request, exc: DomainError) -> JSONResponse:
        retry = getattr(exc, "retry_after", None)  # DatabaseBusy (503)
        headers = {"Retry-After": str(retry)} if retry else None
        body = error_body(exc.message, exc.field)
        return JSONResponse(body, status_code=exc.status, headers=headers)

    @app.exception_handler(CatalogError)
    async def _catalog_error(_request: Request, exc: CatalogError) -> JSONResponse:
        body = error_body(str(exc), exc.column, row=exc.row, column=exc.column)
        return JSONResponse(body, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # Unknown routes (404) and wrong methods (405) keep their status and headers.
        message = str(exc.detail) if exc.detail else "request refused"
        return JSONResponse(error_body(message), status_code=exc.status_code, headers=exc.headers)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ctx = app.state.ctx
        ctx.tasks.append(asyncio.create_task(_heartbeat(ctx)))
        from .runtime import start_background

        await start_background(ctx)
        try:
            yield
        finally:
            for task in ctx.tasks:
                task.cancel()
            await asyncio.gather(*ctx.tasks, return_exceptions=True)
            ctx.hub.close_all()
            ctx.engine.dispose()

    docs = settings.api_docs  # off by default: the API map is not for the LAN
    app = FastAPI(
        title="chotdon",
        version="0.1.0",
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
    )
    ctx = build_context(settings)
    app.state.ctx = ctx
    app.state.limits = Limits.from_settings(settings)
    # Added first, so it runs inside BodyLimit, which bounds the bodies it buffers.
    app.add_middleware(IngestLimit, limits=app.state.limits, helper_token=ctx.secrets.helper_token)
    app.add_middleware(
        BodyLimit, limit=settings.max_body_bytes, upload_limit=settings.max_upload_bytes
    )

    _add_error_handlers(app)

    from . import api, hosts, pages, sockets
    from .orders import api as orders_api

    app.include_router(api.router)
    app.include_router(sockets.router)
    app.include_router(orders_api.router)
    pages.mount(app, ctx)
    # Added last, so outermost: a foreign Host (DNS rebinding) reaches nothing else.
    app.add_middleware(hosts.HostGuard, extra=settings.allowed_hosts, port=settings.port)
    return app
