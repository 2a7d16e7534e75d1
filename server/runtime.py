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

if TYPE_CHECKING:
    from .app import AppContext
    from .settings import Settings

__all__ = ["DEMO_COMMENTS", "configured_connectors", "start_background"]

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
        wanted.append(("shopee", options))
    return wanted


async def start_background(ctx: AppContext) -> None:
    """Start the configured connectors under supervision, feeding the order book."""
    from .orders import service_for

    service = service_for(ctx)
    service.connector_state(ConnectorState(name="manual", status="live"))

    async def emit(batch: Sequence[CommentIn]) -> None:
        await service.ingest(batch)

    supervisors: list[Supervisor] = []
    for kind, options in configured_connectors(ctx.settings):
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
