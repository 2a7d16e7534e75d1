"""One ffmpeg pass per clip, built with ffmpeg-python and run with the
imageio-ffmpeg binary.

The graph: input-seek to the clip (so filter time ``t`` starts at 0, which the
crop expression and the ASS cues rely on), 30 fps (before any scaling, so frames
that would be dropped are never scaled), frame it (crop path / scale / blurred
letterbox), the product card, the captions through libass with
the shipped fonts, ``loudnorm``; then libx264 + AAC with ``+faststart``. Frames
never pass through Python. ffmpeg writes ``-progress`` key=value lines to its
stdout, which we turn into a 0..1 fraction.
"""

from __future__ import annotations

import logging
import re
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ffmpeg

from assets import FONTS_DIR
from studio.errors import StudioError
from studio.media import ffmpeg_exe
from studio.reframe import Reframe, crop_expression

__all__ = [
    "ASPECTS",
    "RenderJob",
    "first_error",
    "frame_size",
    "render",
    "render_command",
    "thumbnail",
]

log = logging.getLogger(__name__)

ASPECTS: dict[str, tuple[int, int]] = {
    "9:16": (1080, 1920),
    "1:1": (1080, 1080),
    "16:9": (1920, 1080),
}


def frame_size(aspect: str) -> tuple[int, int]:
    try:
        return ASPECTS[aspect]
    except KeyError:
        raise StudioError(f"unknown aspect {aspect!r}; use one of {', '.join(ASPECTS)}") from None


@dataclass(frozen=True)
class RenderJob:
    recording: Path
    start: float
    end: float
    output: Path
    reframe: Reframe
    aspect: str = "9:16"
    card: Path | None = None
    card_xy: tuple[int, int] = (0, 0)
    subtitles: Path | None = None  # an .ass file, times relative to the clip
    preset: str = "veryfast"
    crf: int = 23

    @property
    def duration(self) -> float:
        return self.end - self.start


def _framed(video: Any, job: RenderJob) -> Any:
    width, height = frame_size(job.aspect)
    frame = job.reframe
    if frame.mode == "crop":
        video = video.filter(
            "crop",
            w=frame.crop_w,
            h=frame.crop_h,
            x=crop_expression(frame.xs),
            y=crop_expression(frame.ys),
        )
        return video.filter("scale", width, height, flags="bicubic")
    if frame.mode == "pass":
        return video.filter("scale", width, height, flags="bicubic")
    # Letterbox: the picture fitted in the middle over a blurred, zoomed copy of
    # itself. The blur runs at 1/8 size: same look, a fraction of the cost.
    copies = video.split()
    fg, bg = copies[0], copies[1]
    small_w, small_h = width // 8 // 2 * 2, height // 8 // 2 * 2
    bg = (
        bg.filter("scale", small_w, small_h, force_original_aspect_ratio="increase")
        .filter("crop", small_w, small_h)
        .filter("gblur", sigma=6)
        .filter("scale", width, height)
    )
    fg = fg.filter("scale", width, height, force_original_aspect_ratio="decrease")
    return ffmpeg.overlay(bg, fg, x="(W-w)/2", y="(H-h)/2")


def render_command(job: RenderJob, exe: str | None = None) -> list[str]:
    """The ffmpeg argument list for one clip (useful to inspect and to hash)."""
    source = ffmpeg.input(str(job.recording), ss=f"{job.start:.3f}", t=f"{job.duration:.3f}")
    # 30 fps first: a 60 fps OBS recording is cropped and scaled at half the frames.
    video = _framed(source.video.filter("fps", 30), job).filter("setsar", 1)
    if job.card is not None:
        card = ffmpeg.input(str(job.card))
        video = ffmpeg.overlay(video, card, x=job.card_xy[0], y=job.card_xy[1])
    if job.subtitles is not None:
        video = video.filter("ass", filename=str(job.subtitles), fontsdir=str(FONTS_DIR))
    video = video.filter("format", "yuv420p")
    audio = source.audio.filter("loudnorm", I=-14, LRA=11, TP=-1.5).filter("aresample", 48000)
    stream = ffmpeg.output(
        video,
        audio,
        str(job.output),
        vcodec="libx264",
        preset=job.preset,
        crf=job.crf,
        acodec="aac",
        audio_bitrate="128k",
        ac=2,
        r=30,
        movflags="+faststart",
        f="mp4",
    ).global_args(
        "-hide_banner", "-nostdin", "-nostats", "-loglevel", "error", "-progress", "pipe:1"
    )
    args: list[str] = stream.overwrite_output().compile(cmd=exe or ffmpeg_exe())
    return args


def render(job: RenderJob, on_progress: Callable[[float], None] | None = None) -> None:
    """Render one clip to ``job.output``; ``on_progress`` gets fractions 0..1."""
    args = render_command(job)
    log.debug("ffmpeg %s", " ".join(args[1:]))
    with tempfile.TemporaryFile() as errors:
        with subprocess.Popen(args, stdout=subprocess.PIPE, stderr=errors, text=True) as proc:
            assert proc.stdout is not None
            for line in proc.stdout:
                key, _, value = line.strip().partition("=")
                if key == "out_time_us" and on_progress and value.isdigit():
                    on_progress(min(1.0, int(value) / 1e6 / max(job.duration, 1e-3)))
            code = proc.wait()
        if code != 0:
            errors.seek(0)
            cause = first_error(errors.read().decode("utf-8", "replace")) or f"exit code {code}"
            raise StudioError(f"ffmpeg failed on clip {job.output.name}: {cause}")
    if on_progress:
        on_progress(1.0)


_CONTEXT = re.compile(r"^(\[[^\]]*@ 0x[0-9a-f]+\]\s*)+")
_QUOTED = re.compile(r"'([^']{60})[^']+'")
_AFTERMATH = ("Error ", "Failed to ", "Task finished", "Terminating thread", "Nothing was written")


def first_error(log_text: str, limit: int = 300) -> str:
    """The cause in an ffmpeg log: its first error line, without the ``[filter @ 0x..]``
    prefixes, with long quoted expressions cut. ffmpeg's last lines are only the
    consequences ("Error initializing filter", "Nothing was written...")."""
    lines = [_CONTEXT.sub("", line).strip() for line in log_text.splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        return ""
    cause = next((line for line in lines if not line.startswith(_AFTERMATH)), lines[0])
    cause = _QUOTED.sub(lambda m: f"'{m.group(1)}...'", cause)
    return cause if len(cause) <= limit else cause[: limit - 3] + "..."


def thumbnail(clip: Path, at: float, output: Path) -> None:
    """One JPEG frame of the finished clip (card and captions included)."""
    args = [
        ffmpeg_exe(),
        "-hide_banner",
        "-nostdin",
        "-loglevel",
        "error",
        "-y",
        "-ss",
        f"{max(0.0, at):.3f}",
        "-i",
        str(clip),
        "-frames:v",
        "1",
        "-q:v",
        "3",
        str(output),
    ]
    proc = subprocess.run(args, capture_output=True, text=True, check=False)
    if proc.returncode != 0 or not output.is_file():
        raise StudioError(f"cannot grab a thumbnail from {clip.name}: {proc.stderr.strip()[-200:]}")
