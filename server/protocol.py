"""The socket protocol: every message the server sends and every message it reads.

This module is the protocol's reference; pages (``overlays/static/*.js``) and
ingestion clients follow it. Messages are JSON objects with a ``type``, sent as
one text frame each and encoded by :func:`encode` (UTF-8 text kept readable, no
spaces).

Sockets
-------
``/ws/overlay?key=<overlay key>``
    Read-only view for the OBS overlays.
``/ws/panel?token=<helper token>``
    The helpers' panel: the same view, commands, and the order book's news.
``/ws/ingest?token=<helper token>``
    Comments in from an external connector; answered, nothing broadcast to it.

Every socket is accepted first and then, if refused, closed with a code the page
can read (a refused handshake reaches a browser only as a bare 1006):
:data:`CLOSE_FORBIDDEN_ORIGIN` (4403) a page from a foreign Origin (or a foreign
Host, see :mod:`server.hosts`), :data:`CLOSE_UNAUTHORIZED` (4401) a missing or
wrong key/token, :data:`CLOSE_RATE_LIMITED` (4429) too many wrong attempts from
this address or too many comments (:mod:`server.ratelimit`),
:data:`CLOSE_TOO_BIG` (1009) a message over the size limit, and
:data:`CLOSE_TRY_AGAIN` (1013) a client too slow to keep up (reconnect, resync).

Server to overlay and panel
---------------------------
:class:`Snapshot` ``{"type": "snapshot", "rev", "t", "state"}``
    The whole on-air state; always the first message, and the answer to ``resync``.
:class:`Update` ``{"type": "update", "rev", "t", "set", "products"}``
    One numbered change: ``rev`` is the snapshot's plus one, then plus one per
    update. ``set`` replaces top-level state keys; ``products`` replaces product
    views by code (``null`` deletes). A client that sees a gap in ``rev`` sends
    ``resync``.
:class:`Ping` ``{"type": "ping", "t", "rev"}``
    Heartbeat every ``heartbeat`` seconds (the snapshot's ``state.heartbeat``);
    a client that hears nothing for a few of them reconnects.
:class:`Pong` ``{"type": "pong"}``
    The answer to a client's ``ping``.
:class:`Error` ``{"type": "error", "error", "field"?}``
    A message the server could not read; the socket stays open.

Server to panel only (unnumbered: panels fetch details over REST, also after a reconnect)
------------------------------------------------------------------------------------------
:class:`CommandAck` ``{"type": "ack", "id", "ok", "rev"? | "error"?, "field"?}``
    The answer to a ``command``, ``id`` echoed.
:class:`CommentsPush` ``{"type": "comments", "items"}``
    New or changed comments, as ``GET /api/comments`` lists them.
:class:`OrdersChanged` ``{"type": "orders_changed", "customers"}``
    The order lines of these buyers changed.
:class:`ConnectorsPush` ``{"type": "connectors", "items"}``
    Every comment connector's state (``ConnectorState.to_dict()``).

Clients to the server
---------------------
:class:`Resync` ``{"type": "resync"}``
    Ask for a new snapshot.
:class:`ClientPing` ``{"type": "ping"}``
    Answered with ``pong``.
:class:`Command` ``{"type": "command", "id", "op", "args"}``
    Panel only (an overlay gets ``ack`` with ``ok: false``). ``op`` is one of
    :data:`server.commands.COMMANDS` (``pin``, ``price``, ``countdown/stop``, ...),
    the same as ``POST /api/live/<op>``; ``args`` is that route's body.

``/ws/ingest``
--------------
Each message is one comment object (:class:`server.comments.CommentIn`) or a list
of them; the answer is :class:`IngestAck` ``{"type": "ack", "results"}`` (one
result per comment, as ``POST /api/comments`` answers) or an :class:`Error`.

Event log
---------
What the server logs for the clip studio is not a socket message; its types are
:class:`chotdon.eventlog.EventType`, re-exported here as :data:`EventType`.
"""

# No "from __future__ import annotations": TypedDict reads NotRequired[...] from the
# evaluated annotations (tests compare the declared keys with what goes on the wire).
import json
from collections.abc import Mapping
from typing import Any, Literal, NotRequired, TypedDict

from chotdon.eventlog import EVENT_TYPES, EventType

from . import validate

__all__ = [
    "CLOSE_FORBIDDEN_ORIGIN",
    "CLOSE_RATE_LIMITED",
    "CLOSE_TOO_BIG",
    "CLOSE_TRY_AGAIN",
    "CLOSE_UNAUTHORIZED",
    "EVENT_TYPES",
    "MAX_MESSAGE",
    "ClientMessage",
    "ClientPing",
    "Command",
    "CommandAck",
    "CommentsPush",
    "ConnectorsPush",
    "Error",
    "EventType",
    "IngestAck",
    "OrdersChanged",
    "Ping",
    "Pong",
    "ProtocolError",
    "Resync",
    "Role",
    "ServerMessage",
    "Snapshot",
    "Update",
    "command_failed",
    "command_ok",
    "comments_push",
    "connectors_push",
    "encode",
    "error",
    "ingest_ack",
    "orders_changed",
    "ping",
    "pong",
    "read_client_message",
    "snapshot",
    "update",
]

