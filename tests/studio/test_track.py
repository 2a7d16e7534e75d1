"""studio.track: detectors, masks and the camera path; the tracker on recordings
with a real face, a running clock, a scrolling feed and a flashing card."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

import studio.track as track
from bench.b5_tracking import (
    FACE_IMAGE,
    T0,
    Scene,
    draw,
    face_box,
    make_scene,
    pin_events,
    score,
    slow_walk,
    walk,
)
from studio.events import Event, parse_events
from studio.media import probe
from studio.reframe import analyse
from studio.track import (
    Box,
    camera_path,
    detect_faces,
    is_scene_cut,
    motion_box,
    overlay_mask,
    overlay_timeline,
    subject_from_face,
    text_mask,
)


def _frame(box_x: int, colour: tuple[int, int, int] = (0, 0, 255)) -> np.ndarray:
    frame = np.full((180, 320, 3), (105, 77, 42), dtype=np.uint8)
    frame[80:110, box_x : box_x + 30] = colour
    return frame


def _gray(frame: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)


def _small(frame: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.resize(frame, (320, 180), interpolation=cv2.INTER_AREA)


# --- faces and bodies -----------------------------------------------------------------


def _portrait_frame() -> np.ndarray:
    import cv2

    face = cv2.imread(str(FACE_IMAGE))
    frame = np.full((180, 320, 3), 120, dtype=np.uint8)
    frame[30:180, 150:261] = cv2.resize(face, (111, 150), interpolation=cv2.INTER_AREA)
    return frame


def test_the_shipped_face_detector_finds_a_real_face() -> None:
    pytest.importorskip("yuface")
    assert track.face_detector() == "yunet"
    faces = detect_faces(_portrait_frame())
    assert len(faces) == 1
    assert 170 <= faces[0].cx <= 215 and 40 <= faces[0].cy <= 100
    assert detect_faces(np.full((180, 320, 3), 120, dtype=np.uint8)) == []


def test_haar_is_the_fallback_without_the_wheel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(track, "_yuface", lambda: None)
    assert track.face_detector() == "haar"
    faces = detect_faces(_portrait_frame())
    assert faces and 170 <= faces[0].cx <= 215


def test_haar_faces_on_the_price_card_are_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    # Haar sees a face in the card's corner at 5.25 s; the tracker drops it (text there).
    monkeypatch.setattr(track, "_yuface", lambda: None)
    scene = Scene("walk", 8, walk)
    frame = _small(draw(scene, 5.25))
    assert any(f.cx < 60 for f in detect_faces(frame))
    tracker = track.Tracker(320, 180, reach=101)
    seen = tracker.observe(5.25, frame)
    assert seen.cue == "face" and seen.subject is not None
    assert abs(seen.subject.cx - scene.path(5.25) / 2) < 15


def test_subject_from_face_reaches_down_to_the_hands() -> None:
    body = subject_from_face(Box(140, 20, 40, 40), 320, 180)
    assert body.cx == pytest.approx(160)
    assert body.y < 20 and body.y + body.h == 180  # to the bottom of the frame
    assert body.w == pytest.approx(120)


# --- motion, masks and scene cuts ---------------------------------------------------------


def test_motion_box_finds_a_moving_subject_of_equal_brightness() -> None:
    # Red on slate blue: nearly the same grey level, so only colour shows the move.
    box = motion_box(_frame(100), _frame(112))
    assert box is not None
    assert 95 <= box.x <= 115 and 120 <= box.x + box.w <= 150
    assert 70 <= box.y <= 85 and 105 <= box.y + box.h <= 120


def test_motion_box_ignores_a_still_frame_and_specks() -> None:
    still = _frame(100)
    assert motion_box(still, still.copy()) is None
    speck = still.copy()
    speck[5, 5] = 255
    assert motion_box(still, speck) is None


def test_motion_box_skips_masked_pixels_switched_graphics_and_far_movers() -> None:
    before, after = _frame(100), _frame(112)
    after[10:40, 200:300] = (240, 250, 255)  # a card switched on: solid change
    box = motion_box(before, after)
    assert box is not None and 95 <= box.x <= 115
    ignore = np.zeros((180, 320), dtype=bool)
    ignore[60:130, 80:160] = True
    assert motion_box(before, after, ignore=ignore) is None
    clock_before, clock_after = _frame(100), _frame(112)
    clock_after[150:170, 10:40] = 255 - clock_after[150:170, 10:40]
    nearest = motion_box(clock_before, clock_after, near=130, reach=60)
    assert nearest is not None and 95 <= nearest.x <= 115
    assert motion_box(clock_before, clock_after, near=300, reach=60) is None


def test_scene_cut_needs_a_new_histogram_and_most_pixels_changed() -> None:
    def hist(values: np.ndarray) -> np.ndarray:
        h, _ = np.histogram(values, bins=32, range=(0, 256))
        return h / h.sum()

    rng = np.random.default_rng(1)
    dark = hist(rng.integers(0, 80, 5000))
    dark2 = hist(rng.integers(0, 80, 5000))
    bright = hist(rng.integers(150, 256, 5000))
    assert not is_scene_cut(dark, dark2)
    assert is_scene_cut(dark, bright)
    assert is_scene_cut(dark, bright, changed=0.9)
    assert not is_scene_cut(dark, bright, changed=0.25)  # a card flashing on a quarter


def test_text_mask_covers_the_clock_feed_and_card_but_not_the_face() -> None:
    scene = Scene("walk", 8, walk)
    frame = _small(draw(scene, 8.0))  # the card is on, the seller on the right
    mask = text_mask(_gray(frame))
    clock = mask[8:22, 240:310].mean()
    feed = mask[32:98, 8:112].mean()
    card = mask[114:170, 10:130].mean()
    x, y, w, h = (v / 2 for v in face_box(scene, 8.0))
    face = mask[int(y) : int(y + h), int(x) : int(x + w)].mean()
    assert clock > 0.6 and feed > 0.6 and card > 0.3
    assert face < 0.1


def _t(seconds: float) -> datetime:
    return datetime(2026, 12, 2, 9, 0, tzinfo=UTC) + timedelta(seconds=seconds)


def test_overlay_timeline_replays_pins_switches_and_countdowns() -> None:
    events = [
        Event(_t(1), "product_pinned", {"code": "A1"}),
        Event(_t(2), "countdown_started", {"ends_at": _t(5).isoformat(), "seconds": 3}),
        Event(_t(3), "element_hidden", {"element": "card"}),
        Event(_t(4), "element_shown", {"element": "card"}),
        Event(_t(6), "product_unpinned", {"code": "A1"}),
        Event(_t(7), "comment_shown", {"comment_id": 1}),
    ]
    timeline = overlay_timeline(events, _t(0))
    assert timeline.visible_at(0.5) == frozenset()
    assert timeline.visible_at(1.5) == {"card"}  # the QR is off by default
    assert timeline.visible_at(2.5) == {"card", "countdown"}
    assert timeline.visible_at(3.5) == {"countdown"}
    assert timeline.visible_at(5.5) == {"card"}  # the countdown ran out at 5 s
    assert timeline.visible_at(6.5) == frozenset()
    assert timeline.visible_at(9.0) == {"comment"}


def test_overlay_mask_scales_the_layout_to_the_frame() -> None:
    mask = overlay_mask({"card"}, 320, 180)
    assert mask[150, 40] and not mask[20, 40] and not mask[150, 200]
    portrait = overlay_mask({"card"}, 180, 320)
    assert portrait[60, 40] and not portrait[250, 40]
    assert not overlay_mask(set(), 320, 180).any()


# --- the camera path -----------------------------------------------------------------------


def test_camera_path_holds_inside_the_dead_zone() -> None:
    targets = [100.0 + (4 if i % 2 else -4) for i in range(20)]
    path = camera_path(targets, [False] * 20, dt=0.25, dead_zone=10, max_speed=100)
    assert max(path) - min(path) < 1e-9


def test_camera_path_pans_no_faster_than_the_limit_and_without_lag() -> None:
    targets = [100.0] * 12 + [100.0 + 20 * i for i in range(1, 21)] + [500.0] * 12
    path = camera_path(targets, [False] * len(targets), dt=0.25, dead_zone=5, max_speed=100)
    steps = np.abs(np.diff(path))
    assert steps.max() <= 100 * 0.25 + 1e-9
    middle = len(targets) // 2
    assert abs(path[middle] - targets[middle]) <= 10  # centred mid-walk, no trailing
    assert path[-1] == pytest.approx(500, abs=5)


def test_camera_path_cuts_only_at_scene_cuts_and_holds_over_gaps() -> None:
    targets: list[float | None] = [100.0] * 8 + [400.0] * 8
    cuts = [False] * 8 + [True] + [False] * 7
    path = camera_path(targets, cuts, dt=0.25, dead_zone=5, max_speed=100)
    assert path[7] == pytest.approx(100) and path[8] == pytest.approx(400)
    gappy: list[float | None] = [None] * 3 + [50.0] * 6 + [None] * 4 + [90.0] * 6 + [None] * 3
    path = camera_path(gappy, [False] * len(gappy), dt=0.25, dead_zone=1, max_speed=1000)
    assert path[0] == pytest.approx(50, abs=1) and path[-1] == pytest.approx(90, abs=1)
    assert all(b >= a - 1e-9 for a, b in itertools.pairwise(path))  # no detour in the gap
    assert camera_path([None, None], [False, False], dt=0.25, dead_zone=1, max_speed=1) == []


# --- on recordings ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Scene, Path]]:
    folder = tmp_path_factory.mktemp("tracking")
    scenes = [Scene("walk", 8, walk), Scene("face hidden", 8, slow_walk, hide_face=True)]
    return {s.name: (s, make_scene(s, folder / f"{s.name[:4]}.mp4", fps=10)) for s in scenes}


def test_the_crop_follows_a_walking_face_past_the_distractors(
    recordings: dict[str, tuple[Scene, Path]],
) -> None:
    scene, path = recordings["walk"]
    frame = analyse(probe(path), 0, scene.seconds, 9 / 16)
    result = score(scene, frame.xs, frame.crop_w)
    assert frame.cues.get("face", 0) >= frame.samples * 0.7
    assert result.in_frame >= 0.95 and result.centred >= 0.85
    assert result.jumps <= 1


def test_without_a_face_motion_follows_the_seller_not_the_clock_feed_or_card(
    recordings: dict[str, tuple[Scene, Path]],
) -> None:
    scene, path = recordings["face hidden"]
    overlay = overlay_timeline(parse_events(pin_events(scene.seconds)), T0)
    frame = analyse(probe(path), 0, scene.seconds, 9 / 16, overlay=overlay)
    assert frame.cues.get("motion", 0) >= frame.samples // 2
    misses = [
        (t, box.cx, scene.path(t))
        for t, box in frame.subjects
        if box is not None and abs(box.cx - scene.path(t)) > 60
    ]
    assert len(misses) <= 2, misses
    result = score(scene, frame.xs, frame.crop_w)
    assert result.in_frame >= 0.95 and result.jumps <= 1


def test_idle_detectors_run_less_often_and_pick_a_face_up_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 10 s at 4 samples a second: no face and no body for the first 6 s, then a face.
    calls = {"faces": 0, "bodies": 0}
    face = track.Box(140.0, 40.0, 40.0, 40.0)

    def faces(frame: np.ndarray) -> list[track.Box]:
        calls["faces"] += 1
        return [face] if frame[0, 0, 0] else []

    def bodies(frame: np.ndarray, min_weight: float = 0.5) -> list[track.Box]:
        calls["bodies"] += 1
        return []

    monkeypatch.setattr(track, "detect_faces", faces)
    monkeypatch.setattr(track, "detect_bodies", bodies)
    tracker = track.Tracker(320, 180, reach=100.0)
    seen = []
    for i in range(40):
        frame = np.zeros((180, 320, 3), np.uint8)
        frame[0, 0, 0] = 255 if i >= 24 else 0
        seen.append(tracker.observe(i / 4, frame))
    faceless = seen[:24]
    # Faces every other sample while none is seen, then on each of the last 16;
    # bodies once a second (HOG ran on every other faceless sample before: 12 times).
    assert calls["faces"] == 24 // 2 + 16
    assert calls["bodies"] == 24 // 4
    assert all(o.cue is None for o in faceless)
    first = next(i for i, o in enumerate(seen) if o.cue == "face")
    assert 24 <= first <= 25  # at most one sample late
    assert all(o.cue == "face" for o in seen[first:])
