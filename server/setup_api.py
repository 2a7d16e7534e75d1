"""The setup page and its API, for the laptop only.

``GET /setup`` (the page), ``GET /api/setup``, ``PUT``/``PATCH /api/setup`` and
``POST /api/setup/test/{platform}``. Every one needs a loopback client AND a
loopback ``Host`` (as ``/api/join``: a rebound name reaches us from loopback
too); the API also needs the helper token in an ``Authorization`` header, which
no page of another site can send without a CORS preflight this server never
approves. So a phone on the Wi-Fi cannot read or change the shop's keys, and
neither can a web page open in the laptop's own browser.

A save is applied at once: ``ctx.settings`` is replaced, the payment-QR flag is
pushed to every page, and the connectors are restarted when their options moved.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, FastAPI, Header, Request
from fastapi.responses import FileResponse, JSONResponse, Response

from overlays import STATIC_DIR

from .context import AppContext, require_helper
from .errors import DomainError, InvalidInput, error_body
from .hosts import is_loopback_host
from .netinfo import is_loopback
from .obs import follower_for
from .runtime import connector_options, restart_connectors
from .settings import Settings
from .setup import SetupStore
from .setup_probe import PLATFORMS, probe

__all__ = ["apply_settings", "install", "router"]

logger = logging.getLogger(__name__)
router = APIRouter()

LAPTOP_ONLY = "open the setup page on the laptop itself (http://127.0.0.1)"


class Forbidden(DomainError):
    status = 403


def install(app: FastAPI) -> None:
    """Mount the routes and run the app with what ``setup.json`` holds (called once)."""
    ctx: AppContext = app.state.ctx
    store = SetupStore(ctx.data_dir, ctx.settings)
    app.state.setup_store = store
    app.state.setup_lock = asyncio.Lock()
    _use(ctx, store.settings())
    app.include_router(router)


def _local(request: Request) -> bool:
    client = request.client.host if request.client else None
    return is_loopback(client) and is_loopback_host(request.headers.get("host"))


async def laptop(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> AppContext:
    """Loopback first (a LAN client learns nothing, not even whether a token is right)."""
    if not _local(request):
        raise Forbidden(LAPTOP_ONLY)
    # The header only: a token in the URL would sit in the browser's history.
    return await require_helper(request, authorization)


Laptop = Annotated[AppContext, Depends(laptop)]
Changes = Annotated[dict[str, Any], Body()]


def _store(request: Request) -> SetupStore:
    store: SetupStore = request.app.state.setup_store
    return store


@router.get("/setup", include_in_schema=False)
def setup_page(request: Request) -> Response:
    if not _local(request):
        return JSONResponse(error_body(LAPTOP_ONLY), status_code=403)
    return FileResponse(
        STATIC_DIR / "setup.html", media_type="text/html", headers={"Cache-Control": "no-cache"}
    )


@router.get("/api/setup")
async def get_setup(request: Request, _ctx: Laptop) -> dict[str, Any]:
    return _store(request).view()


@router.put("/api/setup")
async def put_setup(request: Request, ctx: Laptop, changes: Changes) -> dict[str, Any]:
    return await _save(request, ctx, changes, replace=True)


@router.patch("/api/setup")
async def patch_setup(request: Request, ctx: Laptop, changes: Changes) -> dict[str, Any]:
    return await _save(request, ctx, changes, replace=False)


@router.post("/api/setup/test/{platform}")
async def test_platform(
    request: Request, platform: str, _ctx: Laptop, changes: Annotated[Any, Body()] = None
) -> dict[str, Any]:
    """Test with the saved values, or with the form's unsaved ones given as the body."""
    if platform not in PLATFORMS:
        raise InvalidInput(
            f"platform: one of {', '.join(PLATFORMS)}, not {platform[:40]!r}", field="platform"
        )
    if changes is not None and not isinstance(changes, dict):
        raise InvalidInput("the body is a JSON object of setup fields")
    settings = _store(request).preview(changes or {})
    result = await probe(platform, settings)
    logger.info("setup test %s: %s %s", platform, result.code, result.detail)
    return result.to_dict()


async def _save(
    request: Request, ctx: AppContext, changes: dict[str, Any], *, replace: bool
) -> dict[str, Any]:
    if not isinstance(changes, dict):
        raise InvalidInput("the body is a JSON object of setup fields")
    store = _store(request)
    async with request.app.state.setup_lock:  # one save and one connector restart at a time
        # Off the loop: the file is written and fsynced.
        settings = await asyncio.to_thread(store.save, changes, replace=replace)
        await apply_settings(ctx, settings)
    return store.view()


async def apply_settings(ctx: AppContext, settings: Settings) -> None:
    """Run with ``settings`` from now on; restart the connectors if theirs changed."""
    old = ctx.settings
    _use(ctx, settings)
    if connector_options(old) != connector_options(settings):
        await restart_connectors(ctx)
    follower = follower_for(ctx)
    if follower is not None and (old.obs_url, old.obs_password) != (
        settings.obs_url,
        settings.obs_password,
    ):
        follower.configure(settings.obs_url, settings.obs_password)


def _use(ctx: AppContext, settings: Settings) -> None:
    ctx.settings = settings
    payment_qr = bool(settings.bank_bin and settings.bank_account)
    if ctx.live.extra.get("payment_qr") != payment_qr:
        ctx.live.extra["payment_qr"] = payment_qr
        # A fresh snapshot to every page: the QR flag is not part of the live state's
        # revisions, and a snapshot is what every client already knows how to take.
        ctx.hub.publish(ctx.live.snapshot())
