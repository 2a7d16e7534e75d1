"""Facebook Live comments, polled from the Graph API with a Page access token.

``GET {base_url}/{api_version}/{live_video_id}/comments`` with
``order=chronological`` returns the oldest comments first, in pages. The first
poll reads the whole backlog; after that each poll asks for what comes after
the last ``paging.cursors.after`` cursor, so no comment is read twice. The
cursor only moves once a page has been handed to ``emit``: if ingestion fails,
the supervisor restarts us and the same page is read again.

We follow ``paging.next`` only as a signal that more pages are ready; the
request itself is rebuilt from ``base_url`` and the cursor, so a ``next`` URL
never sends the token anywhere else. Graph errors are sorted into fatal (token,
permission, unknown video: retrying cannot help), rate limits (wait as long as
Facebook asks) and everything else (retry with backoff).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from server.comments import CommentIn
from server.connectors._http import HttpPoller, get_json, header_seconds
from server.connectors.base import ConnectorError, Emit, SeenIds, Sleep

__all__ = [
    "DEFAULT_BASE_URL",
    "FIELDS",
    "FacebookConnector",
    "comment_from_graph",
    "error_from_graph",
]

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://graph.facebook.com"
FIELDS = "id,message,from{id,name},created_time"
_RATE_LIMIT_CODES = frozenset({4, 17, 32, 613}) | frozenset(range(80001, 80015))
_TOKEN_CODES = frozenset({102, 190})
_PERMISSION_CODES = frozenset({10}) | frozenset(range(200, 300))


def comment_from_graph(item: Mapping[str, Any]) -> CommentIn | None:
    """Map one Graph comment object; ``None`` for one with no id or no text (a sticker)."""
    comment_id = str(item.get("id") or "")
    text = str(item.get("message") or "")
    if not comment_id or not text.strip():
        return None
    author = _mapping(item.get("from"))
    user = str(author.get("id") or "")
    # Without the permission to see the author, Graph omits "from"; such a
    # comment is its own anonymous buyer rather than merged with others.
    return CommentIn(
        platform="facebook",
        id=comment_id,
        user=user or f"anon:{comment_id}",
        nickname=str(author.get("name") or "")[:200],
        text=text[:2000],
        ts=_parse_time(item.get("created_time")),
    )


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def error_from_graph(
    response: httpx.Response, body: Any, *, default_wait: float = 60.0
) -> ConnectorError | None:
    """The :class:`ConnectorError` for a failed Graph response, or ``None`` if it succeeded.

    A rate limit carries the wait Facebook asked for (``Retry-After``, or the
    business-use-case usage header), else ``default_wait`` seconds.
    """
    error = body.get("error") if isinstance(body, dict) else None
    status = response.status_code
    if status == 200 and error is None and isinstance(body, dict):
        return None
    if not isinstance(error, dict):
        if status == 429:
            wait = header_seconds(response) or _usage_wait(response) or default_wait
            return ConnectorError("Facebook rate limit (HTTP 429)", retry_after=wait)
        kind = "server error" if status >= 500 else "unexpected response"
        return ConnectorError(f"Facebook {kind} (HTTP {status})")
    code = _int(error.get("code"))
    detail = (
        f"Facebook error {code}"
        + (f"/{error['error_subcode']}" if error.get("error_subcode") else "")
        + f": {error.get('message') or 'no message'}"
        + (f" (fbtrace_id {error['fbtrace_id']})" if error.get("fbtrace_id") else "")
    )
    if code in _TOKEN_CODES:
        return ConnectorError(
            f"{detail}. The Page access token is expired or revoked: create a new one.",
            fatal=True,
        )
    if code in _PERMISSION_CODES:
        return ConnectorError(f"{detail}. The token lacks a permission.", fatal=True)
    if code == 100 and status < 500:
        return ConnectorError(f"{detail}. Check the live video id.", fatal=True)
    if code in _RATE_LIMIT_CODES or status == 429:
        wait = header_seconds(response) or _usage_wait(response) or default_wait
        return ConnectorError(f"{detail} (rate limited)", retry_after=wait)
    return ConnectorError(detail)


def _usage_wait(response: httpx.Response) -> float | None:
    """Seconds until access returns, from ``X-Business-Use-Case-Usage`` (given in minutes)."""
    raw = response.headers.get("X-Business-Use-Case-Usage")
    if not raw:
        return None
    try:
        usage = json.loads(raw)
    except json.JSONDecodeError:
        return None
    minutes = [
        _int(entry.get("estimated_time_to_regain_access"))
        for entries in (usage.values() if isinstance(usage, dict) else [])
        if isinstance(entries, list)
        for entry in entries
        if isinstance(entry, dict)
    ]
    longest = max((m for m in minutes if m), default=0)
    return longest * 60.0 if longest else None


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class FacebookConnector(HttpPoller):
    """Polls one live video's comments every ``poll_interval`` seconds."""

    name = "facebook"

    def __init__(
        self,
        live_video_id: str,
        access_token: str,
        *,
        api_version: str = "v21.0",
        base_url: str = DEFAULT_BASE_URL,
        poll_interval: float = 2.0,
        page_size: int = 100,
        timeout: float = 10.0,
        rate_limit_wait: float = 60.0,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if not str(live_video_id).strip() or not access_token.strip():
            raise ConnectorError("facebook needs a live_video_id and an access_token", fatal=True)
        self.url = f"{base_url.rstrip('/')}/{api_version.strip('/')}/{live_video_id}/comments"
        self._token = access_token
        self.poll_interval = poll_interval
        self.page_size = page_size
        self.timeout = timeout
        self.rate_limit_wait = rate_limit_wait
        self._sleep = sleep
        self.after: str | None = None  # the cursor to resume from
        self._seen = SeenIds()  # safety net: the cursor should already prevent repeats

    async def poll(self, client: httpx.AsyncClient, emit: Emit) -> None:
        """Read every page available now, emitting each before moving the cursor."""
        while True:
            body = await self._fetch(client)
            data = body.get("data")
            items = data if isinstance(data, list) else []
            fresh = [
                c
                for c in (comment_from_graph(i) for i in items if isinstance(i, Mapping))
                if c is not None and c.id not in self._seen
            ]
            await emit(fresh)  # an empty batch still tells the supervisor we are live
            for comment in fresh:
                self._seen.add(comment.id)
            paging = _mapping(body.get("paging"))
            after = _mapping(paging.get("cursors")).get("after")
            if after:
                self.after = str(after)
            if not items or not paging.get("next") or not after:
                return

    async def _fetch(self, client: httpx.AsyncClient) -> dict[str, Any]:
        params: dict[str, Any] = {
            "fields": FIELDS,
            "order": "chronological",
            "limit": self.page_size,
            "access_token": self._token,
        }
        if self.after:
            params["after"] = self.after
        response, body = await get_json(client, self.url, params, what="Facebook")
        error = error_from_graph(response, body, default_wait=self.rate_limit_wait)
        if error is not None:
            raise error
        return dict(body)
