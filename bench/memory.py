"""Peak memory of ``chotdon transcribe`` and ``chotdon clips`` on a long recording.

Each command runs as a child process; a sampler adds up the resident memory of
the child and all its descendants (ffmpeg included) every 50 ms and keeps the
peak, and the largest single process seen. (``ru_maxrss`` of the children would
mix in every earlier child of the bench process, ffmpeg renders included.)

The recording is cheap to make (a one-minute 640x360 piece at low bitrate with
espeak-ng speech, repeated by stream copy) because what grows with length is
the audio path and the analysis, not the picture. ``transcribe`` runs first with
a cold cache and fills it; ``clips`` then finds the transcript there (as on a
seller's laptop after ``chotdon transcribe``), so its figure is planning,
framing and rendering; a cold ``clips`` also holds the transcriber, whose peak
is the ``transcribe`` figure. Both fit ``make bench``'s 10 minutes this way.
The tiny random-weight model stands in for Whisper, so the model's own memory
is far below a real ``small`` (about 500 MB more with int8).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import Figure, Section
from bench.media import make_long_recording, make_recording, make_speech

__all__ = ["Peak", "peak_memory", "run"]

MINUTES = 30.0
SAMPLE_EVERY = 0.05
T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Peak:
    seconds: float
    tree_rss: int  # bytes: the largest sampled sum over the process tree
    max_rss: int  # bytes: the largest single process sampled


def _tree_rss(pid: int) -> tuple[int, int]:
    """(sum, largest) resident memory over ``pid`` and its descendants."""
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0, 0
    sizes = []
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            sizes.append(proc.memory_info().rss)
    return sum(sizes), max(sizes, default=0)


def peak_memory(cmd: list[str], env: dict[str, str], timeout: float) -> Peak:
    """Run ``cmd`` to completion, sampling its process tree; raise if it fails."""
    started = time.perf_counter()
    peak = largest = 0
    with subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    ) as proc:
        try:
            while proc.poll() is None:
                total, single = _tree_rss(proc.pid)
                peak, largest = max(peak, total), max(largest, single)
                if time.perf_counter() - started > timeout:
                    raise TimeoutError(f"{' '.join(cmd[:3])} ran over {timeout:g} s")
                time.sleep(SAMPLE_EVERY)
        finally:
            if proc.poll() is None:
                proc.kill()
        errors = proc.stderr.read() if proc.stderr else ""
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[1:4])} failed: {errors.strip()[-400:]}")
    return Peak(time.perf_counter() - started, peak, largest)


def _chotdon() -> list[str]:
    script = Path(sys.executable).with_name("chotdon")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "from server.cli import main; main()"]


def _iso(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def _events(path: Path, seconds: float) -> Path:
    records = [
        {"t": _iso(0), "type": "session_started"},
        {"t": _iso(seconds * 0.2), "type": "product_pinned", "code": "A1"},
        {"t": _iso(seconds * 0.2 + 40), "type": "order_created", "code": "A1", "qty": 2},
        {"t": _iso(seconds * 0.6), "type": "product_pinned", "code": "A2"},
        {"t": _iso(seconds - 5), "type": "session_stopped"},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def run(workdir: Path, minutes: float = MINUTES) -> Section:
    from assets import DEMO_DIR
    from transcribe.tiny import build_tiny_model

    started = time.monotonic()
    folder = workdir / "memory"
    folder.mkdir(parents=True, exist_ok=True)
    seconds = minutes * 60
    speech = make_speech(folder / "speech.wav", 60)
    piece = make_recording(folder / "piece.mp4", 60, speech, size=(640, 360), fps=15, crf=36)
    recording = make_long_recording(folder / "live.mp4", seconds, piece)
    made = time.monotonic() - started
    model = build_tiny_model(folder / "tiny-model")
    env = {**os.environ, "CHOTDON_CACHE_DIR": str(folder / "cache"), "HF_HUB_OFFLINE": "1"}
    cli = _chotdon()
    transcribe = peak_memory(
        [*cli, "transcribe", str(recording), "--model", str(model),
         "-o", str(folder / "live.json")],
        env, timeout=300,
    )  # fmt: skip
    clips = peak_memory(
        [*cli, "clips", str(recording), "--events", str(_events(folder / "events.jsonl", seconds)),
         "--catalog", str(DEMO_DIR / "catalog.csv"), "--recording-start", _iso(0),
         "--model", str(model), "--max", "1", "--min-len", "15", "--max-len", "20",
         "--out", str(folder / "clips")],
        env, timeout=300,
    )  # fmt: skip
    mib = 2**20
    section = Section(
        "Memory",
        [
            Figure(
                f"Peak RSS, chotdon transcribe ({minutes:g} min)", transcribe.tree_rss / mib, "MiB"
            ),
            Figure(
                f"Peak RSS, chotdon clips --max 1 ({minutes:g} min)", clips.tree_rss / mib, "MiB"
            ),
        ],
        [
            f"Memory: {minutes:g}-minute recording, 640x360 15 fps at low bitrate with "
            f"espeak-ng speech (made in {made:.0f} s); tiny random-weight model, so a real "
            "Whisper model adds its own size (about 500 MB for `small` int8).",
            f"Memory: transcribe (cold cache) took {transcribe.seconds:.0f} s; clips (transcript "
            f"from the cache, planning, one 15-20 s clip, x264 veryfast) took "
            f"{clips.seconds:.0f} s. "
            "Figures are the peak of the sampled sum over the process tree (ffmpeg included); "
            f"largest single process: {transcribe.max_rss / mib:.0f} MiB (transcribe), "
            f"{clips.max_rss / mib:.0f} MiB (clips).",
        ],
    )
    section.seconds = time.monotonic() - started
    return section
