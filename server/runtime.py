"""Background work started with the app: the demo audience and configured connectors.

Each connector runs under a :class:`~server.connectors.Supervisor` (reconnect with
backoff) and emits straight into the order book's ingestion, on the event loop.
Their states go to the panels as they change. One task in ``ctx.tasks`` owns
them all: when the app shuts down and cancels it, it stops every supervisor.

A connector whose settings are wrong (a typo'd demo file, a missing Shopee key)
is logged and shown as failed; it never stops the server from starting.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from assets import DEMO_DIR
from server.comments import CommentIn
from server.connectors import ConnectorError, ConnectorState, Supervisor, build_connector
from server.connectors.facebook import DEFAULT_BASE_URL as FACEBOOK_URL
from server.connectors.shopee import DEFAULT_BASE_URL as SHOPEE_URL
from server.fanout import Listener, Poke
from server.obs import start_obs

if TYPE_CHECKING:
    from .context import AppContext
    from .settings import Settings

__all__ = [
    "DEMO_COMMENTS",
    "configured_connectors",
    "connector_options",
    "restart_connectors",
    "start_background",
    "start_connectors",
    "start_fanout",
    "stop_connectors",
]

logger = logging.getLogger(__name__)

DEMO_COMMENTS = DEMO_DIR / "comments.jsonl"


def configured_connectors(settings: Settings) -> list[tuple[str, dict[str, Any]]]:
    """``(kind, options)`` for every connector the settings turn on."""
    wanted: list[tuple[str, dict[str, Any]]] = []
    if settings.demo and settings.demo_comments:
        options = {"path": DEMO_COMMENTS, "speed": settings.demo_comment_speed, "loop": True}
        wanted.append(("sim", options))
    if settings.tiktok_unique_id:
        options = {"unique_id": settings.tiktok_unique_id}
        if settings.tiktok_sign_api_key:
            options["sign_api_key"] = settings.tiktok_sign_api_key
        wanted.append(("tiktok", options))
    if settings.facebook_live_video_id or settings.facebook_page_token:
        options = {
            "live_video_id": settings.facebook_live_video_id,
            "access_token": settings.facebook_page_token,
        }
        if settings.facebook_stream:
            options["stream"] = True
        wanted.append(("facebook", options))
    if settings.shopee_partner_id or settings.shopee_session_id:
        options = {
            "partner_id": settings.shopee_partner_id,
            "partner_key": settings.shopee_partner_key,
            "access_token": settings.shopee_access_token,
            "session_id": settings.shopee_session_id,
        }
        if settings.shopee_shop_id:
            options["shop_id"] = settings.shopee_shop_id
        if settings.shopee_user_id:
            options["user_id"] = settings.shopee_user_id
        if settings.shopee_refresh_token:
            options["refresh_token"] = settings.shopee_refresh_token
        wanted.append(("shopee", options))
    return wanted


def connector_options(settings: Settings) -> list[tuple[str, dict[str, Any]]]:
    """:func:`configured_connectors`, pointed at the API addresses the settings name."""
    urls = {"facebook": settings.facebook_base_url, "shopee": settings.shopee_base_url}
    defaults = {"facebook": FACEBOOK_URL, "shopee": SHOPEE_URL}
    wanted = configured_connectors(settings)
    for kind, options in wanted:
        if kind in urls and urls[kind] != defaults[kind]:
            options["base_url"] = urls[kind]
    return wanted


async def stop_connectors(ctx: AppContext) -> None:
    """Stop every running connector (the task :func:`start_background` left in ``ctx.tasks``)."""
    running = [t for t in ctx.tasks if t.get_name() == "connectors"]
    for task in running:
        task.cancel()
        ctx.tasks.remove(task)
    await asyncio.gather(*running, return_exceptions=True)


async def restart_connectors(ctx: AppContext) -> None:
    """Stop the running connectors and start those ``ctx.settings`` now asks for.

    The setup page calls this after a save, so new platform credentials work
    without restarting the server. Connectors resume from scratch: ids already
    stored are de-duplicated by the order book.
    """
    await stop_connectors(ctx)
    start_connectors(ctx)
    logger.info("connectors restarted with the new settings")


def start_fanout(ctx: AppContext) -> None:
    """On PostgreSQL, listen for the other workers' pokes (see :mod:`server.fanout`):
    numbered updates go to the live service, panel news to the order book.

    One listener per worker, whatever the number of shops: the first shop started
    opens it (its task is the default shop's, stopped first at shutdown), and every
    shop subscribes to its own slug's pokes."""
    live = ctx.live
    if not live.shared:
        return
    shops = ctx.shops
    if shops.listener is None:
        shops.listener = Listener(ctx.settings.database_url)
        task = asyncio.create_task(shops.listener.run(), name="fanout")
        shops.default.tasks.append(task)
    ctx.listener = shops.listener

    def on_poke(poke: Poke) -> None:
        if poke.origin == live.origin:
            return
        if poke.kind == "rev":
            live.poked(poke.rev, poke.origin)
        else:
            ctx.orders.news_from_peer(poke.kind, poke.ids)

    shops.listener.subscribe(live.shop, on_poke, live.check)


async def start_background(ctx: AppContext) -> None:
    """Start the OBS follower and the configured connectors (see :func:`start_connectors`).

    With several workers only the first runs them: one connector per platform
    account, one OBS follower; the others serve sockets and pages.
    """
    ctx.orders.connector_state(ConnectorState(name="manual", status="live"))
    if ctx.worker not in (None, 0):
        return
    start_obs(ctx)  # OBS recording follows the session; idle without CHOTDON_OBS_URL
    start_connectors(ctx)


def start_connectors(ctx: AppContext) -> None:
    """Start the configured connectors under supervision, feeding the order book
    (worker 0 only, when there are several: one reader per platform account)."""
    if ctx.worker not in (None, 0):
        logger.info("connectors run on worker 0 only; not started on worker %s", ctx.worker)
        return
    service = ctx.orders

    async def emit(batch: Sequence[CommentIn]) -> None:
        await service.ingest(batch)

    supervisors: list[Supervisor] = []
    for kind, options in connector_options(ctx.settings):
        try:
            connector = build_connector(kind, **options)
        except (ConnectorError, ValueError) as exc:
            logger.error("connector %s not started: %s", kind, exc)
            service.connector_state(ConnectorState(name=kind, status="failed", last_error=str(exc)))
            continue
        supervisor = Supervisor(connector, emit, on_state=service.connector_state)
        supervisor.start()
        supervisors.append(supervisor)
    if supervisors:
        ctx.tasks.append(asyncio.create_task(_keep(supervisors), name="connectors"))
    logger.info("background started: %d connector(s)", len(supervisors))


async def _keep(supervisors: list[Supervisor]) -> None:
    """Live as long as the app; on cancellation stop every connector cleanly."""
    try:
        await asyncio.Event().wait()
    finally:
        await asyncio.gather(*(s.stop() for s in supervisors), return_exceptions=True)
