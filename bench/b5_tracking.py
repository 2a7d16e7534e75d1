"""B5: does the vertical crop follow the seller and ignore what else moves on screen?

Recordings made here, frame by frame with OpenCV and encoded by ffmpeg: a real
face (NASA's portrait of astronaut Eileen Collins, public domain, as shipped in
scikit-image's sample data; ``bench/data/astronaut.jpg``) moving across a room,
with the distractors of an OBS capture of a live: a running clock (top right), a
scrolling comment feed (left) and a product card flashing on and off where the
overlay draws it (bottom left). The subject's position is known in every frame,
so each clip's crop path from ``studio.reframe.analyse`` is scored at 10 samples
a second:

- **in frame**: the whole face inside the crop;
- **centred**: the face's centre within the middle third of the crop;
- **jumps**: the crop's centre moving more than 1/8 of the crop's width between
  two samples 0.1 s apart (a move the eye sees as a cut, not a pan).

The tests (tests/studio/test_track.py) use the same scenes, shorter.
"""

from __future__ import annotations

import math
import subprocess
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path

import numpy as np

from bench.common import Figure, Section
from studio.reframe import Reframe

__all__ = [
    "SCENES",
    "Scene",
    "Score",
    "make_scene",
    "pin_events",
    "run",
    "score",
]

FACE_IMAGE = Path(__file__).with_name("data") / "astronaut.jpg"
FACE_IN_SPRITE = (66, 33, 89, 112)  # x, y, w, h of the face in astronaut.jpg (222x300)
SIZE = (640, 360)
FPS = 15
SPRITE_H = 230
CARD = (16, 227, 253, 113)  # x, y, w, h: the overlay's landscape card, scaled to 640x360
CARD_PERIOD = 1.0  # seconds: shown for half of it, hidden for the other half
T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Scene:
    name: str
    seconds: float
    path: Callable[[float], float]  # the face's centre x (source px) at t
    hide_face: bool = False  # the back of her head: a seller turned away
    cut_at: float | None = None  # a scene cut: another room from then on


def _ease(a: float, b: float, u: float) -> float:
    u = min(1.0, max(0.0, u))
    return a + (b - a) * (1 - math.cos(math.pi * u)) / 2


def walk(t: float) -> float:
    """Holds at the left, walks right in 4 s, holds, walks back; a 14 s loop."""
    u = t % 14
    if u < 3:
        return 140.0
    if u < 7:
        return _ease(140, 500, (u - 3) / 4)
    if u < 10:
        return 500.0
    return _ease(500, 140, (u - 10) / 4)


def sway(t: float) -> float:
    """Sways in place, then steps to another spot at 10 s."""
    base = 360.0 if t < 10 else _ease(360, 220, (t - 10) / 1.5)
    return base + 30 * math.sin(2 * math.pi * t / 3)


def slow_walk(t: float) -> float:
    return 320 + 170 * math.sin(2 * math.pi * t / 20)


def cut(t: float) -> float:
    """Sways on the left; after the cut at 10 s, in another shot, on the right."""
    return (150.0 if t < 10 else 470.0) + 20 * math.sin(2 * math.pi * t / 4)


SCENES = (
    Scene("walk", 20, walk),
    Scene("sway", 20, sway),
    Scene("face hidden", 20, slow_walk, hide_face=True),
    Scene("scene cut", 20, cut, cut_at=10),
)


