"""Where to crop a landscape recording so the seller stays in a vertical frame.

Analysis runs on small frames (320 px wide, 4 per second) decoded by ffmpeg.
``studio.track`` finds the seller on each one (a face, else a body, else motion
outside the overlay and on-screen text) and turns the per-sample targets into a
calm camera path (dead zone, bounded pan speed, cuts only at scene cuts); the
path is thinned to keyframes and written as an ffmpeg expression here, through
pure functions (``keyframes``, ``crop_expression``) tested on synthetic numbers.

The path reaches ffmpeg as a piecewise-linear expression of ``t`` in the crop
filter's ``x``/``y`` (crop evaluates them per frame). That keeps one clip's
whole render in one self-contained graph. The pieces are picked by a balanced
tree of ``if``s, so nesting grows with log2 of the keyframes: a chain of ifs
broke ffmpeg's evaluator (about 100 levels) after ~25 s of movement. Measured on
a 20 s 1080p pan (crop + scale, x264 veryfast, busy 2-core machine): chain
23-34 s, balanced tree 17-20 s, ``sendcmd`` with one linear expression per
segment 19 s, static crop 12-13 s; the crop's own cost is lost in x264's.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from studio.media import MediaInfo, sample_frames
from studio.track import (
    Box,
    Observation,
    OverlayTimeline,
    Tracker,
    camera_path,
    face_detector,
)

__all__ = [
    "DEAD_ZONE",
    "MAX_PAN_SPEED",
    "Box",
    "Reframe",
    "analyse",
    "crop_expression",
    "expression_depth",
    "keyframes",
    "plan_crop",
    "shot_keyframes",
]

log = logging.getLogger(__name__)

ANALYSIS_WIDTH = 320
SAMPLE_FPS = 4.0
# In crop widths: hold while the seller stays within 8 % of the crop's width from
# where the camera points (well inside the middle third); pan at most 0.6 crop
# widths a second, so the picture never moves more than 1/6 of itself in a sample.
DEAD_ZONE = 0.08
MAX_PAN_SPEED = 0.6
Mode = Literal["pass", "crop", "letterbox"]


@dataclass(frozen=True)
class Reframe:
    """How one clip is framed, in source (displayed) pixels and clip seconds."""

    mode: Mode
    crop_w: int = 0
    crop_h: int = 0
    xs: tuple[tuple[float, float], ...] = ()  # (t, x) keyframes
    ys: tuple[tuple[float, float], ...] = ()
    thumbnail_t: float = 0.0
    found: int = 0  # samples with a face, a body or a moving subject
    samples: int = 0
    subjects: tuple[tuple[float, Box | None], ...] = field(default=(), repr=False)
    cues: dict[str, int] = field(default_factory=dict)  # samples per cue (face/body/motion)
    detector: str = ""  # the face detector used: yunet or haar


# --- path (pure) ---------------------------------------------------------------


def keyframes(
    times: Sequence[float], values: Sequence[float], tolerance: float = 1.0
) -> list[tuple[float, float]]:
    """Thin a path to the points that linear interpolation cannot skip
    (Ramer-Douglas-Peucker on time)."""
    points = list(zip(times, values, strict=True))
    if len(points) <= 2:
        return points
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        (t0, v0), (t1, v1) = points[first], points[last]
        worst, worst_at = 0.0, -1
        for i in range(first + 1, last):
            t, v = points[i]
            expected = v0 + (v1 - v0) * (t - t0) / (t1 - t0) if t1 > t0 else v0
            if abs(v - expected) > worst:
                worst, worst_at = abs(v - expected), i
        if worst > tolerance:
            keep[worst_at] = True
            stack += [(first, worst_at), (worst_at, last)]
    return [p for p, k in zip(points, keep, strict=True) if k]


def crop_expression(points: Sequence[tuple[float, float]]) -> str:
    """A piecewise-linear ffmpeg expression of ``t`` through ``points``, held flat
    before the first and after the last.

    The segments are chosen by a balanced tree of ``if(lt(t,T),left,right)``, so
    the nesting grows with log2 of the number of points: ffmpeg's evaluator
    refuses expressions nested about 100 deep, which a chain of ifs (one per
    keyframe) reached after ~25 s of movement. It is also cheaper per frame."""
    if not points:
        return "0"
    rounded = [(round(t, 3), round(v, 1)) for t, v in points]
    # (start time, expression) for each piece; the first holds from -infinity.
    pieces: list[tuple[float, str]] = [(-math.inf, f"{rounded[0][1]:g}")]
    for (t0, v0), (t1, v1) in itertools.pairwise(rounded):
        if v0 == v1 or t1 <= t0:
            pieces.append((t0, f"{v0:g}"))
        else:
            pieces.append((t0, f"{v0:g}+({v1 - v0:g})*(t-{t0:g})/{t1 - t0:g}"))
    pieces.append((rounded[-1][0], f"{rounded[-1][1]:g}"))
    return _balanced(pieces, 0, len(pieces))


def _balanced(pieces: Sequence[tuple[float, str]], lo: int, hi: int) -> str:
    if hi - lo == 1:
        return pieces[lo][1]
    mid = (lo + hi) // 2
    left, right = _balanced(pieces, lo, mid), _balanced(pieces, mid, hi)
    return f"if(lt(t,{pieces[mid][0]:g}),{left},{right})"


def expression_depth(expr: str) -> int:
    """How deep the parentheses of ``expr`` nest (ffmpeg accepts about 100)."""
    depth = deepest = 0
    for char in expr:
        if char == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif char == ")":
            depth -= 1
    return deepest


# --- putting it together ---------------------------------------------------------


def plan_crop(width: int, height: int, aspect: float) -> tuple[Mode, int, int]:
    """How a ``width`` x ``height`` source becomes ``aspect``: passed through when it
    already has it, cropped when enough is left, else letterboxed."""
    source = width / height
    if abs(source - aspect) / aspect < 0.03:
        return "pass", width, height
    if source > aspect:
        crop_w, crop_h = _even(height * aspect), _even(height)
    else:
        crop_w, crop_h = _even(width), _even(width / aspect)
    kept = (crop_w * crop_h) / (width * height)
    return ("crop" if kept >= 0.3 else "letterbox"), crop_w, crop_h


def _even(value: float) -> int:
    return max(2, int(value) // 2 * 2)


def analyse(
    info: MediaInfo,
    start: float,
    duration: float,
    aspect: float,
    overlay: OverlayTimeline | None = None,
) -> Reframe:
    """Sample the clip's range and decide its framing. ``overlay`` (from the event
    log) says which overlay elements were on screen, in recording seconds."""
    import cv2

    mode, crop_w, crop_h = plan_crop(info.width, info.height, aspect)
    scale = info.width / ANALYSIS_WIDTH
    small_w, small_h = ANALYSIS_WIDTH, max(2, round(info.height / scale) // 2 * 2)
    tracker = Tracker(small_w, small_h, reach=crop_w / scale, overlay=overlay, offset=start)
    seen: list[Observation] = []
    best_t, best_score = 0.0, -1.0
    for t, frame in sample_frames(info.path, start, duration, SAMPLE_FPS, small_w, small_h):
        seen.append(tracker.observe(t, frame))
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        sharpness = float(cv2.Laplacian(gray, cv2.CV_64F).var())
        sharpness *= 3.0 if seen[-1].faces else 1.0
        if 0.5 <= t <= duration - 0.5 and sharpness > best_score:
            best_t, best_score = t, sharpness
    subjects = [(o.t, _scaled(o.subject, scale)) for o in seen]
    cues: dict[str, int] = dict(Counter(str(o.cue) for o in seen if o.cue is not None))
    found = sum(cues.values())
    base = Reframe(
        mode,
        crop_w,
        crop_h,
        thumbnail_t=best_t,
        found=found,
        samples=len(seen),
        cues=cues,
        detector=face_detector(),
    )
    if mode != "crop":
        return base
    if found == 0:
        log.info("no face or movement found in %.1f-%.1fs: letterbox", start, start + duration)
        return Reframe("letterbox", thumbnail_t=best_t, samples=len(seen), detector=base.detector)
    return _with_path(base, info, subjects, [o.cut for o in seen])


def shot_keyframes(
    times: Sequence[float], offsets: Sequence[float], cuts: Sequence[bool]
) -> list[tuple[float, float]]:
    """Keyframes per shot, each shot's last value held until a millisecond before
    the next one starts, so the crop cuts with the picture instead of panning."""
    starts = [0] + [i for i, cut in enumerate(cuts) if cut and i > 0] + [len(times)]
    points: list[tuple[float, float]] = []
    for lo, hi in itertools.pairwise(starts):
        if points:
            points.append((times[lo] - 0.001, points[-1][1]))
        points += keyframes(times[lo:hi], offsets[lo:hi], tolerance=2.0)
    return points


def _scaled(box: Box | None, scale: float) -> Box | None:
    return None if box is None else box.scaled(scale)


def _with_path(
    base: Reframe, info: MediaInfo, subjects: list[tuple[float, Box | None]], cuts: list[bool]
) -> Reframe:
    times = [t for t, _ in subjects]
    axes: list[tuple[tuple[float, float], ...]] = []
    for size, crop, centre in (
        (info.width, base.crop_w, lambda b: b.cx),
        (info.height, base.crop_h, lambda b: b.cy),
    ):
        if crop >= size:
            axes.append(((0.0, 0.0),))
            continue
        targets = [centre(b) if b is not None else None for _, b in subjects]
        path = camera_path(
            targets,
            cuts,
            dt=1 / SAMPLE_FPS,
            dead_zone=DEAD_ZONE * crop,
            max_speed=MAX_PAN_SPEED * crop,
        )
        offsets = [min(max(c - crop / 2, 0.0), size - crop) for c in path]
        axes.append(tuple(shot_keyframes(times, offsets, cuts)))
    return Reframe(
        "crop",
        base.crop_w,
        base.crop_h,
        xs=axes[0],
        ys=axes[1],
        thumbnail_t=base.thumbnail_t,
        found=base.found,
        samples=base.samples,
        subjects=tuple(subjects),
        cues=base.cues,
        detector=base.detector,
    )
