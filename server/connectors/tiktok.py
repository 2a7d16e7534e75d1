"""TikTok LIVE comments through the ``TikTokLive`` library (optional extra ``[tiktok]``).

TikTok has no public API for LIVE comments. ``TikTokLive`` (MIT up to 6.5,
AGPL-3.0 with extra terms from 6.6; the extra allows <6.6) speaks
TikTok's internal webcast protocol and relies on a third-party signing server
(Euler Stream) to sign its first request; that server rate-limits anonymous use
and takes an API key for more. It is imported only inside :meth:`run`, so
chotdon installs and runs without it, and a missing install is a clear fatal
error rather than an ImportError at start-up.

The library's event field names have changed across versions, so
:func:`comment_from_event` reads them defensively:

========================  =============================================
what                      where (newest first)
========================  =============================================
text                      ``comment`` (v4-v6 property), ``content``
user object               ``user``, ``user_info``
handle                    ``unique_id``, ``uniqueId`` (v4), ``display_id``
nickname                  ``nickname``, ``nick_name``
message id                ``base_message.message_id``, ``common.msg_id``,
                          ``common.message_id``, ``msg_id``, ``message_id``
create time (ms epoch)    ``base_message.create_time``, ``common.create_time``,
                          ``create_time``, ``createTime``, ``timestamp``
========================  =============================================

With no message id (old versions), the id is a hash of user, text and time, so
the same event mapped twice gets the same id.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import importlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from server.comments import CommentIn
from server.connectors.base import ConnectorError, Emit, Health, utcnow

__all__ = ["INSTALL_HINT", "TikTokConnector", "comment_from_event"]

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'chotdon[tiktok]'"
# Sign-server errors (rate limits, outages) are deliberately not fatal: they pass.
_FATAL_ERRORS = frozenset({"UserNotFoundError", "AgeRestrictedError"})


def _path(obj: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def _first(obj: Any, *paths: str) -> Any:
    """The first attribute path that holds a real value (protobuf defaults 0/"" do not count)."""
    for dotted in paths:
        value = _path(obj, dotted)
        if value not in (None, "", 0):
            return value
    return None


def _event_time(event: Any) -> datetime | None:
    raw = _first(
        event,
        "base_message.create_time",
        "common.create_time",
        "create_time",
        "createTime",
        "timestamp",
    )
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return None
    if value < 1e11:  # seconds, not milliseconds
        value *= 1000.0
    return datetime.fromtimestamp(value / 1000.0, UTC)


def comment_from_event(event: Any, *, received_at: datetime | None = None) -> CommentIn:
    """Map a TikTokLive comment event (any supported version) to a :class:`CommentIn`.

    ``received_at`` stands in for the create time when the event has none.
    """
    user = _first(event, "user", "user_info")
    handle = _first(user, "unique_id", "uniqueId", "display_id", "username")
    numeric = _first(user, "id", "user_id", "userId")
    nickname = _first(user, "nickname", "nick_name", "nickName")
    text = str(_first(event, "comment", "content") or "")
    ts = _event_time(event) or received_at
    who = str(handle or numeric or "unknown")
    message_id = _first(
        event,
        "base_message.message_id",
        "common.msg_id",
        "common.message_id",
        "msg_id",
        "message_id",
        "msgId",
    )
    if message_id is None:
        stamp = ts.isoformat() if ts else ""
        digest = hashlib.sha1(f"{who}\x00{text}\x00{stamp}".encode()).hexdigest()[:20]
        message_id = f"h{digest}"
    return CommentIn(
        platform="tiktok",
        id=str(message_id),
        user=who[:200],
        nickname=str(nickname or handle or "")[:200],
        text=text[:2000],
        ts=ts,
    )


def _load_library() -> Any:
    try:
        return importlib.import_module("TikTokLive")
    except ImportError as exc:
        raise ConnectorError(
            f"TikTok LIVE needs the optional TikTokLive library: {INSTALL_HINT}", fatal=True
        ) from exc


class TikTokConnector:
    """Listens to one creator's LIVE (``unique_id`` is their @handle)."""

    name = "tiktok"

    def __init__(
        self,
        unique_id: str,
        *,
        sign_api_key: str | None = None,
        client_factory: Callable[[str], Any] | None = None,
        comment_event: type | None = None,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        unique_id = unique_id.strip().lstrip("@")
        if not unique_id:
            raise ConnectorError("tiktok needs the creator's @unique_id", fatal=True)
        self.unique_id = unique_id
        self._sign_api_key = sign_api_key
        self._client_factory = client_factory
        self._comment_event = comment_event
        self._now = now
        self._dropped_at: datetime | None = None
        self.health = Health()

    def _make_client(self) -> tuple[Any, Any]:
        """The library's client and its comment event class (or the injected ones)."""
        if self._client_factory is not None and self._comment_event is not None:
            return self._client_factory(self.unique_id), self._comment_event
        library = _load_library()
        events = importlib.import_module("TikTokLive.events")
        if self._sign_api_key:
            settings = importlib.import_module("TikTokLive.client.web.web_settings")
            settings.WebDefaults.tiktok_sign_api_key = self._sign_api_key
        return library.TikTokLiveClient(unique_id=self.unique_id), events.CommentEvent

    async def run(self, emit: Emit) -> None:
        client, comment_event = self._make_client()
        queue: asyncio.Queue[CommentIn] = asyncio.Queue()

        async def on_comment(event: Any) -> None:
            try:
                queue.put_nowait(comment_from_event(event, received_at=self._now()))
            except Exception:  # one odd event must not end the stream
                log.exception("could not map a TikTok comment event")

        client.add_listener(comment_event, on_comment)
        try:
            try:
                task = await client.start()
            except Exception as exc:
                raise _translate(exc, self.unique_id) from exc
            if self._dropped_at is not None:  # TikTok does not replay what we missed
                self.health.gap(
                    f"TikTok LIVE was disconnected from {self._dropped_at:%H:%M:%S} UTC "
                    "until now; comments sent meanwhile are lost"
                )
                self._dropped_at = None
            await emit([])  # connected: heartbeat
            try:
                await self._pump(task, queue, emit)
            except ConnectorError:
                self._dropped_at = self._now()
                raise
        finally:
            await _close(client)

    async def _pump(self, task: Any, queue: asyncio.Queue[CommentIn], emit: Emit) -> None:
        while True:
            getter = asyncio.ensure_future(queue.get())
            try:
                done, _ = await asyncio.wait({getter, task}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                if not getter.done():
                    getter.cancel()
            if getter in done:
                batch = [getter.result()]
                while not queue.empty():
                    batch.append(queue.get_nowait())
                await emit(batch)
                continue
            exc = task.exception() if not task.cancelled() else None
            if exc is not None:
                raise _translate(exc, self.unique_id) from exc
            raise ConnectorError(f"TikTok LIVE @{self.unique_id} disconnected")


def _translate(exc: BaseException, unique_id: str) -> ConnectorError:
    """Library errors by class name, so no particular TikTokLive version is assumed."""
    kind = type(exc).__name__
    if isinstance(exc, ConnectorError):
        return exc
    if kind == "UserOfflineError":
        return ConnectorError(f"@{unique_id} is not live right now")
    if kind == "SignatureRateLimitError":
        return ConnectorError(
            f"TikTok LIVE @{unique_id}: the signing server's rate limit was hit",
            retry_after=_retry_after(exc),
        )
    if kind in _FATAL_ERRORS:
        return ConnectorError(f"TikTok LIVE @{unique_id}: {kind}: {exc}", fatal=True)
    return ConnectorError(f"TikTok LIVE @{unique_id}: {kind}: {exc}")


def _retry_after(exc: BaseException) -> float | None:
    """``SignatureRateLimitError.retry_after`` (seconds), if the library could read it."""
    try:
        value = float(exc.retry_after)  # type: ignore[attr-defined]
    except (AttributeError, TypeError, ValueError):
        return None
    return value if value > 0 else None


async def _close(client: Any) -> None:
    """Disconnect and close the client's HTTP session on every attempt, so reconnects
    do not leak one (``disconnect(close_client=True)`` raises inside a running loop)."""
    with contextlib.suppress(Exception):
        await client.disconnect()
    web = getattr(client, "web", None)
    if web is not None:
        with contextlib.suppress(Exception):
            await web.close()
