from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from faster_whisper import decode_audio

from transcribe.audio import SAMPLE_RATE, iter_chunks, probe_duration
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
