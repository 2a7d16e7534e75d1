"""Probing recordings (PyAV) and pulling cheap, downscaled data out of them (ffmpeg).

There is no ffprobe in the imageio-ffmpeg wheel, so metadata comes from PyAV.
Frames for analysis and the audio envelope are decoded by the ffmpeg binary
straight to small raw buffers (``fps`` + ``scale`` in the graph): Python never
sees a full-resolution frame, which keeps a 2-core laptop responsive.
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import numpy as np

from studio.errors import StudioError
from studio.events import parse_time
from transcribe.audio import cut_short_message, ends_early

__all__ = [
    "MediaInfo",
    "audio_envelope",
    "check_ffmpeg",
    "ffmpeg_exe",
    "probe",
    "sample_frames",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MediaInfo:
    path: Path
    duration: float
    width: int  # as displayed, after rotation
    height: int
    rotation: int
    fps: float
    has_audio: bool
    creation_time: datetime | None

    @property
    def aspect(self) -> float:
        return self.width / self.height


def ffmpeg_exe() -> str:
    """The ffmpeg binary shipped by imageio-ffmpeg (no system ffmpeg needed)."""
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


@lru_cache(maxsize=1)
def check_ffmpeg() -> str:
    """The binary's path, after making sure it can burn subtitles and encode H.264."""
    exe = ffmpeg_exe()
    try:
        filters = _run_text([exe, "-hide_banner", "-filters"])
        encoders = _run_text([exe, "-hide_banner", "-encoders"])
    except OSError as exc:
        raise StudioError(f"cannot run ffmpeg ({exe}): {exc}") from None
    missing = [
        name
        for name, listing in (
            ("ass (libass)", filters),
            ("loudnorm", filters),
            ("libx264", encoders),
        )
        if f" {name.split()[0]} " not in listing
    ]
    if missing:
        raise StudioError(
            f"the ffmpeg at {exe} lacks {', '.join(missing)}; reinstall imageio-ffmpeg"
        )
    return exe


def _run_text(cmd: list[str]) -> str:
    return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout


def probe(path: Path) -> MediaInfo:
    """Duration, displayed size, rotation, audio presence and ``creation_time``."""
    import av

    if not path.is_file():
        raise StudioError(f"recording not found: {path}")
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise StudioError(f"{path} has no video stream")
            video = container.streams.video[0]
            first = next(container.decode(video), None)
            if first is None:
                raise StudioError(f"{path}: no video frame could be decoded")
            rotation = int(getattr(first, "rotation", 0) or 0) % 360
            width, height = first.width, first.height
            duration = _duration(container, video)
            if ends_early(container, duration):
                raise StudioError(cut_short_message(path, duration))
            rate = video.average_rate or video.guessed_rate
            metadata = {**container.metadata, **video.metadata}
            has_audio = bool(container.streams.audio)
    except av.FFmpegError as exc:
        raise StudioError(f"cannot read {path}: not a playable video ({exc})") from None
    if rotation in (90, 270):
        width, height = height, width
    return MediaInfo(
        path=path,
        duration=duration,
        width=width,
        height=height,
        rotation=rotation,
        fps=float(rate) if rate else 30.0,
        has_audio=has_audio,
        creation_time=_creation_time(metadata.get("creation_time")),
    )


def _duration(container: object, video: object) -> float:
    raw = getattr(container, "duration", None)
    if raw:
        return float(raw) / 1_000_000
    stream_duration = getattr(video, "duration", None)
    time_base = getattr(video, "time_base", None)
    if stream_duration and time_base:
        return float(stream_duration * time_base)
    return 0.0


def _creation_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = parse_time(value)
    except ValueError:
        log.warning("ignoring unreadable creation_time %r", value)
        return None
    # Muxers write 1970/1904 epochs when they do not know the time.
    return moment if moment.year >= 2000 else None


def audio_envelope(path: Path, start: float = 0.0, duration: float | None = None) -> np.ndarray:
    """RMS loudness in dBFS for each half second of the (mono, 8 kHz) audio."""
    rate, step = 8000, 4000
    cmd = [ffmpeg_exe(), "-v", "error", "-ss", f"{start:.3f}"]
    if duration is not None:
        cmd += ["-t", f"{duration:.3f}"]
    cmd += ["-i", str(path), "-vn", "-ac", "1", "-ar", str(rate), "-f", "s16le", "pipe:1"]
    proc = subprocess.run(cmd, capture_output=True, check=False)
    if proc.returncode != 0:
        raise StudioError(f"cannot decode the audio of {path}: {_last_line(proc.stderr)}")
    samples = np.frombuffer(proc.stdout, dtype="<i2").astype(np.float32) / 32768.0
    usable = len(samples) // step * step
    if usable == 0:
        return np.zeros(0, dtype=np.float32)
    blocks = samples[:usable].reshape(-1, step)
    rms = np.sqrt(np.mean(blocks**2, axis=1))
    return (20 * np.log10(np.maximum(rms, 1e-6))).astype(np.float32)


def sample_frames(
    path: Path, start: float, duration: float, fps: float, width: int, height: int
) -> Iterator[tuple[float, np.ndarray]]:
    """``(seconds since start, BGR frame)`` at ``fps``, scaled to ``width`` x ``height``."""
    cmd = [
        ffmpeg_exe(),
        "-v",
        "error",
        "-ss",
        f"{start:.3f}",
        "-t",
        f"{duration:.3f}",
        "-i",
        str(path),
        "-an",
        "-vf",
        f"fps={fps},scale={width}:{height}:flags=area",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "bgr24",
        "pipe:1",
    ]
    size = width * height * 3
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        assert proc.stdout is not None
        index = 0
        while True:
            buffer = proc.stdout.read(size)
            if len(buffer) < size:
                break
            yield index / fps, np.frombuffer(buffer, dtype=np.uint8).reshape(height, width, 3)
            index += 1
        proc.stdout.close()
        _, err = proc.communicate()
    if proc.returncode not in (0, None) and index == 0:
        raise StudioError(f"cannot decode frames of {path}: {_last_line(err)}")


def _last_line(err: bytes | str) -> str:
    text = err.decode("utf-8", "replace") if isinstance(err, bytes) else err
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "ffmpeg failed"
