"""Broken recordings given to ``chotdon transcribe`` and ``chotdon clips``.

Each must end with a clear error that names the file, a non-zero exit, and
nothing half-written where the output would go. The cut-off cases are real
phone failures: the recorder app is killed, so an MP4 loses its index (moov at
the end), or, with the index written first ("faststart"), loses its second half
while the header still announces the full length.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import imageio_ffmpeg
import pytest
from click.testing import CliRunner, Result

from server.cli import main
from transcribe.tiny import build_tiny_model
from transcribe.types import Segment, Word, segments_to_json

T0 = "2026-11-20T12:00:00Z"
SECONDS = 40


def _ffmpeg(*args: str) -> None:
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y"]
    subprocess.run([*command, *args], check=True)


def _cut(source: Path, target: Path, keep: float) -> Path:
    data = source.read_bytes()
    target.write_bytes(data[: int(len(data) * keep)])
    return target


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A 40 s phone-like recording, and the ways it arrives broken."""
    folder = tmp_path_factory.mktemp("media")
    video = f"color=c=0x2a4d69:s=640x360:r=15:d={SECONDS},drawgrid=w=40:h=40:t=1:c=white@0.3"
    common = ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest"]
    inputs = ["-f", "lavfi", "-i", video, "-f", "lavfi", "-i", f"sine=f=300:d={SECONDS}"]
    whole = folder / "whole.mp4"
    _ffmpeg(*inputs, *common, "-metadata", f"creation_time={T0}", str(whole))
    indexed = folder / "indexed.mp4"
    _ffmpeg("-i", str(whole), "-c", "copy", "-movflags", "+faststart", str(indexed))
    audio = folder / "whole.m4a"
    _ffmpeg("-i", str(whole), "-vn", "-c:a", "copy", str(audio))
    junk = folder / "junk.mp4"
    junk.write_bytes(os.urandom(50_000))
    empty = folder / "empty.mp4"
    empty.write_bytes(b"")
    return {
        "junk": junk,
        "empty": empty,
        "no_index": _cut(whole, folder / "no-index.mp4", 0.5),
        "cut_audio": _cut(audio, folder / "cut-audio.m4a", 0.4),
        "cut_with_index": _cut(indexed, folder / "cut-with-index.mp4", 0.5),
    }


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # A real model, so a failure is about the file and not about a missing model.
    return build_tiny_model(tmp_path_factory.mktemp("models") / "tiny-whisper")


def _transcribe(file: Path, model: Path, out: Path) -> Result:
    args = ["transcribe", str(file), "--model", str(model), "--no-cache", "-o", str(out)]
    return CliRunner().invoke(main, args)


@pytest.mark.parametrize("kind", ["junk", "empty", "no_index", "cut_audio"])
def test_transcribe_refuses_unreadable_recordings(
    media: dict[str, Path], tiny_model: Path, tmp_path: Path, kind: str
) -> None:
    out = tmp_path / "out" / "transcript.json"
    out.parent.mkdir()
    result = _transcribe(media[kind], tiny_model, out)
    assert result.exit_code == 1, result.output
    assert f"Error: {media[kind]}: cannot read audio" in result.output
    assert list(out.parent.iterdir()) == []


def test_transcribe_notices_a_recording_cut_short(
    media: dict[str, Path], tiny_model: Path, tmp_path: Path
) -> None:
    out = tmp_path / "transcript.json"
    result = _transcribe(media["cut_with_index"], tiny_model, out)
    assert result.exit_code != 0 and "cut-with-index.mp4" in result.output
    assert not out.exists()


def _session(folder: Path, pinned_at: float) -> tuple[Path, Path]:
    """An event log pinning A1 at ``pinned_at`` s, and a transcript of the whole 40 s."""
    events = folder / "events.jsonl"
    pinned = f"2026-11-20T12:00:{int(pinned_at):02d}Z"
    records = [
        {"t": "2026-11-20T11:59:50Z", "type": "session_started"},
        {"t": pinned, "type": "product_pinned", "code": "A1"},
        {"t": "2026-11-20T12:00:40Z", "type": "session_stopped"},
    ]
    events.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    segments = [
        Segment(i, t, t + 3.5, "chốt đơn hạt dẻ", tuple(_words(t)))
        for i, t in enumerate(range(0, SECONDS - 3, 4))
    ]
    transcript = folder / "transcript.json"
    transcript.write_text(json.dumps({"segments": segments_to_json(segments)}), encoding="utf-8")
    return events, transcript


def _words(start: float) -> list[Word]:
    return [Word(start + i * 0.8, start + (i + 1) * 0.8, f" từ{i}", 0.9) for i in range(4)]


def _clips(recording: Path, folder: Path, out: Path) -> Result:
    events, transcript = _session(folder, pinned_at=25)
    args = [
        "clips", str(recording), "--events", str(events), "--transcript", str(transcript),
        "--min-len", "5", "--max-len", "10", "--preset", "ultrafast", "--out", str(out),
    ]  # fmt: skip
    return CliRunner().invoke(main, args)


@pytest.mark.parametrize("kind", ["empty", "no_index"])
def test_clips_refuses_unreadable_recordings(
    media: dict[str, Path], tmp_path: Path, kind: str
) -> None:
    out = tmp_path / "clips"
    result = _clips(media[kind], tmp_path, out)
    assert result.exit_code == 1, result.output
    assert f"Error: cannot read {media[kind]}: not a playable video" in result.output
    assert not out.exists()


def test_clips_notices_a_recording_cut_short(media: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "clips"
    result = _clips(media["cut_with_index"], tmp_path, out)
    assert result.exit_code != 0
    assert "cut-with-index.mp4" in result.output
    assert not list(out.glob("*.mp4"))
