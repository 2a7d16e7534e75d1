"""Fixtures for the clip studio: synthetic recordings, event logs, transcripts.

Recordings come from ffmpeg's lavfi sources: a slate background with a grid,
a red square (the "seller") sweeping left and right, and espeak-ng Vietnamese
speech on a loop. They are small (640x360, 15 fps) because every frame costs
time on a shared 2-core machine; the renders are still full 1080x1920.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import imageio_ffmpeg
import pytest

from transcribe.types import Segment, Word, segments_to_json

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
SPEECH = (
    "Hạt dẻ Ngân Sơn hôm nay giảm giá còn một trăm năm mươi nghìn một cân. "
    "Chốt đơn ngay, tặng kèm freeship cho cả nhà."
)
# The subject: a 60 px square whose left edge follows this path (source pixels).
SUBJECT_SIZE = 60
SUBJECT_Y = 150


def subject_x(t: float) -> float:
    import math

    return 290 + 200 * math.sin(t / 3)


def iso(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


@pytest.fixture(scope="session")
def speech_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (make system-deps)")
    path = tmp_path_factory.mktemp("speech") / "speech.wav"
    subprocess.run(["espeak-ng", "-v", "vi", "-w", str(path), SPEECH], check=True)
    return path


MakeRecording = Callable[..., Path]


@pytest.fixture(scope="session")
def make_recording(tmp_path_factory: pytest.TempPathFactory, speech_wav: Path) -> MakeRecording:
    """``make_recording(name, seconds, audio="speech"|"silent"|None, size=(640, 360),
    creation_time=None)`` -> an MP4 path."""
    folder = tmp_path_factory.mktemp("recordings")

    def make(
        name: str,
        seconds: float,
        *,
        audio: str | None = "speech",
        size: tuple[int, int] = (640, 360),
        creation_time: str | None = None,
    ) -> Path:
        path = folder / name
        width, height = size
        video = (
            f"color=c=0x2a4d69:s={width}x{height}:r=15:d={seconds},"
            "drawgrid=w=40:h=40:t=1:c=white@0.3"
        )
        cmd = [FFMPEG, "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", video]
        cmd += ["-f", "lavfi", "-i", f"color=c=red:s={SUBJECT_SIZE}x{SUBJECT_SIZE}:r=15"]
        if audio == "speech":
            cmd += ["-stream_loop", "-1", "-i", str(speech_wav)]
        elif audio == "silent":
            cmd += ["-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono"]
        graph = f"[0][1]overlay=x='290+200*sin(t/3)':y={SUBJECT_Y}:shortest=1[v]"
        cmd += ["-filter_complex", graph, "-map", "[v]"]
        if audio:
            cmd += ["-map", "2:a", "-ar", "16000", "-ac", "1", "-c:a", "aac", "-b:a", "48k"]
        cmd += ["-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-crf", "30"]
        if creation_time:
            cmd += ["-metadata", f"creation_time={creation_time}"]
        subprocess.run([*cmd, str(path)], check=True)
        return path

    return make


def write_events(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def sentences(
    start: float, end: float, texts: list[str], every: float = 5.0, length: float = 4.0
) -> list[Segment]:
    """Hand-built transcript: a ``length`` s sentence every ``every`` seconds, with
    evenly spaced word times (what karaoke highlighting needs)."""
    segments: list[Segment] = []
    t, index = start, 0
    while t + length <= end:
        text = texts[index % len(texts)]
        tokens = text.split()
        step = length / len(tokens)
        words = tuple(
            Word(round(t + i * step, 3), round(t + (i + 1) * step, 3), " " + w, 0.9)
            for i, w in enumerate(tokens)
        )
        segments.append(Segment(index, t, t + length, text, words))
        t, index = t + every, index + 1
    return segments


def transcript_json(segments: list[Segment]) -> dict:
    return {"segments": segments_to_json(segments)}
