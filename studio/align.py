"""Finding where a recording sits on the event clock from the burned-in product card.

An OBS recording of a live usually carries the overlay: when a helper pins a
product, its card (with the product's photo) appears on screen within a second.
The event log says when each pin happened on the wall clock, so the first frame
showing each pinned product's photo tells where the recording started:
``recording_start = pinned_at - seen_at``. Several pins must agree.

What is matched is the product photo, not the whole card: the overlay draws its
card in the browser and the studio draws its own with Pillow, so the fonts and
shadows differ, but both show the same photo (cropped square, rounded corners:
the centre of it is compared). The photo's place and size on screen are found
once, at the first frame where any catalog photo matches strongly, by template
matching over a range of sizes; after that the card's place is fixed (the
overlay layout does not move), so each sampled frame costs one small comparison
per product.

Doubtful cases are refused with a reason, never guessed: fewer than two pins
seen, pins that disagree by more than :data:`AGREE_SECONDS`, or photos that
never match well enough. The flags (``--recording-start``, ``--offset``) win.
"""

from __future__ import annotations

import logging
import statistics
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import NamedTuple

import numpy as np

from studio.errors import StudioError
from studio.events import Event
from studio.media import MediaInfo, sample_frames

__all__ = ["AGREE_SECONDS", "Alignment", "CardSighting", "align_from_cards"]

logger = logging.getLogger(__name__)

FPS = 2.0
WIDTH = 480  # analysis width: a 170 px card photo on a 1920 px overlay is ~42 px here
MATCH = 0.80  # normalised correlation that counts as "this photo is on screen"
# Finding the card's place takes more: a burned-in photo matches at 0.98 or so, and
# a loose threshold here would fix the place on some look-alike patch for good.
PLACE_MATCH = 0.92
AGREE_SECONDS = 1.5  # pins whose estimates differ by more than this disagree
_SIZES = tuple(range(20, 121, 4))  # compared side in analysis pixels, searched once
_SEARCH_EVERY = 4  # look for the card's place on one sampled frame in four
_CENTRE = 0.7  # the part of the square photo compared (rounded corners left out)


class CardSighting(NamedTuple):
    code: str
    pinned_at: datetime  # wall clock, from the event log
    seen_at: float  # seconds into the recording
    score: float  # correlation of the photo at the card's place

    @property
    def start(self) -> datetime:
        """The recording start this sighting implies."""
        return self.pinned_at - timedelta(seconds=self.seen_at)


@dataclass(frozen=True)
class Alignment:
    recording_start: datetime
    confidence: float  # 0..1: share of pins that agree, times how well they matched
    sightings: tuple[CardSighting, ...]


def _gray(frame: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)


def _photo(path: Path) -> np.ndarray:
    """The centre of the photo, cropped square as the card shows it (grayscale)."""
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise StudioError(f"cannot read the product image {path}")
    h, w = image.shape
    square = min(h, w)
    top, left = (h - square) // 2, (w - square) // 2
    keep = int(square * _CENTRE)
    margin = (square - keep) // 2
    return image[top + margin : top + margin + keep, left + margin : left + margin + keep]


def _sized(photo: np.ndarray, side: int) -> np.ndarray:
    import cv2

    return cv2.resize(photo, (side, side), interpolation=cv2.INTER_AREA)


class _Place(NamedTuple):
    x: int
    y: int
    side: int  # side of the compared centre at this place, analysis pixels


def _best_match(gray: np.ndarray, template: np.ndarray) -> tuple[float, int, int]:
    import cv2

    scores = cv2.matchTemplate(gray, template, cv2.TM_CCOEFF_NORMED)
    _, score, _, (x, y) = cv2.minMaxLoc(scores)
    return float(score), x, y


