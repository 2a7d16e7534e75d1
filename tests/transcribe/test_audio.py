from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from faster_whisper import decode_audio

from transcribe.audio import (
    SAMPLE_RATE,
    iter_chunks,
    iter_region_chunks,
    merge_regions,
    probe_duration,
)
from transcribe.errors import AudioError

from .conftest import ffmpeg


@pytest.fixture(scope="module")
def gapped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """50 s of tone in a video container, silent from 24.0 to 25.0 s."""
    out = tmp_path_factory.mktemp("audio") / "gapped.mp4"
    tone = "sine=frequency=440:sample_rate=44100:duration=50"
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc=size=64x64:rate=5:duration=50",
        "-f", "lavfi", "-i", tone,
        "-af", "volume=enable='between(t,24,25)':volume=0",
        "-c:v", "libx264", "-c:a", "aac", "-shortest", str(out),
    )  # fmt: skip
    return out


def test_chunks_cover_the_recording_and_cut_in_the_quiet(gapped: Path) -> None:
    chunks = list(iter_chunks(gapped, chunk_seconds=30.0))
    whole = decode_audio(str(gapped))
    assert len(chunks) == 2
    assert chunks[0].offset == 0.0
    assert 24.0 <= chunks[1].offset <= 25.0  # cut inside the silence, not at 30 s
    assert chunks[1].offset == len(chunks[0].samples) / SAMPLE_RATE
    total = sum(len(c.samples) for c in chunks)
    assert abs(total - len(whole)) < SAMPLE_RATE // 10
    assert all(c.samples.dtype == np.float32 for c in chunks)


def test_probe_duration(gapped: Path) -> None:
    assert probe_duration(gapped) == pytest.approx(50.0, abs=0.2)


def test_not_audio_is_a_clear_error(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.mp3"
    bogus.write_text("hello", encoding="utf-8")
    with pytest.raises(AudioError, match=r"notes\.mp3"):
        list(iter_chunks(bogus))
    with pytest.raises(AudioError, match=r"notes\.mp3"):
        probe_duration(bogus)


def _mp4(path: Path, video_seconds: int, audio_seconds: int) -> Path:
    import imageio_ffmpeg

    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y"]
    cmd += ["-f", "lavfi", "-i", f"testsrc2=s=160x120:r=10:d={video_seconds}"]
    cmd += ["-f", "lavfi", "-i", f"sine=d={audio_seconds}"]
    cmd += ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-movflags", "+faststart"]
    subprocess.run([*cmd, str(path)], check=True)
    return path


def test_ends_early_tells_a_cut_file_from_uneven_streams(tmp_path: Path) -> None:
    import av

    from transcribe.audio import ends_early

    whole = _mp4(tmp_path / "whole.mp4", 30, 30)
    uneven = _mp4(tmp_path / "uneven.mp4", 20, 30)  # video stops 10 s before the sound
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    for path, expected in ((whole, False), (uneven, False), (cut, True)):
        with av.open(str(path)) as container:
            assert ends_early(container, container.duration / 1_000_000) is expected, path.name
    with pytest.raises(AudioError, match="cut short"):
        probe_duration(cut)


def test_region_chunks_hold_exactly_the_regions(gapped: Path) -> None:
    whole = np.concatenate([c.samples for c in iter_chunks(gapped, chunk_seconds=300.0)])
    regions = [(30.0, 40.5), (2.0, 5.0), (4.0, 6.25)]  # unsorted, two overlapping
    chunks = list(iter_region_chunks(gapped, regions))
    assert [c.offset for c in chunks] == [2.0, 30.0]
    for chunk, (start, end) in zip(chunks, [(2.0, 6.25), (30.0, 40.5)], strict=True):
        lo, hi = int(start * SAMPLE_RATE), int(end * SAMPLE_RATE)
        assert np.array_equal(chunk.samples, whole[lo:hi])
        assert chunk.samples.dtype == np.float32


def test_a_long_region_is_split_in_the_quiet_and_one_past_the_end_stops_there(
    gapped: Path,
) -> None:
    chunks = list(iter_region_chunks(gapped, [(0.0, 49.0), (49.5, 80.0)], chunk_seconds=30.0))
    assert [round(c.offset) for c in chunks[:1]] == [0]
    assert 24.0 <= chunks[1].offset <= 25.0  # split inside the silence, as iter_chunks does
    assert chunks[2].offset == 49.5
    assert len(chunks[2].samples) / SAMPLE_RATE == pytest.approx(0.5, abs=0.1)


def test_merge_regions() -> None:
    assert merge_regions([(5, 9), (-1, 2), (2, 3), (8, 8), (10, 12)]) == [
        (0.0, 3.0),
        (5.0, 9.0),
        (10.0, 12.0),
    ]
    assert merge_regions([]) == []
