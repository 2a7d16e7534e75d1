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
import threading
import time
from collections.abc import Callable
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
from .shops import DEFAULT_SHOP, Shop, list_shops, open_shop_store, shop_data_dir

__all__ = [
    "INGESTS",
    "AppContext",
    "Forbidden",
    "Helper",
    "HelperLink",
    "Laptop",
    "ShopRegistry",
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
    """One shop's context: everything a request handler of that shop may need.

    The default shop's hangs on ``app.state.ctx``; a route gets the one of the shop
    whose secret it was given (:func:`check_secret`). What all shops share (the
    settings' limits, the registry) is the same object in each.
    """

    settings: Settings
    data_dir: Path  # the shop's folder (the data folder itself for the default shop)
    engine: Engine  # the shop's store
    hub: Hub
    live: LiveService
    secrets: Secrets
    limits: Limits
    shop: Shop = field(default_factory=lambda: Shop(DEFAULT_SHOP, "default", ""))
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    # Several workers (``chotdon serve --workers N``): this one's index, else None.
    worker: int | None = None
    listener: Listener | None = None  # PostgreSQL: the other workers' pokes
    # Made by build_context right after the rest: the service keeps the context.
    orders: OrderService = field(init=False)
    shops: ShopRegistry = field(init=False)

    @property
    def images_dir(self) -> Path:
        return self.data_dir / "images"


# Connectors, OBS, the demo and the bank account follow the setup page, which is the
# laptop's: the default shop's. Other shops take comments through the API (manual,
# ingestion) and show no payment QR: never one that pays another shop's account.
_DEFAULT_ONLY = (
    "tiktok_",
    "facebook_live",
    "facebook_page",
    "shopee_",
    "obs_",
    "demo",
    "bank_",
)


def shop_settings(settings: Settings, shop: Shop) -> Settings:
    """The settings a shop runs with: the server's, without the laptop's own
    connectors, OBS and demo for any shop but the default one."""
    if shop.is_default:
        return settings
    cleared: dict[str, Any] = {
        name: Settings.model_fields[name].default
        for name in Settings.model_fields
        if name.startswith(_DEFAULT_ONLY) and not name.endswith("base_url")
    }
    cleared.update(
        demo=False,
        demo_comments=False,
        shop_name=shop.name,
        helper_token=None,
        overlay_key=None,
    )
    return settings.model_copy(update=cleared)


def _shop_context(
    settings: Settings,
    data_dir: Path,
    engine: Engine,
    shop: Shop,
    limits: Limits,
    worker: int | None = None,
) -> AppContext:
    if settings.demo:
        load_demo_catalog(engine, data_dir)
    hub = Hub()
    # The slug keys the shop's pokes and lock among workers (server.fanout); the
    # default shop's is "default", fanout's DEFAULT_SHOP.
    live = LiveService(engine, hub, shop.slug, media_url=_media_url(shop))
    live.load()
    live.extra["heartbeat"] = settings.heartbeat_seconds
    live.extra["payment_qr"] = bool(settings.bank_bin and settings.bank_account)
    if shop.is_default:
        secrets = load_secrets(settings, data_dir)
    else:
        assert shop.helper_token and shop.overlay_key  # added with both (server.shops)
        secrets = Secrets(helper_token=shop.helper_token, overlay_key=shop.overlay_key)
    ctx = AppContext(
        settings=settings,
        data_dir=data_dir,
        engine=engine,
        hub=hub,
        live=live,
        secrets=secrets,
        limits=limits,
        shop=shop,
        worker=worker,
    )
    ctx.orders = OrderService(ctx)
    return ctx


def _media_url(shop: Shop) -> str:
    return "/media/" if shop.is_default else f"/media/shops/{shop.slug}/"


def build_context(settings: Settings, worker: int | None = None) -> AppContext:
    """The default shop's context, with the registry that finds the others;
    ``worker`` is this process's index among several (see server.workers)."""
    data_dir = settings.resolved_data_dir()
    engine = open_database(data_dir / "chotdon.db", settings.database_url)
    with engine.connect() as conn:
        default = next(s for s in list_shops(conn) if s.is_default)
    limits = Limits.from_settings(settings)
    ctx = _shop_context(settings, data_dir, engine, default, limits, worker)
    ctx.shops = ShopRegistry(ctx)
    return ctx


# Starts the work of a shop whose context is built while the app runs (set by the
# app; callable from any thread).
Starter = Callable[[AppContext], None]
RELOAD_EVERY_S = 1.0


class ShopRegistry:
    """Which shop a secret belongs to, and each shop's context, built on first use.

    Shops added by ``chotdon shop add`` while the server runs are found on the first
    secret nobody else matches (the table is re-read at most once a second, so wrong
    tokens cannot make it read the database in a loop).
    """

    def __init__(self, default: AppContext) -> None:
        self.default = default
        self.contexts: dict[int, AppContext] = {DEFAULT_SHOP: default}
        self.starter: Starter | None = None
        # PostgreSQL: the worker's one poke listener, shared by its shops (server.runtime).
        self.listener: Listener | None = None
        self._shops: dict[int, Shop] = {}
        self._read_at = float("-inf")
        self._opening = threading.Lock()
        self.reload()

    def reload(self) -> None:
        with self.default.engine.connect() as conn:
            self._shops = {shop.id: shop for shop in list_shops(conn)}
        self._read_at = time.monotonic()

    def _lookup(self, given: str | None, role: Role) -> AppContext | None:
        if not given:
            return None
        default = self.default.secrets
        expected = default.overlay_key if role == "overlay" else default.helper_token
        if same_secret(given, expected):
            return self.default
        for shop in self._shops.values():
            if shop.is_default:
                continue
            secret = shop.overlay_key if role == "overlay" else shop.helper_token
            if secret and same_secret(given, secret):
                return self.context(shop.id)
        return None

    def find(self, given: str | None, role: Role) -> AppContext | None:
        """The context of the shop ``given`` is the ``role`` secret of, else ``None``."""
        found = self._lookup(given, role)
        if found is None and given and time.monotonic() - self._read_at >= RELOAD_EVERY_S:
            self.reload()
            found = self._lookup(given, role)
        return found

    def context(self, shop_id: int) -> AppContext:
        """Shop ``shop_id``'s context (KeyError for an unknown shop), built once."""
        ctx = self.contexts.get(shop_id)
        if ctx is not None:
            return ctx
        with self._opening:  # sync routes run in threads: open each shop once
            return self._open(shop_id)

    def _open(self, shop_id: int) -> AppContext:
        ctx = self.contexts.get(shop_id)
        if ctx is None:
            shop = self._shops[shop_id]
            base = self.default
            settings = shop_settings(base.settings, shop)
            data_dir = shop_data_dir(base.data_dir, shop)
            engine = open_shop_store(base.engine, data_dir, shop)
            ctx = _shop_context(settings, data_dir, engine, shop, base.limits, base.worker)
            ctx.shops = self
            self.contexts[shop_id] = ctx
            logger.info("shop %s (%d) opened", shop.slug, shop.id)
            if self.starter is not None:
                self.starter(ctx)
        return ctx

    def by_slug(self, slug: str) -> AppContext | None:
        """Shop ``slug``'s context, else ``None``."""
        for shop in list(self._shops.values()):
            if shop.slug == slug:
                return self.context(shop.id)
        return None

    def media_dir(self, slug: str) -> Path | None:
        """The images folder of shop ``slug`` (not the default one), else ``None``."""
        for shop in list(self._shops.values()):
            if shop.slug == slug and not shop.is_default:
                return self.default.data_dir / "shops" / shop.slug / "images"
        return None


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
) -> AppContext:
    """The context of the shop the secret belongs to, or raise :class:`Unauthorized` /
    :class:`RateLimited` for a wrong secret.

    The overlay role takes the overlay key; the panel and ingestion take the helper
    token. A right secret never touches the failed-sign-in bucket.
    """
    found = ctx.shops.find(given, role)
    if found is not None:
        return found
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
    return check_secret(
        ctx, bearer_token(authorization), "panel", request.client, what="helper token"
    )


