"""The helper token is checked before anything else of a request is read.

FastAPI reads and parses a route's JSON body before it resolves the route's
dependencies, so ``require_helper`` ran only after the body had been parsed, and
the ingestion limit parsed ``POST /api/comments`` bodies to count them: a client
without the token could make the server parse a megabyte of JSON per request.
:class:`TokenFirst` sits outside both and answers a write to ``/api/`` without the
right ``Authorization`` header at once, from the headers alone, with the same
401/429 (and the same failed-attempt count) as ``require_helper``.

``?token=`` in the query string is accepted only by the routes that take
:data:`server.context.HelperLink` (the downloads a page opens directly: exports,
packing slips, the report's PNG/PDF). Everything else takes the header, so a
token does not end up in URLs, logs and history.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from .errors import error_body
from .ratelimit import Limits, RateLimited, client_host

__all__ = ["TokenFirst", "bearer_token"]

logger = logging.getLogger(__name__)

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, else ``None``."""
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return None


class TokenFirst:
    """ASGI middleware: writes to ``/api/`` need the helper token before the body is read."""

    def __init__(
        self, app: ASGIApp, limits: Limits, is_helper_token: Callable[[str | None], bool]
    ) -> None:
        self.app = app
        self.limits = limits
        self.is_helper_token = is_helper_token  # any shop's

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope.get("method") not in WRITE_METHODS
            or not scope.get("path", "").startswith("/api/")
        ):
            await self.app(scope, receive, send)
            return
        header = dict(scope.get("headers") or []).get(b"authorization", b"")
        given = bearer_token(header.decode("latin-1"))
        if self.is_helper_token(given):
            await self.app(scope, receive, send)
            return
        wait = self.limits.failed_auth(client_host(scope.get("client")))
        if wait:
            message = "too many wrong tokens from this address"
            retry = str(RateLimited(message, wait).retry_after)
            response = JSONResponse(
                error_body(message), status_code=429, headers={"Retry-After": retry}
            )
        else:
            response = JSONResponse(error_body("missing or wrong helper token"), status_code=401)
        await response(scope, receive, send)
