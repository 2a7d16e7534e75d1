"""The one shape every comment has once it is inside chotdon.

Connectors (TikTok, Facebook, Shopee, the simulator, the panel's manual box)
turn whatever their platform sends into :class:`CommentIn`; ingestion stores it.
``(platform, id)`` identifies a comment: the same pair twice is one comment.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

__all__ = [
    "EARLIEST_TS",
    "LATEST_AHEAD",
    "PLATFORMS",
    "UNTRUSTED",
    "CommentIn",
    "Platform",
    "check_ts",
]

logger = logging.getLogger(__name__)

Platform = Literal["tiktok", "shopee", "facebook", "youtube", "manual", "sim"]
PLATFORMS: tuple[str, ...] = ("tiktok", "shopee", "facebook", "youtube", "manual", "sim")

# No live comment is older than the platforms, none from more than a day ahead (a
# clock a few hours wrong still passes). Outside this a time is garbage, and
# 0001-01-01+01:00 or 9999-12-31-01:00 do not even exist in UTC.
EARLIEST_TS = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_AHEAD = timedelta(days=1)
# Validation context key for comments from clients (REST, /ws/ingest): see _sensible_ts.
UNTRUSTED = "untrusted"


def check_ts(value: datetime, now: datetime | None = None) -> datetime:
    """``value`` in UTC, or ``ValueError`` saying why it is not a comment's time."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("needs a time zone (Z or an offset such as +07:00)")
    try:
        moment = value.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 pushed past the calendar by its offset
        raise ValueError("is outside the calendar once moved to UTC") from None
    latest = (now or datetime.now(UTC)) + LATEST_AHEAD
    if not EARLIEST_TS <= moment <= latest:
        raise ValueError(f"must be between 2000-01-01 and {latest:%Y-%m-%d %H:%M} UTC")
    return moment


class CommentIn(BaseModel):
    """A live comment as received from a platform."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    platform: Platform
    id: str = Field(min_length=1, max_length=200)
    user: str = Field(min_length=1, max_length=200)
    nickname: str = Field(default="", max_length=200)
    text: str = Field(default="", max_length=2000)
    ts: datetime | None = None

    @field_validator("ts")
    @classmethod
    def _sensible_ts(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        if value is None:
            return None
        if (info.context or {}).get(UNTRUSTED):
            return check_ts(value)  # from a client: refused, naming the item and field
        # From a connector in the server: one odd platform time must not stop the
        # connector, so the comment is kept without it (naive times as before).
        if value.tzinfo is None:
            return value
        try:
            return check_ts(value)
        except ValueError:
            logger.warning("comment time %s dropped: not a live comment's time", value)
            return None
