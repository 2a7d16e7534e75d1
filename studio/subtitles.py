"""Caption files for one clip, written with ``transcribe.captions``.

The transcript covers the whole recording; a clip needs its own slice with
times shifted to start at zero (libass reads the cues against the clip's own
timestamps, which start at 0 because the renderer seeks on the input). Layout
is the caption writer's default: the lower part of the platforms' safe area
(the centre 960x1386 of a 1080x1920 frame), so on-screen buttons never cover a
word.

Cues a helper edited (the studio page, ``Options.edits``) are given in recording
seconds and replace the transcript's cues they overlap, so a fixed product name
or price survives every later render, and a trim only adds or drops whole cues
around them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from transcribe import captions
from transcribe.types import Segment

__all__ = ["EditedCue", "clip_cues", "write_captions"]

# (start, end, text) in recording seconds.
EditedCue = tuple[float, float, str]


def clip_cues(
    segments: Sequence[Segment], start: float, end: float, edits: Sequence[EditedCue] = ()
) -> list[captions.Cue]:
    """The clip's cues in clip time: the transcript's, with the edited ones in place
    of those they overlap. Edited cues have no word times (no karaoke on them)."""
    cues = captions.build_cues(captions.slice_segments(segments, start, end))
    mine = [
        captions.Cue(max(s, start) - start, min(e, end) - start, tuple(t.splitlines()) or ("",), ())
        for s, e, t in edits
        if e > start and s < end and t.strip()
    ]
    kept = [c for c in cues if all(c.end <= m.start or c.start >= m.end for m in mine)]
    return sorted([*kept, *mine], key=lambda c: c.start)


def write_captions(
    segments: Sequence[Segment],
    start: float,
    end: float,
    *,
    srt: Path,
    ass: Path | None,
    karaoke: bool,
    frame: tuple[int, int],
    edits: Sequence[EditedCue] = (),
) -> Path | None:
    """Write ``srt`` (whenever anything is said in the clip) and ``ass`` (if
    asked); return the ASS path to burn, or None when there is nothing to burn."""
    cues = clip_cues(segments, start, end, edits)
    if not cues:
        srt.unlink(missing_ok=True)
        return None
    srt.write_text(captions.to_srt(cues), encoding="utf-8")
    if ass is None:
        return None
    ass.write_text(
        captions.to_ass(cues, karaoke=karaoke, play_res=frame, font_name="Noto Sans"),
        encoding="utf-8",
    )
    return ass
