"""Caption files for one clip, written with ``transcribe.captions``.

The transcript covers the whole recording; a clip needs its own slice with
times shifted to start at zero (libass reads the cues against the clip's own
timestamps, which start at 0 because the renderer seeks on the input). Layout
is the caption writer's default: the lower part of the platforms' safe area
(the centre 960x1386 of a 1080x1920 frame), so on-screen buttons never cover a
word.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from transcribe import captions
from transcribe.types import Segment

__all__ = ["write_captions"]


def write_captions(
    segments: Sequence[Segment],
    start: float,
    end: float,
    *,
    srt: Path,
    ass: Path | None,
    karaoke: bool,
    frame: tuple[int, int],
) -> Path | None:
    """Write ``srt`` (whenever anything is said in the clip) and ``ass`` (if
    asked); return the ASS path to burn, or None when there is nothing to burn."""
    clip_segments = captions.slice_segments(segments, start, end)
    if not clip_segments:
        srt.unlink(missing_ok=True)
        return None
    cues = captions.build_cues(clip_segments)
    srt.write_text(captions.to_srt(cues), encoding="utf-8")
    if ass is None:
        return None
    ass.write_text(
        captions.to_ass(cues, karaoke=karaoke, play_res=frame, font_name="Noto Sans"),
        encoding="utf-8",
    )
    return ass
