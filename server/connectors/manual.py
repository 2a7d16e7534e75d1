"""Comments a helper types or pastes on the panel.

Buyers also order by phone, Zalo or in person; a helper types those in so they
go through the same parser and order book. Each gets a fresh id (a typed
comment is never "the same comment twice") and ``user = "helper:<name>"`` so
the order book can tell typed-in comments from platform ones.

:class:`ManualConnector` makes the manual box a supervised connector like the
others, so the panel shows it next to TikTok or Facebook; :func:`manual_comment`
is the plain function for code that wants a :class:`CommentIn` directly.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import datetime

from server.comments import CommentIn
from server.connectors.base import ConnectorError, Emit, utcnow

__all__ = ["ManualConnector", "ManualInputError", "manual_comment"]

_MAX_TEXT = 2000
_MAX_NAME = 100


class ManualInputError(ConnectorError, ValueError):
    """A typed comment cannot be accepted (empty, too long, no helper name)."""


def manual_comment(
    text: str,
    helper: str,
    *,
    nickname: str | None = None,
    now: Callable[[], datetime] = utcnow,
) -> CommentIn:
    """Build the :class:`CommentIn` for a comment typed by ``helper``.

    ``nickname`` is the buyer's name when the helper knows it; it defaults to
    the helper's name.
    """
    text = text.strip()
    helper = " ".join(helper.split())
    if not helper:
        raise ManualInputError("helper name is empty")
    if len(helper) > _MAX_NAME:
        raise ManualInputError(f"helper name is longer than {_MAX_NAME} characters")
    if not text:
        raise ManualInputError("comment text is empty")
    if len(text) > _MAX_TEXT:
        raise ManualInputError(f"comment is longer than {_MAX_TEXT} characters ({len(text)})")
    nick = " ".join((nickname or "").split()) or helper
    if len(nick) > _MAX_NAME:
        raise ManualInputError(f"nickname is longer than {_MAX_NAME} characters")
    return CommentIn(
        platform="manual",
        id=f"manual-{uuid.uuid4().hex}",
        user=f"helper:{helper}",
        nickname=nick,
        text=text,
        ts=now(),
    )


class ManualConnector:
    """Queues comments from :meth:`submit` and emits them in order."""

    name = "manual"

    def __init__(self, *, maxsize: int = 1000) -> None:
        self._queue: asyncio.Queue[CommentIn] = asyncio.Queue(maxsize=maxsize)
        self._pending: list[CommentIn] = []  # taken from the queue, not yet emitted

    async def submit(self, text: str, helper: str, *, nickname: str | None = None) -> CommentIn:
        """Validate and queue one typed comment; return what will be emitted."""
        comment = manual_comment(text, helper, nickname=nickname)
        await self._queue.put(comment)
        return comment

    async def run(self, emit: Emit) -> None:
        await emit([])  # heartbeat: the box is open
        while True:
            if not self._pending:
                self._pending.append(await self._queue.get())
            while not self._queue.empty():
                self._pending.append(self._queue.get_nowait())
            # Cleared only after emit succeeds: a failed batch is re-sent on restart.
            await emit(list(self._pending))
            self._pending.clear()
