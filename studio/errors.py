"""The one exception the studio raises for bad input or a failed render."""

from __future__ import annotations

__all__ = ["StudioError"]


class StudioError(Exception):
    """Something the user can fix: the message names the file, line or field."""
