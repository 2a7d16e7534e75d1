"""Websockets: ``/ws/overlay?key=`` (read-only) and ``/ws/panel?token=`` (commands too).

Protocol: the first message is ``{"type": "snapshot", "rev": N, "state": {...}}``;
then ``{"type": "update", "rev": N+1, "set": {...}, "products": {...}}`` and
``{"type": "ping"}`` heartbeats. A client that sees a gap in ``rev`` sends
``{"type": "resync"}`` and gets a new snapshot. The panel may send
``{"type": "command", "id": ..., "op": "pin", "args": {"code": "A3"}}`` and gets
``{"type": "ack", "id": ..., "ok": true|false, "error"?: ...}``.

Close codes: 4401 wrong or missing key/token, 4403 foreign Origin, 4429 too many
wrong attempts from this address (see :mod:`server.ratelimit`), 1009 message too
big, 1013 too slow to keep up (reconnect and resync).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from . import hosts
from .app import AppContext
from .auth import same_secret
from .commands import run_command
from .errors import DomainError
from .hub import Client, Role
from .ratelimit import CLOSE_RATE_LIMITED, client_host

__all__ = ["router"]

logger = logging.getLogger(__name__)
router = APIRouter()

MAX_MESSAGE = 16 * 1024
CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN_ORIGIN = 4403
CLOSE_TOO_BIG = 1009
CLOSE_TRY_AGAIN = 1013


def origin_allowed(ws: WebSocket) -> bool:
    """Pages on the Host allow-list only (not "same as Host": the client sets both)."""
    settings = ws.app.state.ctx.settings
    port = hosts.scope_port(ws.scope, settings.port)
    return hosts.origin_allowed(ws.headers.get("origin"), port, settings.allowed_hosts)


async def _serve(ws: WebSocket, role: Role, secret: str | None) -> None:
    ctx: AppContext = ws.app.state.ctx
    expected = ctx.secrets.overlay_key if role == "overlay" else ctx.secrets.helper_token
    # Accept first, then close with a code: a refused handshake reaches the browser
    # only as a bare 1006, and the page could not tell "wrong token" from "offline".
    await ws.accept()
    if not origin_allowed(ws):
        await ws.close(code=CLOSE_FORBIDDEN_ORIGIN)
        return
    if not same_secret(secret, expected):
        limited = ws.app.state.limits.failed_auth(client_host(ws.client))
        await ws.close(code=CLOSE_RATE_LIMITED if limited else CLOSE_UNAUTHORIZED)
        return
    client = Client(role=role, send=ws.send_text)
    writer = asyncio.create_task(_write(ws, ctx, client))
    try:
        while not writer.done():
            text = await ws.receive_text()
            if len(text) > MAX_MESSAGE:
                await ws.close(code=CLOSE_TOO_BIG)
                break
            reply = await _handle(ctx, role, text)
            if reply is not None:
                client.offer(json.dumps(reply, ensure_ascii=False))
    except (WebSocketDisconnect, RuntimeError):
        pass  # closed by the peer, or by us after dropping a slow client
    finally:
        ctx.hub.detach(client)
        writer.cancel()
        await asyncio.gather(writer, return_exceptions=True)


async def _write(ws: WebSocket, ctx: AppContext, client: Client) -> None:
    snapshot = json.dumps(ctx.live.snapshot(), ensure_ascii=False)
    await ctx.hub.serve(client, snapshot)
    if client.dropped:  # too slow to keep up: it reconnects and starts from a snapshot
        with contextlib.suppress(RuntimeError):
            await ws.close(code=CLOSE_TRY_AGAIN)


async def _handle(ctx: AppContext, role: Role, text: str) -> dict[str, Any] | None:
    try:
        message = json.loads(text)
    except json.JSONDecodeError:
        return {"type": "error", "error": "messages are JSON objects"}
    if not isinstance(message, dict):
        return {"type": "error", "error": "messages are JSON objects"}
    kind = message.get("type")
    if kind == "resync":
        return ctx.live.snapshot()
    if kind == "ping":
        return {"type": "pong"}
    if kind == "command":
        if role != "panel":
            return {"type": "ack", "id": message.get("id"), "ok": False, "error": "read-only"}
        return await _command(ctx, message)
    return None


async def _command(ctx: AppContext, message: dict[str, Any]) -> dict[str, Any]:
    ack: dict[str, Any] = {"type": "ack", "id": message.get("id")}
    try:
        await run_command(ctx.live, str(message.get("op", "")), message.get("args"))
    except DomainError as exc:
        return {**ack, "ok": False, "error": exc.message, "field": exc.field}
    return {**ack, "ok": True, "rev": ctx.live.rev}


@router.websocket("/ws/overlay")
async def overlay_socket(ws: WebSocket, key: str | None = None) -> None:
    await _serve(ws, "overlay", key)


@router.websocket("/ws/panel")
async def panel_socket(ws: WebSocket, token: str | None = None) -> None:
    await _serve(ws, "panel", token)
