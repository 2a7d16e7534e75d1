"""Decoding recordings in bounded memory.

``faster_whisper.decode_audio`` returns the whole file as one array: 16 kHz
float32 is 230 MB an hour, too much for a 3-hour live on a cheap laptop that
is also running the model. Here PyAV decodes and resamples frame by frame and
we hand out chunks of about five minutes (19 MB) that are transcribed one after
another, with their timestamps offset.

Five minutes is long enough that chunk edges are rare (36 in three hours) and
VAD has context. The size is set by faster-whisper's working memory, not ours:
it computes the spectrogram of a whole chunk at once, several hundred MB for
ten minutes. Measured with the tiny test model, 10-minute chunks peaked at
about 990 MB resident on a 20-minute file and 950 MB on a 60-minute one (so
memory does not grow with length); 5-minute chunks peaked at about 580 MB.
Decoding that hour in one piece with ``decode_audio`` alone peaked at 625 MB.
An edge that falls inside a word
would split it, so each chunk ends at the quietest half second of its last
fifteen seconds; the rest is carried into the next chunk.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from transcribe.errors import AudioError

__all__ = [
    "SAMPLE_RATE",
    "AudioChunk",
    "cut_short_message",
    "ends_early",
    "iter_chunks",
    "iter_region_chunks",
    "merge_regions",
    "probe_duration",
]

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16000


class AudioChunk(NamedTuple):
    offset: float  # seconds from the start of the recording
    samples: np.ndarray  # float32 mono at SAMPLE_RATE


Region = tuple[float, float]  # (start, end) seconds of the recording


def probe_duration(path: Path) -> float | None:
    """Duration in seconds from the container, or None when it does not say."""
    import av

    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise AudioError(f"{path}: no audio stream")
            stream = container.streams.audio[0]
            duration: float | None = None
            if stream.duration is not None and stream.time_base is not None:
                duration = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                duration = container.duration / 1_000_000
            if duration is not None and ends_early(container, duration):
                raise AudioError(cut_short_message(path, duration))
            return duration
    except av.FFmpegError as exc:
        raise AudioError(f"{path}: cannot read audio ({exc})") from None


def ends_early(container: Any, duration: float, slack: float = 3.0) -> bool:
    """True when the file's last seconds are missing although the header lists them.

    A recording copied or uploaded only partly keeps a full-length index when it was
    written "faststart" (index first), so its header alone lies about its length.
    Seeking near the end and demuxing what is there costs a few milliseconds. All
    streams count, since one may end a little before another in a whole file.
    """
    if duration <= slack:
        return False
    container.seek(int((duration - slack) * 1_000_000), backward=True)
    last = None
    for packet in container.demux():
        if packet.size and packet.pts is not None and packet.time_base is not None:
            last = max(last or 0.0, float(packet.pts * packet.time_base))
    return last is None or last < duration - slack


def cut_short_message(path: Path, duration: float) -> str:
    return (
        f"{path}: the recording is cut short (its header says {duration:.0f} s, "
        "but the data ends before that); copy the whole file again"
    )


def _frames(path: Path) -> Iterator[np.ndarray]:
    import av

    resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise AudioError(f"{path}: no audio stream")
            stream = container.streams.audio[0]
            for packet in container.demux(stream):
                try:
                    frames = packet.decode()
                except av.InvalidDataError:
                    continue  # a damaged packet in a long recording: skip, keep going
                for frame in frames:
                    for out in resampler.resample(frame):
                        yield out.to_ndarray().reshape(-1)
            for out in resampler.resample(None):
                yield out.to_ndarray().reshape(-1)
    except av.FFmpegError as exc:
        raise AudioError(f"{path}: cannot read audio ({exc})") from None


def _quiet_cut(samples: np.ndarray, search: int, window: int) -> int:
    """Index of the middle of the quietest ``window`` within the last ``search`` samples."""
    tail = samples[-search:]
    n = len(tail) // window
    if n < 2:
        return len(samples)
    energy = (tail[: n * window].reshape(n, window) ** 2).mean(axis=1)
    best = int(np.argmin(energy))
    return len(samples) - len(tail) + best * window + window // 2


def iter_chunks(
    path: Path, chunk_seconds: float = 300.0, search_seconds: float = 15.0
) -> Iterator[AudioChunk]:
    """Yield the recording as consecutive mono 16 kHz chunks of about ``chunk_seconds``."""
    target = int(chunk_seconds * SAMPLE_RATE)
    search = min(int(search_seconds * SAMPLE_RATE), target // 2)
    pending: list[np.ndarray] = []
    size = 0
    offset = 0
    for frame in _frames(path):
        pending.append(frame)
        size += len(frame)
        if size < target + search:
            continue
        buffer = np.concatenate(pending)
        cut = _quiet_cut(buffer[:target], search, SAMPLE_RATE // 2)
        yield AudioChunk(offset / SAMPLE_RATE, buffer[:cut].astype(np.float32, copy=False))
        offset += cut
        pending, size = [buffer[cut:].copy()], len(buffer) - cut
    if size:
        yield AudioChunk(offset / SAMPLE_RATE, np.concatenate(pending).astype(np.float32))


def merge_regions(regions: Iterable[Region]) -> list[Region]:
    """Sorted, non-overlapping regions (touching ones joined), rounded to milliseconds."""
    merged: list[list[float]] = []
    for start, end in sorted((max(0.0, float(a)), float(b)) for a, b in regions):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(round(a, 3), round(b, 3)) for a, b in merged]


def iter_region_chunks(
    path: Path, regions: Iterable[Region], chunk_seconds: float = 300.0
) -> Iterator[AudioChunk]:
    """Yield only the audio inside ``regions``, one chunk per region (a region longer
    than ``chunk_seconds`` is split at its quietest half seconds, as in
    :func:`iter_chunks`). The file is still decoded from the start, which costs a
    small fraction of running the model over the parts outside the regions."""
    wanted = merge_regions(regions)
    if not wanted:
        return
    bounds = [(int(a * SAMPLE_RATE), int(b * SAMPLE_RATE)) for a, b in wanted]
    index, position = 0, 0
    pending: list[np.ndarray] = []
    for frame in _frames(path):
        start, end = position, position + len(frame)
        position = end
        while index < len(bounds) and start < end:
            lo, hi = bounds[index]
            if lo < end and hi > start:
                pending.append(frame[max(lo, start) - start : min(hi, end) - start])
            if hi > end:
                break
            yield from _split_region(lo, pending, chunk_seconds)
            pending, index = [], index + 1
        if index == len(bounds):
            return
    if pending:  # the file ended inside a region
        yield from _split_region(bounds[index][0], pending, chunk_seconds)


def _split_region(
    first: int, pieces: list[np.ndarray], chunk_seconds: float
) -> Iterator[AudioChunk]:
    samples = np.concatenate(pieces).astype(np.float32, copy=False) if pieces else None
    if samples is None or not len(samples):
        return
    target = int(chunk_seconds * SAMPLE_RATE)
    search = min(15 * SAMPLE_RATE, target // 2)
    offset = 0
    while len(samples) - offset > target + search:
        cut = offset + _quiet_cut(samples[offset : offset + target], search, SAMPLE_RATE // 2)
        yield AudioChunk((first + offset) / SAMPLE_RATE, samples[offset:cut])
        offset = cut
    yield AudioChunk((first + offset) / SAMPLE_RATE, samples[offset:])