Role = Literal["overlay", "panel", "ingest"]

CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN_ORIGIN = 4403
CLOSE_RATE_LIMITED = 4429
CLOSE_TOO_BIG = 1009
CLOSE_TRY_AGAIN = 1013

# The largest message an overlay or panel may send (commands are small).
MAX_MESSAGE = 16 * 1024

ProductViews = dict[str, dict[str, Any] | None]


# -- server to overlay and panel -------------------------------------------------------


class Snapshot(TypedDict):
    type: Literal["snapshot"]
    rev: int
    t: str
    state: dict[str, Any]


class Update(TypedDict):
    type: Literal["update"]
    rev: int
    t: str
    set: dict[str, Any]
    products: ProductViews


class Ping(TypedDict):
    type: Literal["ping"]
    t: str
    rev: int


class Pong(TypedDict):
    type: Literal["pong"]


class Error(TypedDict):
    type: Literal["error"]
    error: str
    field: NotRequired[str | None]


# -- server to panel only --------------------------------------------------------------


class CommandAck(TypedDict):
    type: Literal["ack"]
    id: Any
    ok: bool
    rev: NotRequired[int]
    error: NotRequired[str]
    field: NotRequired[str | None]


class CommentsPush(TypedDict):
    type: Literal["comments"]
    items: list[dict[str, Any]]


class OrdersChanged(TypedDict):
    type: Literal["orders_changed"]
    customers: list[int]


class ConnectorsPush(TypedDict):
    type: Literal["connectors"]
    items: list[dict[str, Any]]


class IngestAck(TypedDict):
    type: Literal["ack"]
    results: list[dict[str, Any]]


ServerMessage = (
    Snapshot
    | Update
    | Ping
    | Pong
    | Error
    | CommandAck
    | CommentsPush
    | OrdersChanged
    | ConnectorsPush
    | IngestAck
)


# -- clients to the server -------------------------------------------------------------


class Resync(TypedDict):
    type: Literal["resync"]


class ClientPing(TypedDict):
    type: Literal["ping"]


class Command(TypedDict):
    type: Literal["command"]
    id: Any
    op: str
    args: Any


ClientMessage = Resync | ClientPing | Command


class ProtocolError(ValueError):
    """A client message that is not a JSON object."""


# -- building and encoding ---------------------------------------------------------------


def encode(message: Mapping[str, Any]) -> str:
    """The text frame for a message: UTF-8 text kept readable, no spaces."""
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))


def snapshot(rev: int, t: str, state: dict[str, Any]) -> Snapshot:
    return {"type": "snapshot", "rev": rev, "t": t, "state": state}


def update(rev: int, t: str, set_: dict[str, Any], products: ProductViews) -> Update:
    return {"type": "update", "rev": rev, "t": t, "set": set_, "products": products}


def ping(t: str, rev: int) -> Ping:
    return {"type": "ping", "t": t, "rev": rev}


def pong() -> Pong:
    return {"type": "pong"}


def error(message: str, field: str | None = None) -> Error:
    body: Error = {"type": "error", "error": message}
    if field is not None:
        body["field"] = field
    return body


def command_ok(id_: Any, rev: int) -> CommandAck:
    return {"type": "ack", "id": id_, "ok": True, "rev": rev}


def command_failed(id_: Any, message: str, field: str | None = None) -> CommandAck:
    ack: CommandAck = {"type": "ack", "id": id_, "ok": False, "error": message}
    if field is not None:
        ack["field"] = field
    return ack


def comments_push(items: list[dict[str, Any]]) -> CommentsPush:
    return {"type": "comments", "items": items}


def orders_changed(customers: list[int]) -> OrdersChanged:
    return {"type": "orders_changed", "customers": customers}


def connectors_push(items: list[dict[str, Any]]) -> ConnectorsPush:
    return {"type": "connectors", "items": items}


def ingest_ack(results: list[dict[str, Any]]) -> IngestAck:
    return {"type": "ack", "results": results}


_CLIENT_TYPES = frozenset({"resync", "ping", "command"})


def read_client_message(text: str) -> ClientMessage | None:
    """An overlay's or panel's message; ``None`` for a type this server does not know
    (ignored, so a newer page still works); :class:`ProtocolError` for what is not
    a JSON object.

    A ``command`` keeps whatever ``id``, ``op`` and ``args`` it carries; the
    command table validates them (:func:`server.commands.run_command`).
    """
    try:
        message = validate.loads(text)  # a 5,000-digit number or deep nesting: an error reply
    except validate.BadJSON as exc:
        raise ProtocolError(f"messages are JSON objects: {exc.message}") from None
    if not isinstance(message, dict):
        raise ProtocolError("messages are JSON objects")
    kind = message.get("type")
    if kind not in _CLIENT_TYPES:
        return None
    if kind == "command":
        return {
            "type": "command",
            "id": message.get("id"),
            "op": str(message.get("op", "")),
            "args": message.get("args"),
        }
    return {"type": kind}  # "resync" or "ping"
