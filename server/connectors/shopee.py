"""Shopee Live comments from the Open Platform v2 ``livestream.get_latest_comment_list``.

The endpoint only returns the comments of the last few seconds (about ten,
per its documentation), so we poll every ``poll_interval`` seconds (3 by
default) and drop the ids we have already emitted; a bounded rolling set keeps
memory flat. Requests are signed like every Shopee v2 call: ``sign`` is the hex
HMAC-SHA256, keyed with the partner key, of
``partner_id + path + timestamp + access_token + <shop_id or user_id>``.

Documented shape (the field names the official docs list)::

    GET /api/v2/livestream/get_latest_comment_list
        ?partner_id&timestamp&access_token&shop_id|user_id&sign&session_id&offset
    {"error": "", "message": "", "request_id": "...",
     "response": {"next_offset": 321,
                  "list": [{"comment_id", "user_id", "username", "content", "timestamp"}]}}

What we had to assume, and why the mapping is tolerant: we could not call
the live API, so ``comment_list``/``buyer_id``/``nickname``/``create_time``
and similar alternative names are accepted too; a millisecond ``timestamp``
is recognised by its size; and whether livestream calls take ``shop_id`` or
``user_id`` is configurable (``id_param``); the livestream integration guide
signs with ``user_id``, so that wins when both are given. ``next_offset`` is a
page offset within one answer: each poll starts at offset 0 and follows
``next_offset`` only while ``more`` is true, never carrying it to the next poll.
A poll that comes more than ``window`` seconds after the last good one is
reported as a gap: Shopee will not give those comments again.

Tokens: an access token lives four hours (``expire_in`` 14400). Given a
``refresh_token``, the connector calls ``POST /api/v2/auth/access_token/get``
(a public call: signed with ``partner_id + path + timestamp`` only, body
``{"refresh_token", "partner_id", "shop_id"}``) ``refresh_margin`` seconds
before the token expires, and at once if Shopee rejects the token as invalid
(then it retries the same read, so no comment is missed). The new access and
refresh tokens are kept in memory for the rest of the live: they are not
written to disk or back to the settings. Without a refresh token (or once
refreshing fails) the expiry goes to the panel, which warns when it is close.
When the expiry is not given it is estimated as four hours after the
connector started.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal

import httpx

from server.comments import CommentIn
from server.connectors._http import HttpPoller, get_json, header_seconds, post_json
from server.connectors.base import ConnectorError, Emit, Health, SeenIds, Sleep

__all__ = [
    "DEFAULT_BASE_URL",
    "PATH",
    "REFRESH_PATH",
    "TOKEN_LIFETIME",
    "WINDOW",
    "ShopeeConnector",
    "comment_from_shopee",
    "error_from_shopee",
    "sign",
]

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://partner.shopeemobile.com"
PATH = "/api/v2/livestream/get_latest_comment_list"
REFRESH_PATH = "/api/v2/auth/access_token/get"
TOKEN_LIFETIME = 4 * 3600.0  # seconds an access token lives, per the authorisation docs
MAX_SKEW = 300.0  # Shopee rejects a timestamp more than five minutes off
# "invalid_acceess_token" (sic) is what Shopee has been seen to send.
_FATAL_ERRORS = frozenset(
    {
        "error_auth",
        "error_permission",
        "error_sign",
        "invalid_access_token",
        "invalid_acceess_token",
        "error_invalid_access_token",
    }
)
WINDOW = 10.0  # seconds of comments the endpoint returns, per its documentation
_RATE_ERRORS = frozenset({"error_too_many_request", "error_rate_limit", "too_many_request"})
# The answers that mean "this access token is no good" (expired or revoked): worth one refresh.
_TOKEN_ERRORS = frozenset(
    {"error_auth", "invalid_access_token", "invalid_acceess_token", "error_invalid_access_token"}
)


def sign(partner_key: str, partner_id: int | str, path: str, timestamp: int, *parts: str) -> str:
    """Shopee v2 request signature: hex HMAC-SHA256 over the concatenated fields."""
    base = f"{partner_id}{path}{timestamp}" + "".join(str(p) for p in parts)
    return hmac.new(partner_key.encode(), base.encode(), hashlib.sha256).hexdigest()


def _first(item: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        value = item.get(key)
        if value not in (None, ""):
            return value
    return None


def comment_from_shopee(item: Mapping[str, Any]) -> CommentIn | None:
    """Map one comment of the response list; ``None`` if it has no id or no text."""
    comment_id = _first(item, "comment_id", "id")
    text = _first(item, "content", "comment_content", "comment", "message")
    if comment_id is None or text is None or not str(text).strip():
        return None
    user = _first(item, "user_id", "buyer_id", "userid", "uid")
    nickname = _first(item, "username", "user_name", "nickname", "buyer_username", "name")
    return CommentIn(
        platform="shopee",
        id=str(comment_id),
        user=str(user) if user is not None else f"anon:{comment_id}",
        nickname=str(nickname or "")[:200],
        text=str(text)[:2000],
        ts=_epoch(_first(item, "timestamp", "create_time", "comment_time", "ctime")),
    )


def _epoch(value: Any) -> datetime | None:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    if seconds > 1e11:  # milliseconds
        seconds /= 1000.0
    return datetime.fromtimestamp(seconds, UTC)


def error_from_shopee(
    response: httpx.Response,
    body: Any,
    *,
    default_wait: float = 30.0,
    owner_param: str = "user_id",
    local_time: float | None = None,
) -> ConnectorError | None:
    """The :class:`ConnectorError` for a failed response, or ``None`` if it succeeded.

    ``owner_param`` (the id kind the request was signed with) and ``local_time``
    (our clock when it was sent) make a signature error say which of its
    usual causes it is: a ``shop_id`` where livestream calls want ``user_id``,
    or a clock more than five minutes off Shopee's (read from ``Date``).
    """
    status = response.status_code
    error = str(body.get("error") or "") if isinstance(body, dict) else ""
    if status == 200 and isinstance(body, dict) and not error:
        return None
    message = body.get("message") if isinstance(body, dict) else None
    request_id = body.get("request_id") if isinstance(body, dict) else None
    detail = (
        f"Shopee error {error or f'HTTP {status}'}"
        + (f": {message}" if message else "")
        + (f" (request_id {request_id})" if request_id else "")
    )
    if error in _FATAL_ERRORS or (not error and status in (401, 403)):
        if error == "error_sign":
            hint = _sign_hint(response, owner_param, local_time)
        else:
            hint = "authorise the shop again to get a new access token"
        return ConnectorError(f"{detail}. {hint[0].upper()}{hint[1:]}.", fatal=True)
    if error in _RATE_ERRORS or status == 429:
        wait = header_seconds(response) or default_wait
        return ConnectorError(f"{detail} (rate limited)", retry_after=wait)
    return ConnectorError(detail)


def _sign_hint(response: httpx.Response, owner_param: str, local_time: float | None) -> str:
    """Why a signature was most likely rejected, most specific cause first."""
    skew = clock_skew(response, local_time)
    if skew is not None and abs(skew) > MAX_SKEW:
        side = "ahead of" if skew > 0 else "behind"
        return (
            f"this computer's clock is {abs(skew) / 60:.0f} min {side} Shopee's and Shopee "
            "rejects requests stamped more than 5 minutes off: set the clock right "
            "(automatic time) and start again"
        )
    clock = (
        ""
        if skew is not None
        else ", and that this computer's clock is right (Shopee allows 5 minutes)"
    )
    if owner_param == "shop_id":
        return (
            "the signature was rejected: livestream calls are signed with user_id (the "
            "user_id_list of the authorisation), not shop_id: give the user id instead of "
            f"the shop id; check also the partner id and key{clock}"
        )
    return f"the signature was rejected: check the partner id and key{clock}"


def clock_skew(response: httpx.Response, local_time: float | None) -> float | None:
    """Seconds our clock was ahead of Shopee's (``Date`` header), if both are known."""
    header = response.headers.get("Date")
    if header is None or local_time is None:
        return None
    try:
        server = parsedate_to_datetime(header)
    except (TypeError, ValueError, IndexError):
        return None
    if server.tzinfo is None:
        server = server.replace(tzinfo=UTC)
    # Date has one-second resolution: a skew under a few seconds means nothing
    return local_time - server.timestamp()


