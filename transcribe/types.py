"""Typed results shared by the transcriber, the caption writers and the clip studio.

They are NamedTuples, as in faster-whisper: cheap to build by the thousand on a
three-hour recording, immutable, and trivially turned into JSON for the cache.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

__all__ = ["Segment", "Word", "segments_from_json", "segments_to_json"]


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


def segments_to_json(segments: Iterable[Segment]) -> list[dict[str, Any]]:
    """Plain JSON-ready dicts: ``{"id", "start", "end", "text", "words": [...]}``."""
    return [
        {
            "id": s.id,
            "start": s.start,
            "end": s.end,
            "text": s.text,
            "words": [w._asdict() for w in s.words],
        }
        for s in segments
    ]


def segments_from_json(items: Iterable[Mapping[str, Any]]) -> list[Segment]:
    """The inverse of :func:`segments_to_json`; raises KeyError/TypeError/ValueError on bad data."""
    return [
        Segment(
            int(item["id"]),
            float(item["start"]),
            float(item["end"]),
            str(item["text"]),
            tuple(
                Word(float(w["start"]), float(w["end"]), str(w["word"]), float(w["probability"]))
                for w in item.get("words") or ()
            ),
        )
        for item in items
    ]