def _find_place(gray: np.ndarray, photos: Mapping[str, np.ndarray]) -> _Place | None:
    """Where some pinned product's photo is on this frame and at which size: searched
    on a half-size copy over all sizes, then refined at full size around the hit."""
    import cv2

    half = cv2.resize(gray, (gray.shape[1] // 2, gray.shape[0] // 2), interpolation=cv2.INTER_AREA)
    best: tuple[float, int, int, int, str] | None = None
    for code, photo in photos.items():
        for side in _SIZES:
            if side // 2 >= min(half.shape):
                break
            score, x, y = _best_match(half, _sized(photo, side // 2))
            if best is None or score > best[0]:
                best = (score, x * 2, y * 2, side, code)
    if best is None or best[0] < PLACE_MATCH - 0.2:
        return None
    _, x, y, side, code = best
    refined: tuple[float, _Place] | None = None
    for size in range(max(_SIZES[0], side - 6), side + 7):
        pad = size // 2 + 4
        y0, x0 = max(0, y - pad), max(0, x - pad)
        patch = gray[y0 : y + side + pad, x0 : x + side + pad]
        if patch.shape[0] < size or patch.shape[1] < size:
            continue
        score, dx, dy = _best_match(patch, _sized(photos[code], size))
        if refined is None or score > refined[0]:
            refined = (score, _Place(x0 + dx, y0 + dy, size))
    if refined is None or refined[0] < PLACE_MATCH:
        return None
    logger.info("card photo of %s found at %s (%.2f)", code, refined[1], refined[0])
    return refined[1]


def _score_at(gray: np.ndarray, place: _Place, template: np.ndarray) -> float:
    """Best correlation of ``template`` within a few pixels of ``place``."""
    pad = 3
    y0, x0 = max(0, place.y - pad), max(0, place.x - pad)
    patch = gray[y0 : place.y + place.side + pad, x0 : place.x + place.side + pad]
    if patch.shape[0] < template.shape[0] or patch.shape[1] < template.shape[1]:
        return 0.0
    return _best_match(patch, template)[0]


def _frames(info: MediaInfo) -> Iterator[tuple[float, np.ndarray]]:
    import cv2

    height = max(2, round(WIDTH / max(info.aspect, 1e-6) / 2) * 2)
    for t, frame in sample_frames(info.path, 0.0, info.duration, FPS, WIDTH, height):
        yield t, cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)


def _timeline(info: MediaInfo, photos: Mapping[str, np.ndarray]) -> list[tuple[float, str, float]]:
    """``(seconds, code, score)`` for every sampled frame where a photo is on screen.

    The card's place is looked for on every ``_SEARCH_EVERY``-th frame only (it is
    the costly step); the frames in between are kept and scored once it is found."""
    place: _Place | None = None
    templates: dict[str, np.ndarray] = {}
    waiting: list[tuple[float, np.ndarray]] = []
    seen: list[tuple[float, str, float]] = []
    for index, (t, gray) in enumerate(_frames(info)):
        if place is None:
            waiting = [*waiting[-(_SEARCH_EVERY - 1) :], (t, gray)]
            if index % _SEARCH_EVERY or (place := _find_place(gray, photos)) is None:
                continue
            templates = {code: _sized(photo, place.side) for code, photo in photos.items()}
        for when, frame in waiting or [(t, gray)]:
            scores = {code: _score_at(frame, place, tpl) for code, tpl in templates.items()}
            code = max(scores, key=lambda c: scores[c])
            if scores[code] >= MATCH:
                seen.append((when, code, scores[code]))
        waiting = []
    return seen


def _appearances(timeline: Sequence[tuple[float, str, float]]) -> list[tuple[float, str, float]]:
    """Where a card comes on screen: a new code, or the same after a gap. A card
    already there at the first frame was pinned before the recording: not counted."""
    shown: list[tuple[float, str, float]] = []
    last: tuple[float, str] | None = None
    for t, code, score in timeline:
        if (last is None or code != last[1] or t - last[0] > 1.5 / FPS) and t >= 1 / FPS:
            shown.append((t, code, score))
        last = (t, code)
    return shown


def _sightings(
    timeline: Sequence[tuple[float, str, float]], pins: Sequence[Event]
) -> list[CardSighting]:
    """Each pin matched, in order, to the next appearance of its product's card."""
    shown = _appearances(timeline)
    sightings: list[CardSighting] = []
    index = 0
    for pin in pins:
        found = next((j for j in range(index, len(shown)) if shown[j][1] == pin.code), None)
        if found is None:
            continue
        t, code, score = shown[found]
        sightings.append(CardSighting(code, pin.t, t, round(score, 3)))
        index = found + 1
    return sightings


def align_from_cards(
    info: MediaInfo, events: Sequence[Event], photos: Mapping[str, Path]
) -> Alignment:
    """The recording's start on the event clock, from the pinned products' cards.

    ``photos`` maps product codes to their image files (the catalog's). Raises
    :class:`StudioError` naming the reason when it cannot be sure.
    """
    pins = [e for e in events if e.type == "product_pinned" and e.code in photos]
    if len(pins) < 2:
        raise StudioError(
            "cannot find the recording's start from the cards: it needs at least two pins "
            "of products with an image in the catalog; give --recording-start or --offset"
        )
    pinned = {e.code for e in pins if e.code}
    faces = {code: _photo(path) for code, path in photos.items() if code in pinned}
    sightings = _sightings(_timeline(info, faces), pins)
    if len(sightings) < 2:
        raise StudioError(
            f"cannot find the recording's start from the cards: {len(sightings)} of "
            f"{len(pins)} pinned cards were seen in {info.path.name} (is the overlay burned "
            "in?); give --recording-start or --offset"
        )
    middle = statistics.median(s.start.timestamp() for s in sightings)
    agree = [s for s in sightings if abs(s.start.timestamp() - middle) <= AGREE_SECONDS]
    if len(agree) < 2 or len(agree) * 2 <= len(sightings):
        spread = max(s.start for s in sightings) - min(s.start for s in sightings)
        raise StudioError(
            f"cannot find the recording's start from the cards: the {len(sightings)} cards "
            f"seen disagree by up to {spread.total_seconds():.1f} s; give --recording-start "
            "or --offset"
        )
    start = statistics.median(s.start.timestamp() for s in agree)
    share = len(agree) / len(pins)
    quality = statistics.fmean(min(1.0, (s.score - MATCH) / (1 - MATCH) + 0.5) for s in agree)
    when = datetime.fromtimestamp(start, tz=agree[0].pinned_at.tzinfo)
    return Alignment(when, round(share * quality, 3), tuple(sightings))