class ShopeeConnector(HttpPoller):
    """Polls one Shopee Live session's latest comments."""

    name = "shopee"

    def __init__(
        self,
        partner_id: int | str,
        partner_key: str,
        access_token: str,
        session_id: int | str,
        *,
        shop_id: int | str | None = None,
        user_id: int | str | None = None,
        id_param: Literal["shop_id", "user_id"] | None = None,
        base_url: str = DEFAULT_BASE_URL,
        poll_interval: float = 3.0,
        follow_offset: bool = True,
        page_size: int = 100,
        max_pages: int = 10,
        window: float = WINDOW,
        timeout: float = 10.0,
        rate_limit_wait: float = 30.0,
        remember: int = 5000,
        refresh_token: str = "",
        token_expires_at: float | None = None,
        refresh_margin: float = 600.0,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._owner_param, self._owner = _owner(shop_id, user_id, id_param)
        if not partner_key or not access_token or not str(session_id).strip():
            raise ConnectorError(
                "shopee needs partner_key, access_token and session_id", fatal=True
            )
        self.partner_id = partner_id
        self._key = partner_key
        self._token = access_token
        self.session_id = session_id
        self.url = base_url.rstrip("/") + PATH
        self.refresh_url = base_url.rstrip("/") + REFRESH_PATH
        self.poll_interval = poll_interval
        self.follow_offset = follow_offset
        self.page_size = page_size
        self.max_pages = max(1, max_pages)
        self.window = window
        self._last_ok: float | None = None
        self.health = Health()
        self.timeout = timeout
        self.rate_limit_wait = rate_limit_wait
        self._sleep = sleep
        self._clock = clock
        self._seen = SeenIds(remember)
        self._refresh_token = refresh_token.strip() or None
        self.refresh_margin = refresh_margin
        self.refreshes = 0
        # Unknown expiry: assume the token is fresh, which is the most it can be.
        self.token_expires_at = (
            float(token_expires_at) if token_expires_at else clock() + TOKEN_LIFETIME
        )
        self._show_expiry()

    @property
    def refreshable(self) -> bool:
        return self._refresh_token is not None

    def _show_expiry(self) -> None:
        """The panel watches the expiry only of a token nobody will refresh."""
        self.health.token_expires_at = (
            None if self.refreshable else datetime.fromtimestamp(self.token_expires_at, UTC)
        )

    def params(self, offset: int = 0) -> dict[str, Any]:
        """Query parameters for one signed request, stamped now."""
        timestamp = int(self._clock())
        params: dict[str, Any] = {
            "partner_id": self.partner_id,
            "timestamp": timestamp,
            "access_token": self._token,
            self._owner_param: self._owner,
            "sign": sign(
                self._key, self.partner_id, PATH, timestamp, self._token, str(self._owner)
            ),
            "session_id": self.session_id,
        }
        params["offset"] = offset
        params["page_size"] = self.page_size
        return params

    async def poll(self, client: httpx.AsyncClient, emit: Emit) -> None:
        """One poll (the pages of one answer): emit the comments not seen before."""
        if self.refreshable and self._clock() >= self.token_expires_at - self.refresh_margin:
            await self.refresh(client)
        started = self._clock()
        fresh: dict[str, CommentIn] = {}
        offset = 0
        for _ in range(self.max_pages):
            payload = await self._page(client, offset)
            items = _first(payload, "list", "comment_list") or []
            for item in items if isinstance(items, list) else []:
                comment = comment_from_shopee(item) if isinstance(item, Mapping) else None
                if comment is not None and comment.id not in self._seen:
                    fresh.setdefault(comment.id, comment)
            next_offset = payload.get("next_offset")
            if not (self.follow_offset and payload.get("more") and isinstance(next_offset, int)):
                break
            offset = next_offset
        if self._last_ok is not None and started - self._last_ok > self.window:
            self.health.gap(
                f"no Shopee read for {started - self._last_ok:.0f} s; the endpoint keeps "
                f"only the last {self.window:.0f} s of comments"
            )
        batch = sorted(fresh.values(), key=_order_key)  # the docs do not say the list's order
        await emit(batch)
        self._last_ok = started
        for comment in batch:
            self._seen.add(comment.id)

    async def _page(self, client: httpx.AsyncClient, offset: int) -> Mapping[str, Any]:
        body = await self._get_page(client, offset)
        if isinstance(body, ConnectorError):
            raise body
        if body is None:  # the token was rejected: refresh once and read the page again
            await self.refresh(client)
            body = await self._get_page(client, offset, may_refresh=False)
            if not isinstance(body, dict):
                raise body or ConnectorError("Shopee rejected the refreshed token", fatal=True)
        payload = body.get("response")
        return payload if isinstance(payload, Mapping) else {}

    async def _get_page(
        self, client: httpx.AsyncClient, offset: int, *, may_refresh: bool = True
    ) -> dict[str, Any] | ConnectorError | None:
        """The answer's body, its error, or ``None`` for a rejected token worth refreshing."""
        sent = self._clock()
        response, body = await get_json(client, self.url, self.params(offset), what="Shopee")
        error = error_from_shopee(
            response,
            body,
            default_wait=self.rate_limit_wait,
            owner_param=self._owner_param,
            local_time=sent,
        )
        if error is None:
            return dict(body)
        code = str(body.get("error") or "") if isinstance(body, dict) else ""
        if may_refresh and self.refreshable and code in _TOKEN_ERRORS:
            log.info("Shopee rejected the access token (%s); refreshing it", code)
            return None
        return error

    async def refresh(self, client: httpx.AsyncClient) -> None:
        """Trade the refresh token for new tokens (``/api/v2/auth/access_token/get``).

        A refresh token Shopee refuses makes the connector non-refreshable (the
        panel then shows the expiry) and is fatal only if the access token has
        expired already; network trouble is retried by the supervisor.
        """
        timestamp = int(self._clock())
        query = {
            "partner_id": self.partner_id,
            "timestamp": timestamp,
            "sign": sign(self._key, self.partner_id, REFRESH_PATH, timestamp),
        }
        response, body = await post_json(
            client, self.refresh_url, query, self._refresh_body(), what="Shopee token refresh"
        )
        error = error_from_shopee(
            response, body, default_wait=self.rate_limit_wait, owner_param="", local_time=timestamp
        )
        token = body.get("access_token") if isinstance(body, dict) else None
        code = str(body.get("error") or "") if isinstance(body, dict) else ""
        if error is not None and code and code not in _RATE_ERRORS and not error.fatal:
            # e.g. error_param "invalid refresh_token": retrying the same one cannot help
            error = ConnectorError(f"{error}. Authorise the shop again", fatal=True)
        if error is None and not token:
            error = ConnectorError("Shopee token refresh: the answer has no access_token")
        if error is not None:
            self._refresh_failed(error)
            return
        assert isinstance(body, dict)
        self._token = str(token)
        self._refresh_token = str(body.get("refresh_token") or self._refresh_token)
        lifetime = _number(body.get("expire_in")) or TOKEN_LIFETIME
        self.token_expires_at = timestamp + lifetime
        self.refreshes += 1
        self._show_expiry()
        log.info("Shopee access token refreshed; valid for %.0f min", lifetime / 60)

    def _refresh_body(self) -> dict[str, Any]:
        # The docs name shop_id (or merchant_id); with only a user_id we send that.
        body: dict[str, Any] = {
            "refresh_token": self._refresh_token,
            "partner_id": _as_int(self.partner_id),
        }
        body[self._owner_param] = _as_int(self._owner)
        return body

    def _refresh_failed(self, error: ConnectorError) -> None:
        if not error.fatal:
            raise ConnectorError(f"{error}; the access token is not refreshed yet") from error
        log.error("Shopee token refresh refused: %s", error)
        self._refresh_token = None
        self._show_expiry()
        if self._clock() >= self.token_expires_at:
            raise ConnectorError(
                f"{error}. The access token has expired and could not be refreshed", fatal=True
            ) from error


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def _as_int(value: int | str) -> int | str:
    """Shopee's JSON bodies want numeric ids as numbers."""
    text = str(value).strip()
    return int(text) if text.isdigit() else value


def _order_key(comment: CommentIn) -> tuple[float, int]:
    """Oldest first; numeric ids break ties within one second."""
    ts = comment.ts.timestamp() if comment.ts is not None else float("inf")
    return ts, int(comment.id) if comment.id.isdigit() else 0


def _owner(
    shop_id: int | str | None, user_id: int | str | None, id_param: str | None
) -> tuple[str, int | str]:
    """Which id signs the request: the one given, or the one ``id_param`` names."""
    given = {k: v for k, v in (("shop_id", shop_id), ("user_id", user_id)) if v not in (None, "")}
    if id_param is None:
        if not given:
            raise ConnectorError("shopee needs user_id (or shop_id)", fatal=True)
        if "user_id" in given:  # the livestream guide signs with user_id
            return "user_id", given["user_id"]
        return next(iter(given.items()))
    if id_param not in ("shop_id", "user_id"):
        raise ConnectorError(
            f"id_param must be 'shop_id' or 'user_id', not {id_param!r}", fatal=True
        )
    if id_param not in given:
        raise ConnectorError(f"shopee: id_param is {id_param} but no {id_param} given", fatal=True)
    return id_param, given[id_param]
