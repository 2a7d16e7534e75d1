"""studio.render and studio.reframe.analyse on real (short) recordings."""

from __future__ import annotations

import stat
from dataclasses import replace
from pathlib import Path

import av
import numpy as np
import pytest

import studio.media
from studio.errors import StudioError
from studio.media import check_ffmpeg, probe
from studio.reframe import analyse
from studio.render import RenderJob, first_error, render, render_command

from .conftest import MakeRecording


@pytest.fixture(scope="module")
def vertical(make_recording: MakeRecording) -> Path:
    return make_recording("vertical.mp4", 4, size=(360, 640))


def test_vertical_recording_passes_through(vertical: Path) -> None:
    frame = analyse(probe(vertical), 0, 3, 9 / 16)
    assert frame.mode == "pass" and frame.samples >= 12  # 4 per second at least


def test_landscape_recording_is_cropped_around_the_moving_subject(
    make_recording: MakeRecording,
) -> None:
    info = probe(make_recording("landscape.mp4", 4))
    frame = analyse(info, 0, 4, 9 / 16)
    assert frame.mode == "crop" and (frame.crop_w, frame.crop_h) == (202, 360)
    assert frame.found >= frame.samples - 2
    assert all(0 <= x <= 640 - 202 for _, x in frame.xs)


def test_letterbox_fits_the_picture_over_a_blurred_copy(vertical: Path) -> None:
    frame = replace(analyse(probe(vertical), 0, 2, 1.0), mode="letterbox")
    job = RenderJob(vertical, 0.5, 2.5, vertical.with_name("lb.mp4"), frame, aspect="1:1")
    progress: list[float] = []
    render(job, progress.append)
    assert progress[-1] == 1.0
    with av.open(str(job.output)) as container:
        rgb = next(container.decode(video=0)).to_ndarray(format="rgb24").astype(int)
    assert rgb.shape == (1080, 1080, 3)
    background = np.array([0x2A, 0x4D, 0x69])
    # Left of the centred picture: the blurred slate background, not black bars.
    assert np.abs(rgb[400:700, 20:200] - background).sum(axis=2).mean() < 60


def test_render_command_is_one_ffmpeg_pass(vertical: Path) -> None:
    frame = analyse(probe(vertical), 0, 2, 9 / 16)
    args = render_command(RenderJob(vertical, 1.0, 3.0, Path("out.mp4"), frame, preset="ultrafast"))
    assert args.count("-filter_complex") == 1 and args.count("-i") == 1
    joined = " ".join(args)
    for needle in (
        "loudnorm",
        "libx264",
        "aac",
        "+faststart",
        "ultrafast",
        "-ss 1.000",
        "-t 2.000",
    ):
        assert needle in joined


def test_missing_libass_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "ffmpeg"
    fake.write_text("#!/bin/sh\necho ' .. scale V->V Scale the input video.'\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setattr(studio.media, "ffmpeg_exe", lambda: str(fake))
    check_ffmpeg.cache_clear()
    try:
        with pytest.raises(StudioError, match=r"lacks ass \(libass\), loudnorm, libx264"):
            check_ffmpeg()
    finally:
        check_ffmpeg.cache_clear()


def test_render_failure_names_the_clip(vertical: Path, tmp_path: Path) -> None:
    frame = analyse(probe(vertical), 0, 2, 9 / 16)
    job = RenderJob(vertical, 0, 2, tmp_path / "x.mp4", frame, preset="no-such-preset")
    with pytest.raises(StudioError, match=r"ffmpeg failed on clip x\.mp4: .*no-such-preset"):
        render(job)


def test_first_error_is_the_cause_not_the_aftermath() -> None:
    log = (
        "[Parsed_crop_0 @ 0x7f0d08001a80] [Eval @ 0x7f0d180961e0] Missing ')' or too many "
        "args in 'if(lt(t,27),175.8+(-60.1)*(t-26.75)/0.25,if(lt(t,27.25),115.7+(-49.2)*(t-27)'\n"
        "[fc#0 @ 0x55] Error initializing filters\n"
        "[vost#0:0 @ 0x55] Task finished with error code: -22 (Invalid argument)\n"
    )
    cause = first_error(log)
    assert cause.startswith("Missing ')' or too many args in 'if(lt(t,27)")
    assert cause.endswith("...'") and "@ 0x" not in cause
    assert first_error("") == ""


def test_a_minute_of_constant_movement_renders(make_recording: MakeRecording) -> None:
    # The subject sweeps for the whole minute (the path's depth limit itself is
    # tested with ~200 keyframes in test_reframe, without an encode).
    recording = make_recording("moving60.mp4", 61)
    frame = analyse(probe(recording), 0.5, 60, 9 / 16)
    assert frame.mode == "crop" and len(frame.xs) > 40
    job = RenderJob(recording, 0.5, 60.5, recording.with_name("m60.mp4"), frame, preset="ultrafast")
    render(job)
    assert probe(job.output).duration == pytest.approx(60, abs=0.2)
