"""Caption files for one clip, written with ``transcribe.captions``.

The transcript covers the whole recording; a clip needs its own slice with
times shifted to start at zero (the ASS cues are read by libass against the
clip's timestamps). Layout: the bottom of the platforms' safe area (the centre
960x1386 of a 1080x1920 frame), so TikTok's buttons and description never
cover a word.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from studio.errors import StudioError
from transcribe.types import Segment

__all__ = ["SAFE_AREA", "safe_margins", "write_captions"]

SAFE_AREA = (960, 1386)  # of a 1080x1920 frame


def safe_margins(frame: tuple[int, int]) -> tuple[int, int]:
    """(side, bottom) margins in pixels that keep text inside the safe area."""
    width, height = frame
    if (width, height) == (1080, 1920):
        return (width - SAFE_AREA[0]) // 2 + 20, (height - SAFE_AREA[1]) // 2 + 20
    return int(width * 0.06), int(height * 0.08)


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
    """Write ``srt`` (always, when anything is said) and ``ass`` (if asked);
    return the ASS path to burn, or None when there is nothing to burn."""
    try:
        from transcribe import captions
    except ImportError as exc:  # pragma: no cover - the package ships together
        raise StudioError(f"caption writer unavailable: {exc}") from None
    clip_segments = captions.slice_segments(list(segments), start, end)
    if not clip_segments:
        srt.unlink(missing_ok=True)
        return None
    cues = captions.build_cues(clip_segments)
    srt.write_text(captions.to_srt(cues), encoding="utf-8")
    if ass is None:
        return None
    side, bottom = safe_margins(frame)
    ass.write_text(
        captions.to_ass(
            cues,
            karaoke=karaoke,
            play_res=frame,
            font_name="Noto Sans",
            margin_h=side,
            margin_v=bottom,
        ),
        encoding="utf-8",
    )
    return ass