async def require_helper_link(
    request: Request,
    authorization: Annotated[str | None, Header()] = None,
    token: Annotated[str | None, Query()] = None,
) -> AppContext:
    """The header, or ``?token=``: only for what the browser opens itself (a download
    link cannot set a header). Routes opt in by taking :data:`HelperLink`."""
    ctx = context(request)
    given = bearer_token(authorization) or (token if request.method == "GET" else None)
    return check_secret(ctx, given, "panel", request.client, what="helper token")


Helper = Annotated[AppContext, Depends(require_helper)]
HelperLink = Annotated[AppContext, Depends(require_helper_link)]


async def require_viewer(request: Request, key: str = "") -> AppContext:
    """``?key=`` is the overlay key or the helper token: what an overlay may see."""
    shops = context(request).shops
    found = shops.find(key, "overlay") or shops.find(key, "panel")
    if found is None:
        raise Unauthorized("missing or wrong key", field="key")
    return found


Viewer = Annotated[AppContext, Depends(require_viewer)]


def require_laptop(request: Request) -> AppContext:
    """The join page's secrets go to the laptop only: a loopback client AND a loopback
    Host (a rebound name reaches us from loopback too)."""
    client = request.client.host if request.client else None
    if not (is_loopback(client) and is_loopback_host(request.headers.get("host"))):
        raise Forbidden("open this page on the laptop itself")
    return context(request)


Laptop = Annotated[AppContext, Depends(require_laptop)]
