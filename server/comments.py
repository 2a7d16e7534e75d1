"""The one shape every comment has once it is inside chotdon.

Connectors (TikTok, Facebook, Shopee, the simulator, the panel's manual box)
turn whatever their platform sends into :class:`CommentIn`; ingestion stores it.
``(platform, id)`` identifies a comment: the same pair twice is one comment.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["PLATFORMS", "CommentIn", "Platform"]

Platform = Literal["tiktok", "shopee", "facebook", "youtube", "manual", "sim"]
PLATFORMS: tuple[str, ...] = ("tiktok", "shopee", "facebook", "youtube", "manual", "sim")


class CommentIn(BaseModel):
    """A live comment as received from a platform."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    platform: Platform
    id: str = Field(min_length=1, max_length=200)
    user: str = Field(min_length=1, max_length=200)
    nickname: str = Field(default="", max_length=200)
    text: str = Field(default="", max_length=2000)
    ts: datetime | None = None
