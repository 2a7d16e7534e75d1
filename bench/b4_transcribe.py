"""B4: the transcription pipeline against a bare faster-whisper call, and the cache hit.

Both sides load the same model folder and decode the same 2 minutes of
espeak-ng Vietnamese speech with the same decoding options (language forced,
word timestamps, VAD, beam 5, no conditioning on previous text, int8, the
same thread count), and both drain every segment with its words; the
pipeline's cache is off. The difference is what chotdon adds: PyAV decoding
in chunks, the guard, word-time repair and the typed results.

The model is the tiny random-weight one from :mod:`transcribe.tiny`: it
measures our overhead around faster-whisper, not Whisper's speed or accuracy.
Runs alternate (bare, ours, bare, ours...) and the fastest of each is kept:
on a shared machine noise only ever adds time, and identical bare runs were
seen to vary by 30 %, far more than the overhead being measured.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from bench.common import Figure, Section
from bench.media import make_speech

__all__ = ["bare", "cache_hit", "pipeline", "run"]

SECONDS = 120.0
ROUNDS = 3
THREADS = 2
TARGET = 1.05


def bare(model_dir: Path, audio: Path) -> float:
    from faster_whisper import WhisperModel

    started = time.perf_counter()
    model = WhisperModel(str(model_dir), device="cpu", compute_type="int8", cpu_threads=THREADS)
    segments, _ = model.transcribe(
        str(audio),
        language="vi",
        task="transcribe",
        beam_size=5,
        vad_filter=True,
        word_timestamps=True,
        condition_on_previous_text=False,
    )
    for segment in segments:
        list(segment.words or ())
    return time.perf_counter() - started


def pipeline(model_dir: Path, audio: Path, cache_dir: Path, use_cache: bool = False) -> float:
    from transcribe import Transcriber

    started = time.perf_counter()
    transcriber = Transcriber(
        str(model_dir), device="cpu", cpu_threads=THREADS, cache_dir=cache_dir, use_cache=use_cache
    )
    transcriber.transcribe(audio)
    return time.perf_counter() - started


def decoding(audio: Path) -> tuple[float, float]:
    """(our chunked PyAV decoding s, faster-whisper's ``decode_audio`` s): the one step
    the pipeline does differently, timed alone."""
    from faster_whisper.audio import decode_audio

    from transcribe.audio import iter_chunks

    started = time.perf_counter()
    for _ in iter_chunks(audio, 600.0):
        pass
    ours = time.perf_counter() - started
    decode_audio(str(audio))
    return ours, time.perf_counter() - started - ours


def cache_hit(model_dir: Path, audio: Path, cache_dir: Path) -> float:
    pipeline(model_dir, audio, cache_dir, use_cache=True)  # fills the cache
    return pipeline(model_dir, audio, cache_dir, use_cache=True)


def run(workdir: Path) -> Section:
    from transcribe.tiny import build_tiny_model

    started = time.monotonic()
    folder = workdir / "b4"
    folder.mkdir(parents=True, exist_ok=True)
    model_dir = build_tiny_model(folder / "tiny-model")
    audio = make_speech(folder / "speech.wav", SECONDS)
    bare(model_dir, audio)  # warm the page cache and the libraries' lazy imports
    bares, ours = [], []
    for _ in range(ROUNDS):
        bares.append(bare(model_dir, audio))
        ours.append(pipeline(model_dir, audio, folder / "no-cache"))
    bare_s, ours_s = min(bares), min(ours)
    hit_s = cache_hit(model_dir, audio, folder / "cache")
    ours_decode, bare_decode = decoding(audio)
    section = Section(
        "B4 transcription",
        [
            Figure(
                "B4 2 min of speech, pipeline vs bare faster-whisper",
                ours_s,
                "s",
                bare_s,
                "bare faster-whisper",
                f"< {TARGET:.2f}x (overhead < 5%)",
                ours_s / bare_s < TARGET,
            ),
            Figure("B4 cache hit (same file again)", hit_s, "s", ours_s, "pipeline, cold"),
        ],
        [
            "B4: tiny random-weight Whisper model built offline (transcribe.tiny): this "
            "measures chotdon's overhead around faster-whisper, not Whisper's speed or accuracy.",
            f"B4: {SECONDS:g} s of espeak-ng Vietnamese, int8, {THREADS} threads, model load "
            f"included on both sides; fastest of {ROUNDS} alternating rounds (medians "
            f"{statistics.median(bares):.2f} s bare, {statistics.median(ours):.2f} s pipeline). "
            "Runs: "
            f"bare {', '.join(f'{t:.2f}' for t in bares)} s; "
            f"pipeline {', '.join(f'{t:.2f}' for t in ours)} s. Decoding alone: "
            f"{ours_decode:.2f} s in chunks (transcribe.audio) against {bare_decode:.2f} s for "
            "faster-whisper's decode_audio; the rest of both runs is faster-whisper itself.",
        ],
    )
    section.seconds = time.monotonic() - started
    return section
