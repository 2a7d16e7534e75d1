"""Getting a transcript for a recording: injected from a JSON file, or made by
``transcribe.Transcriber`` (faster-whisper, cached next to the recording).

The JSON form is the transcriber's own: ``{"segments": [{"id", "start", "end",
"text", "words": [{"start", "end", "word", "probability"}]}]}``; a bare list of
segments is accepted too, so an editor can hand-fix a transcript and inject it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from studio.errors import StudioError
from transcribe.types import Segment, Word

__all__ = ["load_transcript", "segments_from_json", "transcribe_recording"]


def _word(raw: Any, where: str) -> Word:
    if isinstance(raw, Mapping):
        return Word(
            float(raw["start"]),
            float(raw["end"]),
            str(raw["word"]),
            float(raw.get("probability", 1.0)),
        )
    if isinstance(raw, list | tuple) and len(raw) >= 3:
        return Word(
            float(raw[0]), float(raw[1]), str(raw[2]), float(raw[3]) if len(raw) > 3 else 1.0
        )
    raise ValueError(f"{where}: a word must be an object with start, end, word")


def segments_from_json(data: Any, source: str = "transcript") -> list[Segment]:
    """Segments from decoded transcript JSON, validated field by field."""
    raw_segments = data.get("segments") if isinstance(data, Mapping) else data
    if not isinstance(raw_segments, list):
        raise StudioError(f"{source}: expected a list of segments or {{'segments': [...]}}")
    segments: list[Segment] = []
    for index, raw in enumerate(raw_segments):
        where = f"{source}, segment {index}"
        try:
            words = tuple(_word(w, where) for w in raw.get("words") or ())
            segment = Segment(
                int(raw.get("id", index)),
                float(raw["start"]),
                float(raw["end"]),
                str(raw.get("text", "")).strip(),
                words,
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise StudioError(f"{where}: missing or bad field ({exc})") from None
        if segment.end < segment.start:
            raise StudioError(f"{where}: ends before it starts")
        segments.append(segment)
    return sorted(segments, key=lambda s: s.start)


def load_transcript(path: Path) -> list[Segment]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise StudioError(f"cannot read transcript {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise StudioError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    return segments_from_json(data, str(path))


def transcribe_recording(
    path: Path,
    model: str | None = None,
    progress: Callable[[float, float], None] | None = None,
    language: str = "vi",
    regions: Sequence[tuple[float, float]] | None = None,
    hotwords: Sequence[str] = (),
) -> list[Segment]:
    """Run the transcriber (its cache makes a second run on the same file free),
    over ``regions`` only when given. ``progress`` gets (seconds done, seconds in all);
    ``hotwords`` (product names, a shop's corrected words) nudge the decoder."""
    from transcribe import TranscribeError, TranscribeOptions, Transcriber

    try:
        options = TranscribeOptions(language=language, hotwords=tuple(hotwords))
        transcriber = Transcriber(model, options=options) if model else Transcriber(options=options)
        result = transcriber.transcribe(path, progress=progress, regions=regions)
    except TranscribeError as exc:
        raise StudioError(f"transcription of {path.name} failed: {exc}") from None
    return list(result.segments)
