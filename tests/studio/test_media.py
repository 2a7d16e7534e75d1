"""studio.media: probing with PyAV, the ffmpeg check, cheap frame and audio decoding."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.errors import StudioError
from studio.media import audio_envelope, check_ffmpeg, probe, sample_frames

from .conftest import MakeRecording


@pytest.fixture(scope="module")
def short_clip(make_recording: MakeRecording) -> Path:
    return make_recording("short.mp4", 6, creation_time="2026-11-20T12:00:00Z")


def test_ffmpeg_has_what_we_need() -> None:
    assert Path(check_ffmpeg()).is_file()


def test_probe_reads_size_duration_audio_and_creation_time(short_clip: Path) -> None:
    info = probe(short_clip)
    assert (info.width, info.height, info.rotation) == (640, 360, 0)
    assert info.duration == pytest.approx(6, abs=0.2)
    assert info.has_audio and info.fps == pytest.approx(15)
    assert info.creation_time is not None and info.creation_time.isoformat().startswith(
        "2026-11-20T12:00:00"
    )


def test_probe_swaps_size_of_a_rotated_phone_video(short_clip: Path, tmp_path: Path) -> None:
    import subprocess

    from studio.media import ffmpeg_exe

    rotated = tmp_path / "rotated.mp4"
    cmd = [ffmpeg_exe(), "-v", "error", "-display_rotation", "90", "-i", str(short_clip)]
    subprocess.run([*cmd, "-c", "copy", str(rotated)], check=True)
    info = probe(rotated)
    assert (info.width, info.height) == (360, 640) and info.rotation in (90, 270)


def test_probe_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(StudioError, match="recording not found"):
        probe(tmp_path / "missing.mp4")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00\x01 this is not a video" * 100)
    with pytest.raises(StudioError, match=r"cannot read .*junk\.mp4"):
        probe(junk)


def test_sample_frames_are_small_and_evenly_timed(short_clip: Path) -> None:
    frames = list(sample_frames(short_clip, 1.0, 2.0, 4.0, 160, 90))
    assert len(frames) == 8
    assert [t for t, _ in frames[:3]] == [0.0, 0.25, 0.5]
    assert frames[0][1].shape == (90, 160, 3)


def test_audio_envelope_hears_the_speech(short_clip: Path) -> None:
    envelope = audio_envelope(short_clip)
    assert len(envelope) == pytest.approx(12, abs=1)  # half seconds
    assert envelope.max() > -40
