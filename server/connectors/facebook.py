"""Facebook Live comments, polled from the Graph API with a Page access token.

Which video: ``live_video_id`` if given, otherwise the Page's current live
video, found with ``GET {page}/live_videos?broadcast_status=["LIVE"]`` (the
Page is ``me`` for a Page token) and checked again every ``rediscover_every``
seconds, so the next live is picked up without pasting its id.

How: ``GET {live_video_id}/comments`` with ``live_filter=no_filter`` (the
default, ``filter_low_quality``, drops comments Facebook judges low quality,
and short order comments such as ``A1`` or ``chốt 2`` are the likely victims),
``filter=stream`` (replies too, in time order, rather than top-level comments
only) and ``order=reverse_chronological``. Each poll reads the newest page
first and pages back (cursors live only within one poll) until it meets a
comment it has already seen; a rolling set of ids de-duplicates. No cursor is
kept between polls: a cursor can go invalid when a moderator deletes a comment.
When more pages are new than ``max_pages``, the rest is reported as a gap.

We follow ``paging.next`` only as a signal that more pages are ready; the
request itself is rebuilt from ``base_url`` and the cursor, so a ``next`` URL
never sends the token anywhere else. Graph errors are sorted into fatal (token,
permission, unknown object: code 100 only with subcode 33), rate limits (wait
as long as Facebook asks) and everything else (retry with backoff).

Streaming (``stream=True``): Graph also pushes a live video's comments as
server-sent events from ``streaming-graph.facebook.com/{live-video-id}/live_comments``
(``comment_rate`` one of ``one_per_two_seconds``, ``ten_per_second``,
``one_hundred_per_second``; each event's ``data`` is one comment object with
the ``fields`` asked). A stream drops without notice and replays nothing, so
polling fills its gaps: one poll as the stream opens (the backlog), and one
as it reopens after every drop or ``stream_idle`` seconds of silence (a quiet
stream may be a dead connection), each through the same de-duplication by id, so a comment
read both ways is emitted once (the poll runs once the stream is connected, so
nothing falls between them; when the stream cannot connect at all, polling
carries on at ``poll_interval``). Off by default: the documents do not say
whether the stream applies ``filter_low_quality``, and polling alone is
proven enough for a small shop's live (docs/connectors.md).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from server.comments import CommentIn
from server.connectors._http import HttpPoller, get_json, header_seconds, install_secret_filter
from server.connectors.base import ConnectorError, Emit, Health, SeenIds, Sleep

__all__ = [
    "COMMENT_PARAMS",
    "COMMENT_RATES",
    "DEFAULT_BASE_URL",
    "FIELDS",
    "STREAM_BASE_URL",
    "FacebookConnector",
    "comment_from_graph",
    "error_from_graph",
    "sse_data",
]

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://graph.facebook.com"
STREAM_BASE_URL = "https://streaming-graph.facebook.com"
COMMENT_RATES = ("one_per_two_seconds", "ten_per_second", "one_hundred_per_second")
FIELDS = "id,message,from{id,name},created_time"
# Every comment, replies included, newest first (see the module docstring).
COMMENT_PARAMS = {
    "live_filter": "no_filter",
    "filter": "stream",
    "order": "reverse_chronological",
}
_UNKNOWN_OBJECT = 33  # error 100 with this subcode: the id does not exist or is not visible
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
    if code == 100 and _int(error.get("error_subcode")) == _UNKNOWN_OBJECT:
        return ConnectorError(
            f"{detail}. The live video (or Page) does not exist or this token cannot see it.",
            fatal=True,
        )
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
    """Polls one Page's live video comments every ``poll_interval`` seconds."""

    name = "facebook"

    def __init__(
        self,
        live_video_id: str = "",
        access_token: str = "",
        *,
        page_id: str = "me",
        api_version: str = "v21.0",
        base_url: str = DEFAULT_BASE_URL,
        poll_interval: float = 2.0,
        page_size: int = 100,
        max_pages: int = 20,
        rediscover_every: float = 60.0,
        timeout: float = 10.0,
        rate_limit_wait: float = 60.0,
        stream: bool = False,
        comment_rate: str = "ten_per_second",
        stream_base_url: str = STREAM_BASE_URL,
        stream_idle: float = 60.0,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not access_token.strip():
            raise ConnectorError("facebook connector needs: access_token", fatal=True)
        if comment_rate not in COMMENT_RATES:
            raise ConnectorError(
                f"comment_rate must be one of {', '.join(COMMENT_RATES)}", fatal=True
            )
        self.stream = stream
        self.comment_rate = comment_rate
        self._stream_root = stream_base_url.rstrip("/")
        self.stream_idle = stream_idle
        self.stream_drops = 0
        self._root = f"{base_url.rstrip('/')}/{api_version.strip('/')}"
        self.page_id = page_id.strip() or "me"
        self._fixed = bool(str(live_video_id).strip())
        self.live_video_id: str | None = str(live_video_id).strip() or None
        self._token = access_token
        self.poll_interval = poll_interval
        self.page_size = page_size
        self.max_pages = max(1, max_pages)
        self.rediscover_every = rediscover_every
        self.timeout = timeout
        self.rate_limit_wait = rate_limit_wait
        self._sleep = sleep
        self._clock = clock
        self._checked: float | None = None  # when the live video was last looked up
        self._seen = SeenIds()  # every comment id read, stickers included
        self.health = Health()

    async def run(self, emit: Emit) -> None:
        if not self.stream:
            await super().run(emit)
            return
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            while True:
                await self._stream_session(client, emit)
                self.stream_drops += 1
                await self._sleep(self.poll_interval)  # no hammering a failing stream

    async def _stream_session(self, client: httpx.AsyncClient, emit: Emit) -> None:
        """Connect the stream, poll once (what came before it, or during the last
        drop), then emit the stream's comments until it ends, drops or stays silent.

        Polling after connecting leaves no moment unheard: the stream buffers what
        arrives during the poll, and ids read both ways are emitted once.
        """
        video = await self._current_video(client)
        params = {
            "access_token": self._token,
            "comment_rate": self.comment_rate,
            "fields": FIELDS,
        }
        url = f"{self._stream_root}/{video}/live_comments"
        timeout = httpx.Timeout(self.timeout, read=self.stream_idle)
        install_secret_filter()
        polled = False
        try:
            async with client.stream("GET", url, params=params, timeout=timeout) as response:
                if response.status_code != 200:
                    await response.aread()
                    raise _stream_error(response, self.rate_limit_wait)
                await self.poll(client, emit)
                polled = True
                async for data in sse_data(response):
                    await self._stream_event(data, emit)
        except httpx.ReadTimeout:
            log.info("Facebook stream silent for %.0f s; reconnecting", self.stream_idle)
        except httpx.HTTPError as exc:
            log.info("Facebook stream dropped (%s); reconnecting", type(exc).__name__)
        if not polled:  # the stream did not open: polling carries on meanwhile
            await self.poll(client, emit)

    async def _stream_event(self, data: str, emit: Emit) -> None:
        try:
            item = json.loads(data)
        except json.JSONDecodeError:
            log.warning("Facebook stream sent an event that is not JSON; skipped")
            return
        if not isinstance(item, Mapping):
            return
        comment = comment_from_graph(item)
        item_id = str(item.get("id") or "")
        if not item_id or item_id in self._seen:
            return
        self._seen.add(item_id)
        if comment is not None:
            await emit([comment])

    async def poll(self, client: httpx.AsyncClient, emit: Emit) -> None:
        """Read what is new since the last poll, newest page first; emit it oldest first."""
        video = await self._current_video(client)
        fresh, skipped, complete = await self._read_new(client, video)
        if not complete:
            self.health.gap(
                f"more than {self.max_pages * self.page_size} new Facebook comments "
                "in one poll; the oldest of them were not read"
            )
        fresh.reverse()
        await emit(fresh)  # an empty batch still tells the supervisor we are live
        for item_id in [c.id for c in fresh] + skipped:
            self._seen.add(item_id)

    async def _read_new(
        self, client: httpx.AsyncClient, video: str
    ) -> tuple[list[CommentIn], list[str], bool]:
        """New comments (newest first), ids of new items without text, and whether we
        reached comments already seen (or the end) within ``max_pages``."""
        fresh: dict[str, CommentIn] = {}
        skipped: list[str] = []
        after: str | None = None
        for _ in range(self.max_pages):
            body = await self._get(client, f"{video}/comments", self._comment_params(after))
            items = [i for i in _list(body.get("data")) if isinstance(i, Mapping)]
            overlap = False
            for item in items:
                item_id = str(item.get("id") or "")
                if not item_id or item_id in self._seen:
                    overlap = overlap or bool(item_id)
                    continue
                comment = comment_from_graph(item)
                if comment is None:
                    skipped.append(item_id)
                else:
                    fresh.setdefault(comment.id, comment)
            paging = _mapping(body.get("paging"))
            after = _mapping(paging.get("cursors")).get("after")
            if overlap or not items or not paging.get("next") or not after:
                return list(fresh.values()), skipped, True
        return list(fresh.values()), skipped, False

    def _comment_params(self, after: str | None) -> dict[str, Any]:
        params: dict[str, Any] = {"fields": FIELDS, **COMMENT_PARAMS, "limit": self.page_size}
        if after:
            params["after"] = after
        return params

    async def _current_video(self, client: httpx.AsyncClient) -> str:
        """The video to read: the one given, or the Page's live video (looked up again
        every ``rediscover_every`` seconds, so the next live is found by itself)."""
        if self._fixed and self.live_video_id:
            return self.live_video_id
        due = self._checked is None or self._clock() - self._checked >= self.rediscover_every
        if due or self.live_video_id is None:
            found = await self._find_live_video(client)
            self._checked = self._clock()
            if found is not None and found != self.live_video_id:
                log.info("Facebook: reading live video %s", found)
                self.live_video_id = found
        if self.live_video_id is None:
            raise ConnectorError("the Facebook Page has no live video right now")
        # With none live we keep the last one: its final comments still count.
        return self.live_video_id

    async def _find_live_video(self, client: httpx.AsyncClient) -> str | None:
        params = {"broadcast_status": '["LIVE"]', "fields": "id,status,creation_time"}
        body = await self._get(client, f"{self.page_id}/live_videos", params)
        live = [
            v
            for v in _list(body.get("data"))
            if isinstance(v, Mapping) and v.get("id") and v.get("status", "LIVE") == "LIVE"
        ]
        if not live:
            return None
        newest = max(live, key=lambda v: str(v.get("creation_time") or ""))
        return str(newest["id"])

    async def _get(self, client: httpx.AsyncClient, path: str, params: dict[str, Any]) -> Any:
        query = {**params, "access_token": self._token}
        response, body = await get_json(client, f"{self._root}/{path}", query, what="Facebook")
        error = error_from_graph(response, body, default_wait=self.rate_limit_wait)
        if error is not None:
            raise error
        return body


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _stream_error(response: httpx.Response, default_wait: float) -> ConnectorError:
    try:
        body: Any = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    error = error_from_graph(response, body, default_wait=default_wait)
    return error or ConnectorError(f"Facebook stream: HTTP {response.status_code}")


async def sse_data(response: httpx.Response) -> AsyncIterator[str]:
    """The ``data`` of each server-sent event (multi-line data joined by newlines).

    Lines starting with ``:`` are keep-alive comments; ``event``, ``id`` and
    ``retry`` fields are not used by Graph's comment stream and are ignored.
    """
    data: list[str] = []
    async for line in response.aiter_lines():
        if not line:
            if data:
                yield "\n".join(data)
            data = []
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
    if data:  # a last event the stream did not finish is not trusted
        log.info("Facebook stream ended inside an event; it is left to the next poll")