# --- drawing -------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _sprite() -> tuple[np.ndarray, np.ndarray, float]:
    """The subject scaled to ``SPRITE_H`` rows, its soft oval alpha, and the scale."""
    import cv2

    image = cv2.imread(str(FACE_IMAGE))
    if image is None:
        raise RuntimeError(f"cannot read {FACE_IMAGE}")
    scale = SPRITE_H / image.shape[0]
    sprite = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    h, w = sprite.shape[:2]
    alpha = np.zeros((h, w), np.float32)
    cv2.ellipse(alpha, (w // 2, h // 2 + h // 6), (w // 2 - 2, h // 2 + h // 6), 0, 0, 360, 1, -1)
    alpha = cv2.GaussianBlur(alpha, (9, 9), 0)[..., None]
    return sprite, alpha, scale


def face_box(scene: Scene, t: float) -> tuple[float, float, float, float]:
    """Where the face is at ``t``: (x, y, w, h) in source pixels."""
    _, _, scale = _sprite()
    _, fy, fw, fh = (v * scale for v in FACE_IN_SPRITE)
    centre = scene.path(t)
    return centre - fw / 2, SIZE[1] - SPRITE_H + fy, fw, fh


@lru_cache(maxsize=2)
def _room(seed: int = 7) -> np.ndarray:
    """A wall with shelves of goods; another ``seed`` is another shot (warmer, darker)."""
    import cv2

    w, h = SIZE
    rng = np.random.default_rng(seed)
    column = np.linspace(150, 95, h, dtype=np.float32)[:, None, None]
    tint = [0.9, 1.0, 1.1] if seed == 7 else [0.35, 0.55, 0.9]
    room = np.broadcast_to(column * np.array(tint, np.float32), (h, w, 3)).copy()
    for _ in range(14):  # shelves of goods behind the seller
        x, y = int(rng.integers(0, w - 60)), int(rng.integers(20, h - 140))
        colour = tuple(int(c) for c in rng.integers(40, 220, 3))
        cv2.rectangle(room, (x, y), (x + int(rng.integers(20, 60)), y + 40), colour, -1)
    room += rng.normal(0, 3, room.shape).astype(np.float32)
    return np.clip(room, 0, 255).astype(np.uint8)


def card_shown(t: float) -> bool:
    return (t % CARD_PERIOD) < CARD_PERIOD / 2


def _distractors(frame: np.ndarray, t: float) -> None:
    import cv2

    font = cv2.FONT_HERSHEY_SIMPLEX
    # A running clock, tenths of a second.
    cv2.rectangle(frame, (470, 14), (626, 46), (20, 20, 20), -1)
    clock = f"12:{int(t // 60) + 3:02d}:{t % 60:04.1f}"
    cv2.putText(frame, clock, (478, 38), font, 0.7, (255, 255, 255), 2, cv2.LINE_AA)
    # A comment feed scrolling up on the left.
    feed = frame[60:200, 10:230]
    feed[:] = (feed * 0.45).astype(np.uint8)
    offset = (t * 24) % 22
    first = int(t * 24 // 22)
    for row in range(8):
        y = int(18 + row * 22 - offset)
        if 4 <= y <= 136:
            text = f"user{(first + row) * 7 % 97:02d}: A{(first + row) % 9 + 1} x{row % 3 + 1} chot"
            cv2.putText(feed, text, (6, y), font, 0.45, (240, 240, 240), 1, cv2.LINE_AA)
    # The product card flashing where the overlay draws it.
    if card_shown(t):
        x, y, w, h = CARD
        cv2.rectangle(frame, (x, y), (x + w, y + h), (240, 250, 255), -1)
        cv2.rectangle(frame, (x, y), (x + 5, y + h), (40, 40, 214), -1)
        cv2.putText(frame, "A1 Hat de Ngan Son", (x + 14, y + 38), font, 0.6, (14, 29, 43), 2)
        cv2.putText(frame, "150.000 d", (x + 14, y + 86), font, 1.0, (40, 40, 214), 2)


def draw(scene: Scene, t: float) -> np.ndarray:
    import cv2

    after_cut = scene.cut_at is not None and t >= scene.cut_at
    frame = _room(8 if after_cut else 7).copy()
    sprite, alpha, _ = _sprite()
    if scene.hide_face:  # the back of her head: hair where the face was
        fx, fy, fw, fh = (round(v * SPRITE_H / 300) for v in FACE_IN_SPRITE)
        sprite = sprite.copy()
        centre, axes = (fx + fw // 2, fy + fh // 2), (fw // 2 + 3, fh // 2 + 4)
        cv2.ellipse(sprite, centre, axes, 0, 0, 360, (38, 52, 84), -1, cv2.LINE_AA)
    h, w = sprite.shape[:2]
    fx, _, fw, _ = FACE_IN_SPRITE
    left = round(scene.path(t) - (fx + fw / 2) * SPRITE_H / 300)
    top = SIZE[1] - h
    x0, x1 = max(0, left), min(SIZE[0], left + w)
    if x1 > x0:
        region = frame[top:, x0:x1].astype(np.float32)
        part = alpha[:, x0 - left : x1 - left]
        pixels = sprite[:, x0 - left : x1 - left].astype(np.float32)
        frame[top:, x0:x1] = (region * (1 - part) + pixels * part).astype(np.uint8)
    _distractors(frame, t)
    return frame


def make_scene(scene: Scene, path: Path, fps: int = FPS) -> Path:
    """Encode ``scene`` to an H.264 MP4 at ``path`` (no audio: framing needs none)."""
    from studio.media import ffmpeg_exe

    w, h = SIZE
    cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo"]
    cmd += ["-pix_fmt", "bgr24", "-s", f"{w}x{h}", "-r", str(fps), "-i", "-"]
    cmd += ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "24", "-pix_fmt", "yuv420p"]
    with subprocess.Popen([*cmd, str(path)], stdin=subprocess.PIPE) as proc:
        assert proc.stdin is not None
        for index in range(round(scene.seconds * fps)):
            proc.stdin.write(draw(scene, index / fps).tobytes())
        proc.stdin.close()
        if proc.wait() != 0:
            raise RuntimeError(f"ffmpeg could not encode {path.name}")
    return path


def pin_events(seconds: float) -> list[dict[str, str]]:
    """The event log of the flashing card: a pin when it appears, an unpin when it goes."""
    records: list[dict[str, str]] = []
    t = 0.0
    while t < seconds:
        for at, kind in ((t, "product_pinned"), (t + CARD_PERIOD / 2, "product_unpinned")):
            stamp = (T0 + timedelta(seconds=at)).isoformat().replace("+00:00", "Z")
            records.append({"t": stamp, "type": kind, "code": "A1"})
        t += CARD_PERIOD
    return records


# --- scoring ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Score:
    samples: int
    in_frame: float  # fraction of samples
    centred: float
    jumps: int


def score(scene: Scene, xs: tuple[tuple[float, float], ...], crop_w: int) -> Score:
    """In frame, centred and jumps for a crop path (``Reframe.xs``) of ``scene``."""
    times = np.arange(0, scene.seconds - 1e-6, 0.1)
    if xs:
        kt, kx = zip(*xs, strict=True)
        lefts = np.interp(times, kt, kx)
    else:
        lefts = np.full(len(times), (SIZE[0] - crop_w) / 2)
    inside = centred = 0
    for t, left in zip(times, lefts, strict=True):
        x, _, w, _ = face_box(scene, float(t))
        inside += left <= x and x + w <= left + crop_w
        centred += abs(x + w / 2 - (left + crop_w / 2)) <= crop_w / 6
    moves = np.abs(np.diff(lefts))
    jumps = int(np.count_nonzero(moves > crop_w / 8))
    return Score(len(times), inside / len(times), centred / len(times), jumps)


# --- the benchmark ----------------------------------------------------------------------


def _overlay() -> object:
    from studio.events import parse_events
    from studio.track import overlay_timeline

    return overlay_timeline(parse_events(pin_events(30)), T0)


def _analyse(recording: Path, seconds: float, overlay: object, haar: bool) -> Reframe:
    from unittest import mock

    import studio.track
    from studio.media import probe
    from studio.reframe import analyse

    with mock.patch.object(studio.track, "_yuface", lambda: None) if haar else nullcontext():
        return analyse(probe(recording), 0, seconds, 9 / 16, overlay=overlay)  # type: ignore[arg-type]


def _rows(
    scene: Scene, recording: Path, label: str, overlay: object, haar: bool = False
) -> tuple[list[Figure], str]:
    started = time.monotonic()
    frame = _analyse(recording, scene.seconds, overlay, haar)
    seconds = time.monotonic() - started
    result = score(scene, frame.xs, frame.crop_w)
    name = f"B5 {scene.name}{label}"
    figures = [
        Figure(f"{name}: in frame", result.in_frame * 100, "%", target=">= 95 %",
               met=result.in_frame >= 0.95),
        Figure(f"{name}: centred", result.centred * 100, "%", target=">= 85 %",
               met=result.centred >= 0.85),
        Figure(f"{name}: jumps", result.jumps, "", target="<= 1", met=result.jumps <= 1),
    ]  # fmt: skip
    cues = ", ".join(f"{k} {v}" for k, v in sorted(frame.cues.items())) or "none"
    note = (
        f"B5 {scene.name}{label}: {frame.samples} samples analysed in {seconds:.1f} s "
        f"({frame.detector} faces); cues: {cues}; {len(frame.xs)} keyframes"
    )
    return figures, note


def run(tmp: Path) -> Section:
    started = time.monotonic()
    section = Section("B5 tracking")
    for scene in SCENES:
        recording = make_scene(scene, tmp / f"b5-{scene.name.replace(' ', '-')}.mp4")
        variants = [("", _overlay(), False)]
        if scene.hide_face:  # motion only: with and without the event log's overlay times
            variants.append((" (no event log)", None, False))
        if scene.name in ("walk", "sway"):  # where the yuface wheel does not exist
            variants.append((" (Haar fallback)", _overlay(), True))
        for label, overlay, haar in variants:
            figures, note = _rows(scene, recording, label, overlay, haar)
            section.figures += figures
            section.notes.append(note)
    section.notes.insert(
        0,
        "B5: 640x360 15 fps recordings, 20 s each, made by bench/b5_tracking.py: a real face "
        "(public-domain NASA portrait) moving, with a running clock, a scrolling comment feed "
        "and a product card flashing every 0.5 s at the overlay's card position (scene cut: "
        "another shot from 10 s, the seller on the other side); crop 9:16 "
        "(202 px wide); scored at 10 samples/s. In frame: whole face inside the crop; "
        "centred: face centre within the middle third; jump: the crop's centre moving more "
        "than 1/8 of its width in 0.1 s (a scene cut's move counts as one).",
    )
    section.seconds = time.monotonic() - started
    return replace(section)
