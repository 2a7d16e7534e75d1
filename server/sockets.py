"""Websockets: ``/ws/overlay?key=`` (read-only) and ``/ws/panel?token=`` (commands too).

Every socket of the app, ``/ws/ingest`` included, signs in through
:func:`accept_socket`: the Origin allow-list, the key or token, the wrong-token
rate limit and the close codes are decided there and nowhere else. The messages
and close codes are declared in :mod:`server.protocol`, the protocol's reference.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from . import hosts
from . import protocol as p
from .commands import run_command
from .context import AppContext, Unauthorized, check_secret, secret_param
from .errors import DomainError
from .hub import Client
from .protocol import (
    CLOSE_FORBIDDEN_ORIGIN,
    CLOSE_RATE_LIMITED,
    CLOSE_TOO_BIG,
    CLOSE_TRY_AGAIN,
    CLOSE_UNAUTHORIZED,
    MAX_MESSAGE,
    Role,
)
from .ratelimit import RateLimited

__all__ = [
    "CLOSE_FORBIDDEN_ORIGIN",
    "CLOSE_TOO_BIG",
    "CLOSE_TRY_AGAIN",
    "CLOSE_UNAUTHORIZED",
    "MAX_MESSAGE",
    "accept_socket",
    "origin_allowed",
    "router",
]

logger = logging.getLogger(__name__)
router = APIRouter()


def origin_allowed(ws: WebSocket) -> bool:
    """Pages on the Host allow-list only (not "same as Host": the client sets both)."""
    settings = ws.app.state.ctx.settings
    port = hosts.scope_port(ws.scope, settings.port)
    return hosts.origin_allowed(ws.headers.get("origin"), port, settings.allowed_hosts)


async def accept_socket(ws: WebSocket, role: Role) -> AppContext | None:
    """Accept ``ws`` for ``role``: the context of the shop whose secret it carries,
    or ``None`` once it is closed.

    The secret is the ``key`` query parameter for an overlay, ``token`` otherwise.
    Accept first, then close with a code: a refused handshake reaches the browser
    only as a bare 1006, and the page could not tell "wrong token" from "offline".
    """
    ctx: AppContext = ws.app.state.ctx
    # Several workers: say which one answered (tests and logs tell them apart by it).
    worker = None if ctx.worker is None else [(b"x-chotdon-worker", str(ctx.worker).encode())]
    await ws.accept(headers=worker)
    if not origin_allowed(ws):
        await ws.close(code=CLOSE_FORBIDDEN_ORIGIN)
        return None
    try:
        ctx = check_secret(ctx, ws.query_params.get(secret_param(role)), role, ws.client)
    except RateLimited:
        await ws.close(code=CLOSE_RATE_LIMITED)
        return None
    except Unauthorized:
        await ws.close(code=CLOSE_UNAUTHORIZED)
        return None
    return ctx


async def _serve(ws: WebSocket, role: Role) -> None:
    ctx = await accept_socket(ws, role)
    if ctx is None:
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
                client.offer(p.encode(reply))
    except (WebSocketDisconnect, RuntimeError):
        pass  # closed by the peer, or by us after dropping a slow client
    finally:
        ctx.hub.detach(client)
        writer.cancel()
        await asyncio.gather(writer, return_exceptions=True)


async def _write(ws: WebSocket, ctx: AppContext, client: Client) -> None:
    snapshot = p.encode(ctx.live.snapshot())
    await ctx.hub.serve(client, snapshot)
    if client.dropped:  # too slow to keep up: it reconnects and starts from a snapshot
        with contextlib.suppress(RuntimeError):
            await ws.close(code=CLOSE_TRY_AGAIN)


async def _handle(ctx: AppContext, role: Role, text: str) -> p.ServerMessage | None:
    try:
        message = p.read_client_message(text)
    except p.ProtocolError as exc:
        return p.error(str(exc))
    if message is None:
        return None
    if message["type"] == "resync":
        return ctx.live.snapshot()
    if message["type"] == "ping":
        return p.pong()
    if role != "panel":
        return p.command_failed(message["id"], "read-only")
    return await _command(ctx, message)


async def _command(ctx: AppContext, message: p.Command) -> p.CommandAck:
    try:
        await run_command(ctx.live, message["op"], message["args"])
    except DomainError as exc:
        return p.command_failed(message["id"], exc.message, exc.field)
    return p.command_ok(message["id"], ctx.live.rev)


@router.websocket("/ws/overlay")
async def overlay_socket(ws: WebSocket) -> None:
    await _serve(ws, "overlay")


@router.websocket("/ws/panel")
async def panel_socket(ws: WebSocket) -> None:
    await _serve(ws, "panel")
