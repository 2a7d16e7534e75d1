"""The application factory: ``create_app(settings)`` builds everything, import does nothing.

As in datasette, the app object is made from a settings object; tests build one per
temporary data directory and talk to it in-process or over a real loopback socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from chotdon.catalog import CatalogError

from . import (
    api,
    hosts,
    obs_api,
    pages,
    protocol,
    routemarks,
    setup_api,
    sockets,
    stats_api,
    studio_api,
)
from .authgate import TokenFirst
from .context import AppContext, build_context
from .db import utcnow_iso
from .errors import DomainError, error_body
from .orders import api as orders_api
from .ratelimit import IngestLimit, RateLimited
from .routemarks import RouteMarks
from .runtime import start_background, start_fanout
from .settings import Settings

__all__ = ["ROUTERS", "create_app"]

logger = logging.getLogger(__name__)

# Every router of the API; pages.mount adds the pages and files.
ROUTERS = (
    api.router,
    sockets.router,
    orders_api.router,
    obs_api.router,
    stats_api.router,
    studio_api.router,
)


async def _heartbeat(ctx: AppContext) -> None:
    # Application-level pings: phones behind sleepy Wi-Fi drop sockets silently,
    # and clients reconnect when pings stop arriving.
    while True:
        await asyncio.sleep(ctx.settings.heartbeat_seconds)
        ctx.hub.publish(protocol.ping(utcnow_iso(), ctx.live.rev))


async def _start_shop(ctx: AppContext) -> None:
    ctx.tasks.append(asyncio.create_task(_heartbeat(ctx)))
    start_fanout(ctx)  # the worker's one listener; this shop subscribes
    await start_background(ctx)


async def _stop_shop(ctx: AppContext) -> None:
    for task in ctx.tasks:
        task.cancel()
    await asyncio.gather(*ctx.tasks, return_exceptions=True)
    await ctx.live.stop_catching_up()  # the listener is gone (the default shop's task)
    await ctx.orders.drain()
    ctx.hub.close_all()
    # A cancelled task's job may still run in the writer thread: let it finish
    # first, or its connection outlives the pool (psycopg warns; SQLite is silent).
    # The thread runs jobs in order, so an empty one returns after them all.
    await ctx.live.writer.run(lambda: None)
    if ctx.engine is not ctx.shops.default.engine and ctx.engine.url.get_backend_name() == "sqlite":
        ctx.engine.dispose()  # a shop's own SQLite file (on PostgreSQL: the shared pool)


class BodyLimit:
    """Refuse request bodies over the limit with 413, before they are read into memory.

    Routes that take an :data:`~server.routemarks.UploadLimit` get ``upload_limit``.
    """

    def __init__(
        self, app: ASGIApp, limit: int, upload_limit: int, routes: Sequence[BaseRoute]
    ) -> None:
        self.app = app
        self.limit = limit
        self.upload_limit = upload_limit
        self.uploads = RouteMarks(routes, routemarks.upload_limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.upload_limit if self.uploads.matches(scope) else self.limit
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
                raise _TooLarge(limit)
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            response = JSONResponse(error_body(f"request body over {limit} bytes"), status_code=413)
            await response(scope, receive, send)


class _TooLarge(StarletteHTTPException):
    # An HTTP error, so a route that is reading its body lets it through as a 413
    # (FastAPI turns any other exception while reading a body into a 400).
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body over {limit} bytes")


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


def create_app(settings: Settings | None = None, *, worker: int | None = None) -> FastAPI:
    """The app for ``settings``; ``worker`` is its index among several (see server.workers)."""
    settings = settings or Settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ctx: AppContext = app.state.ctx
        shops = ctx.shops
        for opened in list(shops.contexts.values()):
            await _start_shop(opened)
        # A shop first signed in to while the app runs starts its work then.
        loop = asyncio.get_running_loop()

        def start(opened: AppContext) -> None:
            opened.tasks.append(loop.create_task(_start_shop(opened), name="shop-start"))

        def schedule(opened: AppContext) -> None:
            loop.call_soon_threadsafe(start, opened)

        shops.starter = schedule
        # What start-up built (routes, schemas, tables, the catalog) lives as long as
        # the server: out of the cyclic collector's way, a full collection walks only
        # what the live has made since, a pause of milliseconds instead of tens.
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()  # a process that runs several apps (tests) can collect them
            shops.starter = None
            for opened in list(shops.contexts.values()):
                await _stop_shop(opened)
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
    ctx = build_context(settings, worker)
    app.state.ctx = ctx
    app.state.limits = ctx.limits
    # Both apply to the routes marked for them (server.routemarks), not to paths.
    routes = [route for router in ROUTERS for route in router.routes]
    # Added first, so it runs inside BodyLimit, which bounds the bodies it buffers.
    app.add_middleware(IngestLimit, limits=ctx.limits, routes=routes)
    app.add_middleware(
        BodyLimit,
        limit=settings.max_body_bytes,
        upload_limit=settings.max_upload_bytes,
        routes=routes,
    )
    # Outside both: no body is read before the token is checked.
    app.add_middleware(
        TokenFirst,
        limits=app.state.limits,
        is_helper_token=lambda given: ctx.shops.find(given, "panel") is not None,
    )

    _add_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    setup_api.install(app)  # the setup page; runs the app with what setup.json holds
    pages.mount(app, ctx)
    # Added last, so outermost: a foreign Host (DNS rebinding) reaches nothing else.
    app.add_middleware(hosts.HostGuard, extra=settings.allowed_hosts, port=settings.port)
    return app
