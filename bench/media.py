"""Synthetic inputs: espeak-ng Vietnamese speech and lavfi recordings.

A recording is a slate with a grid and a red square (the "seller") sweeping
across it, so the studio's framing has something to follow, over looped
speech. Sizes, frame rates and bitrates are chosen per benchmark: 1920x1080 for
the render, small and low-bitrate for the 30-minute memory run.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import imageio_ffmpeg

from transcribe.types import Segment, Word

__all__ = [
    "FFMPEG",
    "SENTENCES",
    "SENTENCES_EN",
    "make_long_recording",
    "make_recording",
    "make_speech",
    "transcript_for",
]

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
SENTENCES = (
    "Chào cả nhà, hôm nay em bán hạt dẻ Ngân Sơn.",
    "Hạt dẻ to, bùi, giá chỉ một trăm năm mươi nghìn một cân.",
    "Chốt đơn nhanh tay, tặng kèm freeship cho cả nhà nhé.",
    "Miến dong Na Rì sợi dai, nấu canh hay xào đều ngon.",
    "Mật ong bạc hà nguyên chất, còn mười chai thôi ạ.",
    "Ai lấy thì bình luận mã sản phẩm và số lượng nhé.",
)
# The same pitch in English, for English models (B6 uses tiny.en).
SENTENCES_EN = (
    "Hello everyone, today I am selling chestnuts from Ngan Son.",
    "The chestnuts are big and sweet, only one hundred and fifty thousand a kilo.",
    "Order now, free shipping for everyone.",
    "Glass noodles from Na Ri, chewy, great in soup or stir fried.",
    "Pure mint honey, only ten bottles left.",
    "To buy, comment the product code and the quantity.",
)


def _run(cmd: list[str]) -> None:
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{Path(cmd[0]).name} failed: {result.stderr.strip()[-300:]}")


def make_speech(path: Path, seconds: float, language: str = "vi") -> Path:
    """About ``seconds`` of speech (espeak-ng; Vietnamese, or English with ``"en"``),
    cut to length, 16 kHz mono WAV."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise RuntimeError("espeak-ng is not installed (make system-deps)")
    once = path.with_suffix(".once.wav")
    text = " ".join(SENTENCES_EN if language == "en" else SENTENCES)
    _run([espeak, "-v", language, "-s", "150", "-w", str(once), text])
    _run([FFMPEG, "-hide_banner", "-loglevel", "error", "-y", "-stream_loop", "-1",
          "-i", str(once), "-t", f"{seconds}", "-ar", "16000", "-ac", "1", str(path)])  # fmt: skip
    once.unlink()
    return path


def make_recording(
    path: Path,
    seconds: float,
    speech: Path,
    *,
    size: tuple[int, int] = (1920, 1080),
    fps: int = 30,
    crf: int = 30,
) -> Path:
    """An H.264 + AAC MP4 of ``seconds``: moving subject on a slate, looped speech."""
    width, height = size
    side = height // 6
    video = (
        f"color=c=0x2a4d69:s={width}x{height}:r={fps}:d={seconds},drawgrid=w=80:h=80:c=white@0.3"
    )
    swing = (width - side) // 2
    graph = f"[0][1]overlay=x='{swing}+{swing * 2 // 3}*sin(t/3)':y={height // 4}:shortest=1[v]"
    _run([FFMPEG, "-hide_banner", "-loglevel", "error", "-y",
          "-f", "lavfi", "-i", video,
          "-f", "lavfi", "-i", f"color=c=red:s={side}x{side}:r={fps}",
          "-stream_loop", "-1", "-i", str(speech),
          "-filter_complex", graph, "-map", "[v]", "-map", "2:a",
          "-t", f"{seconds}", "-c:v", "libx264", "-preset", "ultrafast", "-crf", str(crf),
          "-g", str(fps * 4), "-c:a", "aac", "-b:a", "64k", "-ar", "16000", "-ac", "1",
          str(path)])  # fmt: skip
    return path


def make_long_recording(path: Path, seconds: float, piece: Path) -> Path:
    """``piece`` repeated (stream copy, no re-encoding) up to ``seconds``: a long
    recording in seconds of work instead of minutes of encoding."""
    listing = path.with_suffix(".txt")
    copies = int(seconds // 30) + 2  # pieces are at least 30 s long
    listing.write_text(f"file '{piece.resolve()}'\n" * copies, encoding="utf-8")
    _run([FFMPEG, "-hide_banner", "-loglevel", "error", "-y", "-f", "concat", "-safe", "0",
          "-i", str(listing), "-t", f"{seconds}", "-c", "copy", str(path)])  # fmt: skip
    listing.unlink()
    return path


def transcript_for(seconds: float, every: float = 5.0, length: float = 4.5) -> list[Segment]:
    """A hand-made transcript with evenly spaced word times (what karaoke needs)."""
    segments: list[Segment] = []
    t = 0.0
    while t + length <= seconds:
        text = SENTENCES[len(segments) % len(SENTENCES)]
        tokens = text.split()
        step = length / len(tokens)
        words = tuple(
            Word(round(t + i * step, 3), round(t + (i + 1) * step, 3), " " + token, 0.9)
            for i, token in enumerate(tokens)
        )
        segments.append(Segment(len(segments), t, t + length, text, words))
        t += every
    return segments
