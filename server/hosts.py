"""The names this server answers to, checked on every request before routing.

DNS rebinding: a page the seller opens during a live can point its own name at
127.0.0.1, and the browser then treats this server as that page's origin. The
only trace of the trick is the ``Host`` header (and the ``Origin`` of a socket),
which still carries the attacker's name. So both are checked against the names
the server really answers to:

- loopback: ``localhost``, ``127.0.0.0/8``, ``[::1]``; ``*.localhost`` is left
  out, nothing here prints such a name;
- the machine itself: any IP address it can bind (its LAN addresses, whatever
  the Wi-Fi hands out today), its hostname and ``<hostname>.local`` (mDNS);
- extra names from the ``allowed_hosts`` setting (``CHOTDON_ALLOWED_HOSTS``).

The port must be the one the connection arrived on; a ``Host`` without a port
means 80, as in HTTP. Anything else gets 421 Misdirected Request (HTTP) or close
code 4403 after accept (sockets, as the other socket refusals in
:mod:`server.sockets`). An IP literal cannot be rebound, so checking addresses
by "can this machine bind it" costs nothing in safety and follows Wi-Fi changes.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Collection
from urllib.parse import urlsplit

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from .errors import error_body
from .netinfo import is_loopback
from .protocol import CLOSE_FORBIDDEN_ORIGIN

__all__ = [
    "CLOSE_FOREIGN_HOST",
    "HostGuard",
    "host_allowed",
    "is_loopback_host",
    "name_allowed",
    "origin_allowed",
    "scope_port",
    "split_host",
]

CLOSE_FOREIGN_HOST = CLOSE_FORBIDDEN_ORIGIN  # the same refusal as a foreign Origin


def split_host(value: str) -> tuple[str, int | None] | None:
    """``"Name:8800"`` -> ``("name", 8800)``, ``"[::1]"`` -> ``("::1", None)``; None: malformed."""
    value = value.strip().lower()
    if value.startswith("["):
        name, bracket, rest = value[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            return None
        port_text = rest[1:] if rest else None
    else:
        name, colon, port_text_raw = value.partition(":")
        port_text = port_text_raw if colon else None
    if not name:
        return None
    if port_text is None:
        return name.rstrip("."), None
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        return None
    return name.rstrip("."), int(port_text)


def name_allowed(name: str, extra: Collection[str] = ()) -> bool:
    """Whether ``name`` (lower case, no brackets, no port) is one this machine answers to."""
    if not name or is_loopback(name) or name in extra:
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        hostname = socket.gethostname().lower()
        return name in (hostname, f"{hostname}.local")
    return _local_address(address)


def _local_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if address.is_unspecified or address.is_multicast:
        return False
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.bind((str(address), 0))  # succeeds only for this machine's own addresses
    except OSError:
        return False
    return True


def host_allowed(value: str | None, port: int, extra: Collection[str] = ()) -> bool:
    """A ``Host`` header naming this machine, with the port the request arrived on."""
    parts = split_host(value) if value else None
    if parts is None:
        return False
    name, given = parts
    return (given or 80) == port and name_allowed(name, extra)


def origin_allowed(origin: str | None, port: int, extra: Collection[str] = ()) -> bool:
    """A page of this server (by the allow-list, not by ``Host``), or no page at all.

    OBS and scripts send no ``Origin`` (or ``null``), which is fine: they still need
    the key or token, and a foreign page cannot forge the header.
    """
    if not origin or origin == "null":
        return True
    try:
        parts = urlsplit(origin)
        given = parts.port or 80
    except ValueError:
        return False
    if parts.scheme != "http" or not parts.hostname:  # the server speaks plain HTTP only
        return False
    return given == port and name_allowed(parts.hostname.rstrip("."), extra)


def is_loopback_host(value: str | None) -> bool:
    """A ``Host`` naming loopback: only the laptop's own browser uses one."""
    parts = split_host(value) if value else None
    return parts is not None and is_loopback(parts[0])


def scope_port(scope: Scope, fallback: int) -> int:
    """The port the connection arrived on (``fallback`` when there is none: a Unix socket)."""
    server = scope.get("server")
    if server and server[1] is not None:
        return int(server[1])
    return fallback


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or ():
        if key == name:
            return bytes(value).decode("latin-1")
    return None


class HostGuard:
    """Refuse any request or socket whose ``Host`` is not on the allow-list, before routing."""

    def __init__(self, app: ASGIApp, extra: Collection[str] = (), port: int = 80) -> None:
        self.app = app
        self.extra = frozenset(name.lower() for name in extra)
        self.port = port  # only when the server gives no address (a Unix socket)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        host = _header(scope, b"host")
        if host_allowed(host, scope_port(scope, self.port), self.extra):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await _refuse_socket(receive, send)
            return
        shown = (host or "")[:100]
        message = (
            f"this server does not answer to the name {shown!r}: open it as 127.0.0.1 "
            "or the laptop's address, or add the name to allowed_hosts (CHOTDON_ALLOWED_HOSTS)"
        )
        await JSONResponse(error_body(message, "host"), status_code=421)(scope, receive, send)


async def _refuse_socket(receive: Receive, send: Send) -> None:
    # Accept, then close with a code: the same shape as a foreign Origin in sockets.py.
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.close", "code": CLOSE_FOREIGN_HOST, "reason": "foreign Host"})
