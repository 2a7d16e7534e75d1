"""studio.reframe: the pure crop-path functions (detection: test_track.py)."""

from __future__ import annotations

import math
import re

import pytest

from studio.reframe import crop_expression, keyframes, plan_crop, shot_keyframes


def _evaluate(expr: str, t: float) -> float:
    """A tiny evaluator for the subset of ffmpeg expressions we emit."""
    python = expr.replace("if(", "_if(").replace("lt(", "_lt(")
    return float(
        eval(python, {"_if": lambda c, a, b: a if c else b, "_lt": lambda a, b: a < b, "t": t})
    )


def test_keyframes_drop_points_on_straight_lines() -> None:
    times = [i * 0.25 for i in range(9)]
    values = [10, 10, 10, 10, 10, 20, 30, 40, 50]
    assert keyframes(times, values) == [(0.0, 10), (1.0, 10), (2.0, 50)]


def test_shot_keyframes_cut_at_a_scene_cut_instead_of_panning() -> None:
    times = [i * 0.25 for i in range(8)]
    offsets = [10.0] * 4 + [300.0] * 4
    points = shot_keyframes(times, offsets, [False] * 4 + [True] + [False] * 3)
    assert points == [(0.0, 10.0), (0.75, 10.0), (0.999, 10.0), (1.0, 300.0), (1.75, 300.0)]
    expr = crop_expression(points)
    assert _evaluate(expr, 0.99) == pytest.approx(10) and _evaluate(expr, 1.0) == 300
    assert shot_keyframes(times, offsets, [False] * 8)[0] == (0.0, 10.0)


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
