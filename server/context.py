"""What every route shares: the app's context, how it is built, and the sign-in checks.

Routers import :class:`AppContext` and their dependencies from here, never from
:mod:`server.app`, so the app factory can import its routers at the top of its
module without a cycle. The helper token and the overlay key are checked by
:func:`check_secret` alone, whether a REST route (:data:`Helper`) or a socket
(:func:`server.sockets.accept_socket`) asks; a wrong one draws from the
failed-sign-in bucket (see :mod:`server.ratelimit`).

The route-level markers that configure the middlewares (:data:`UploadLimit`,
:data:`INGESTS`) live in :mod:`server.routemarks` and are re-exported here.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Header, Query, Request
from sqlalchemy import Engine, func, select

from assets import DEMO_DIR
from chotdon.catalog import read_catalog

from . import catalog
from .auth import Secrets, load_secrets, same_secret
from .authgate import bearer_token
from .db import open_database, products
from .errors import DomainError
from .fanout import Listener
from .hosts import is_loopback_host
from .hub import Hub
from .live import LiveService
from .netinfo import is_loopback
from .orders.service import OrderService
from .protocol import Role
from .ratelimit import Limits, RateLimited, client_host
from .routemarks import INGESTS, UploadLimit
from .settings import Settings

__all__ = [
    "INGESTS",
    "AppContext",
    "Forbidden",
    "Helper",
    "HelperLink",
    "Laptop",
    "Unauthorized",
    "UploadLimit",
    "Viewer",
    "build_context",
    "check_secret",
    "context",
    "load_demo_catalog",
    "require_helper",
    "require_helper_link",
    "require_laptop",
    "require_viewer",
    "secret_param",
]

logger = logging.getLogger(__name__)


class Unauthorized(DomainError):
    status = 401


class Forbidden(DomainError):
    status = 403


@dataclass
class AppContext:
    """Everything a request handler may need, hung on ``app.state.ctx``."""

    settings: Settings
    data_dir: Path
    engine: Engine
    hub: Hub
    live: LiveService
    secrets: Secrets
    limits: Limits
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    # Several workers (``chotdon serve --workers N``): this one's index, else None.
    worker: int | None = None
    listener: Listener | None = None  # PostgreSQL: the other workers' pokes
    # Made by build_context right after the rest: the service keeps the context.
    orders: OrderService = field(init=False)

    @property
    def images_dir(self) -> Path:
        return self.data_dir / "images"


def build_context(settings: Settings, worker: int | None = None) -> AppContext:
    data_dir = settings.resolved_data_dir()
    engine = open_database(data_dir / "chotdon.db", settings.database_url)
    if settings.demo:
        load_demo_catalog(engine, data_dir)
    hub = Hub()
    live = LiveService(engine, hub)
    live.load()
    live.extra["heartbeat"] = settings.heartbeat_seconds
    live.extra["payment_qr"] = bool(settings.bank_bin and settings.bank_account)
    ctx = AppContext(
        settings=settings,
        data_dir=data_dir,
        engine=engine,
        hub=hub,
        live=live,
        secrets=load_secrets(settings, data_dir),
        limits=Limits.from_settings(settings),
        worker=worker,
    )
    ctx.orders = OrderService(ctx)
    return ctx


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


# -- sign-in ----------------------------------------------------------------------------


def context(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


def secret_param(role: Role) -> str:
    """The query parameter a socket of ``role`` carries its secret in."""
    return "key" if role == "overlay" else "token"


def check_secret(
    ctx: AppContext, given: str | None, role: Role, client: Any, *, what: str = "token"
) -> None:
    """Pass, or raise :class:`Unauthorized` / :class:`RateLimited` for a wrong secret.

    The overlay role takes the overlay key; the panel and ingestion take the helper
    token. A right secret never touches the failed-sign-in bucket.
    """
    expected = ctx.secrets.overlay_key if role == "overlay" else ctx.secrets.helper_token
    if same_secret(given, expected):
        return
    # On the event loop (async routes and sockets), which share this bucket.
    wait = ctx.limits.failed_auth(client_host(client))
    if wait:
        raise RateLimited("too many wrong tokens from this address", wait)
    raise Unauthorized(f"missing or wrong {what}")


async def require_helper(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> AppContext:
    """``Authorization: Bearer <helper token>``: every API a page calls with fetch."""
    ctx = context(request)
    check_secret(ctx, bearer_token(authorization), "panel", request.client, what="helper token")
    return ctx


async def require_helper_link(
    request: Request,
    authorization: Annotated[str | None, Header()] = None,
    token: Annotated[str | None, Query()] = None,
) -> AppContext:
    """The header, or ``?token=``: only for what the browser opens itself (a download
    link cannot set a header). Routes opt in by taking :data:`HelperLink`."""
    ctx = context(request)
    given = bearer_token(authorization) or (token if request.method == "GET" else None)
    check_secret(ctx, given, "panel", request.client, what="helper token")
    return ctx


Helper = Annotated[AppContext, Depends(require_helper)]
HelperLink = Annotated[AppContext, Depends(require_helper_link)]


def require_viewer(request: Request, key: str = "") -> AppContext:
    """``?key=`` is the overlay key or the helper token: what an overlay may see."""
    ctx = context(request)
    secrets = ctx.secrets
    if not (same_secret(key, secrets.overlay_key) or same_secret(key, secrets.helper_token)):
        raise Unauthorized("missing or wrong key", field="key")
    return ctx


Viewer = Annotated[AppContext, Depends(require_viewer)]


def require_laptop(request: Request) -> AppContext:
    """The join page's secrets go to the laptop only: a loopback client AND a loopback
    Host (a rebound name reaches us from loopback too)."""
    client = request.client.host if request.client else None
    if not (is_loopback(client) and is_loopback_host(request.headers.get("host"))):
        raise Forbidden("open this page on the laptop itself")
    return context(request)


Laptop = Annotated[AppContext, Depends(require_laptop)]
