"""studio.reframe: detection on synthetic frames and the pure crop-path functions."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from studio.reframe import (
    Box,
    crop_expression,
    is_scene_cut,
    keyframes,
    motion_box,
    plan_crop,
    smooth_path,
    subject_from_face,
)


def _frame(box_x: int, colour: tuple[int, int, int] = (0, 0, 255)) -> np.ndarray:
    frame = np.full((180, 320, 3), (105, 77, 42), dtype=np.uint8)
    frame[80:110, box_x : box_x + 30] = colour
    return frame


def _evaluate(expr: str, t: float) -> float:
    """A tiny evaluator for the subset of ffmpeg expressions we emit."""
    python = expr.replace("if(", "_if(").replace("lt(", "_lt(")
    return float(
        eval(python, {"_if": lambda c, a, b: a if c else b, "_lt": lambda a, b: a < b, "t": t})
    )


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


def test_scene_cut_from_histograms() -> None:
    def hist(values: np.ndarray) -> np.ndarray:
        h, _ = np.histogram(values, bins=32, range=(0, 256))
        return h / h.sum()

    rng = np.random.default_rng(1)
    dark = hist(rng.integers(0, 80, 5000))
    dark2 = hist(rng.integers(0, 80, 5000))
    bright = hist(rng.integers(150, 256, 5000))
    assert not is_scene_cut(dark, dark2)
    assert is_scene_cut(dark, bright)


def test_subject_from_face_reaches_down_to_the_hands() -> None:
    body = subject_from_face(Box(140, 20, 40, 40), 320, 180)
    assert body.cx == pytest.approx(160)
    assert body.y < 20 and body.y + body.h == 180  # to the bottom of the frame
    assert body.w == pytest.approx(120)


def test_smooth_path_holds_inside_the_dead_zone() -> None:
    path = smooth_path([100, 104, 97, 103, 99], [False] * 5, dead_zone=10, ease=0.5)
    assert path == [100] * 5


def test_smooth_path_eases_towards_a_new_position_and_jumps_at_cuts() -> None:
    targets = [100.0] + [200.0] * 6 + [20.0]
    cuts = [False] * 7 + [True]
    path = smooth_path(targets, cuts, dead_zone=10, ease=0.5)
    assert path[1] == 150 and path[2] == 175  # half the way each step
    assert all(path[i] <= path[i + 1] for i in range(6))
    assert path[-1] == 20  # reset at the cut


def test_smooth_path_keeps_the_subject_in_frame_and_holds_over_gaps() -> None:
    path = smooth_path([0.0, 300.0, None, None], [False] * 4, dead_zone=5, ease=0.1, keep_within=50)
    assert path[1] == 250  # pulled to within 50 of the target despite slow easing
    assert path[2] == path[3] == 250
    assert smooth_path([None, None], [False, False], dead_zone=1, ease=1) == []


def test_keyframes_drop_points_on_straight_lines() -> None:
    times = [i * 0.25 for i in range(9)]
    values = [10, 10, 10, 10, 10, 20, 30, 40, 50]
    assert keyframes(times, values) == [(0.0, 10), (1.0, 10), (2.0, 50)]


def test_crop_expression_interpolates_and_holds_at_the_ends() -> None:
    points = [(0.5, 100.0), (1.5, 200.0), (3.0, 200.0)]
    expr = crop_expression(points)
    assert re.fullmatch(r"[0-9a-z().,+*/\-]+", expr)  # nothing that needs shell quoting
    for t, expected in [(0, 100), (0.5, 100), (1.0, 150), (1.5, 200), (2.5, 200), (9, 200)]:
        assert _evaluate(expr, t) == pytest.approx(expected)


def test_crop_expression_follows_a_long_path_closely() -> None:
    times = [i / 4 for i in range(240)]
    values = [300 + 200 * math.sin(t / 3) for t in times]
    points = keyframes(times, values, tolerance=2.0)
    assert len(points) < len(times) / 2
    expr = crop_expression(points)
    worst = max(abs(_evaluate(expr, t) - v) for t, v in zip(times, values, strict=True))
    assert worst <= 2.1


@pytest.mark.parametrize(
    ("size", "aspect", "expected"),
    [
        ((1920, 1080), 9 / 16, ("crop", 606, 1080)),
        ((1920, 1080), 1.0, ("crop", 1080, 1080)),
        ((1080, 1920), 9 / 16, ("pass", 1080, 1920)),
        ((1080, 1920), 16 / 9, ("crop", 1080, 606)),
        ((2560, 1080), 9 / 16, ("letterbox", 606, 1080)),
    ],
)
def test_plan_crop(size: tuple[int, int], aspect: float, expected: tuple) -> None:
    assert plan_crop(*size, aspect) == expected


def test_crop_expression_for_a_minute_of_constant_movement_runs_in_ffmpeg() -> None:
    import subprocess

    from studio.media import ffmpeg_exe
    from studio.reframe import expression_depth

    times = [i / 4 for i in range(240)]
    values = [219 + 200 * math.sin(t * 1.3) for t in times]
    points = keyframes(times, values, tolerance=2.0)
    assert len(points) > 150  # the old chain of ifs failed past ~100 keyframes
    expr = crop_expression(points)
    assert expression_depth(expr) < 40
    worst = max(abs(_evaluate(expr, t) - v) for t, v in zip(times, values, strict=True))
    assert worst <= 2.1
    graph = f"crop=202:72:'{expr}':0"
    cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-f", "lavfi"]
    cmd += ["-i", "color=s=640x72:r=5:d=60", "-vf", graph, "-f", "null", "-"]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr[:300]
