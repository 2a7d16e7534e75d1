"""x264 presets on one 60 s 1080x1920 clip: encode CPU seconds, size, quality.

``python -m bench.x264_presets [PRESET ...]`` (not part of ``make bench``: a study
behind the choice of ``RenderJob.preset``, see docs/performance.md). The clip is
the studio's own graph (crop path, card, karaoke captions), rendered once
losslessly (x264 ultrafast, qp 0) as the reference; each preset then encodes that
reference at the studio's crf, so the frames the encoder sees are the ones a
render feeds it. Encode CPU seconds are the child ffmpeg's user + system time,
less the time to decode the reference alone. SSIM and PSNR (Y, U, V together)
come from ffmpeg's ``ssim`` and ``psnr`` filters against the reference.
"""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import b3_render as b3
from bench.media import FFMPEG, make_recording, make_speech

__all__ = ["PRESETS", "main", "study"]

PRESETS = ("veryfast", "superfast", "faster")
CLIP = (5.0, 65.0)
CRF = 23


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _ffmpeg(args: list[str]) -> tuple[float, str]:
    """CPU seconds of one ffmpeg run, and its log."""
    cpu = _children_cpu()
    result = subprocess.run([FFMPEG, "-hide_banner", "-nostdin", "-y", *args],
                            capture_output=True, text=True, check=False)  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"ffmpeg failed: {result.stderr.strip()[-400:]}")
    return _children_cpu() - cpu, result.stderr


def reference(folder: Path) -> Path:
    """The studio's graph for a 60 s clip, rendered losslessly (video only)."""
    from assets import FONTS_DIR

    b3.CLIP = CLIP  # the B3 helpers read it at call time
    speech = make_speech(folder / "speech.wav", CLIP[1] + 5)
    recording = make_recording(folder / "live.mp4", CLIP[1] + 5, speech)
    out = folder / "studio"
    b3.render_studio(recording, out)  # makes the card and the ASS captions
    card, ass = out / ".studio" / "01-a1-bench.card.png", out / ".studio" / "01-a1-bench.ass"
    _, crop, _ = b3.framing(recording)
    width, height = b3.SIZE
    graph = (
        f"[0:v]fps=30,{crop},scale={width}:{height}:flags=bicubic,setsar=1[framed];"
        f"[framed][1:v]overlay=x={b3.CARD_XY[0]}:y={b3.CARD_XY[1]}[carded];"
        f"[carded]ass=filename={ass}:fontsdir={FONTS_DIR},format=yuv420p[v]"
    )
    ref = folder / "reference.mkv"
    _ffmpeg(["-loglevel", "error", "-ss", f"{CLIP[0]:.3f}", "-t", f"{CLIP[1] - CLIP[0]:.3f}",
             "-i", str(recording), "-i", str(card), "-filter_complex", graph, "-map", "[v]",
             "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-r", "30",
             str(ref)])  # fmt: skip
    return ref


def _quality(output: Path, ref: Path) -> tuple[float, float]:
    graph = "[0:v]split[a][b];[1:v]split[c][d];[a][c]ssim;[b][d]psnr"
    _, log = _ffmpeg(["-i", str(output), "-i", str(ref), "-lavfi", graph, "-f", "null", "-"])
    ssim = re.search(r"SSIM .*All:([0-9.]+)", log)
    psnr = re.search(r"PSNR .*average:([0-9.inf]+)", log)
    if ssim is None or psnr is None:
        raise RuntimeError(f"no SSIM/PSNR in ffmpeg's log: {log[-400:]}")
    return float(ssim.group(1)), float(psnr.group(1))


def study(folder: Path, presets: tuple[str, ...] = PRESETS) -> list[dict[str, float | str]]:
    """One row per preset: encode CPU seconds, wall seconds, MB, SSIM, PSNR dB."""
    ref = reference(folder)
    decode, _ = _ffmpeg(["-loglevel", "error", "-i", str(ref), "-f", "null", "-"])
    rows: list[dict[str, float | str]] = []
    for preset in presets:
        output = folder / f"{preset}.mp4"
        started = time.perf_counter()
        cpu, _ = _ffmpeg(["-loglevel", "error", "-i", str(ref), "-c:v", "libx264",
                          "-preset", preset, "-crf", str(CRF), "-an", str(output)])  # fmt: skip
        wall = time.perf_counter() - started
        ssim, psnr = _quality(output, ref)
        rows.append({"preset": preset, "cpu_s": cpu - decode, "wall_s": wall,
                     "mb": output.stat().st_size / 1e6, "ssim": ssim, "psnr": psnr})  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> int:
    presets = tuple(argv if argv is not None else sys.argv[1:]) or PRESETS
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="chotdon-x264-") as tmp:
        rows = study(Path(tmp), presets)
    seconds = CLIP[1] - CLIP[0]
    print(f"load average {load[0]:.2f} -> {os.getloadavg()[0]:.2f}, crf {CRF}, {seconds:.0f} s")
    print("| preset | encode CPU s | wall s | MB | SSIM | PSNR dB |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['preset']} | {r['cpu_s']:.1f} | {r['wall_s']:.1f} | {r['mb']:.2f} "
              f"| {r['ssim']:.4f} | {r['psnr']:.2f} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
