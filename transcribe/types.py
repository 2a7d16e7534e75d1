"""Typed results shared by the transcriber, the caption writers and the clip studio.

They are NamedTuples, as in faster-whisper: cheap to build by the thousand on a
three-hour recording, immutable, and trivially turned into JSON for the cache.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["Segment", "Word"]


class Word(NamedTuple):
    """One word (a Vietnamese syllable, usually) with times in seconds."""

    start: float
    end: float
    word: str
    probability: float = 1.0


class Segment(NamedTuple):
    """A stretch of speech. ``words`` is empty when word timing was not asked for."""

    id: int
    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()
