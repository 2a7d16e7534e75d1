"""The transcriber: faster-whisper with the decoding choices that suit selling lives.

* The language is forced (``vi`` unless told otherwise): detection on a noisy
  first 30 seconds of a live picks the wrong language often enough to matter.
* VAD is on, so music and silence between pitches are never decoded at all.
* Word timestamps are on; captions and clip cuts are built from them.
* ``condition_on_previous_text`` is off: with it, one repetition loop or
  hallucination primes the next window to repeat it, for minutes.
* Catalog names go in as hotwords, and :mod:`transcribe.guard` drops loops and
  text invented over silence, and repairs missing word times.

Long recordings stream: :func:`Transcriber.stream` yields segments chunk by
chunk (see :mod:`transcribe.audio`). :func:`Transcriber.transcribe` wraps it
with a JSON cache keyed by the file's content hash, the model and the options,
written atomically, so a second run is instant and an interrupted run leaves
nothing behind.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from transcribe.audio import (
    SAMPLE_RATE,
    Region,
    iter_chunks,
    iter_region_chunks,
    merge_regions,
    probe_duration,
)
from transcribe.captions import atomic_write_text
from transcribe.errors import TranscribeError
from transcribe.guard import GuardOptions, Scored, filter_segments
from transcribe.hotwords import hotword_prompt
from transcribe.model import load_model, model_identity, pick_device, resolve_model
from transcribe.tiny import LANGUAGES
from transcribe.types import Segment, Word, segments_from_json, segments_to_json

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

__all__ = [
    "Progress",
    "TranscribeOptions",
    "Transcriber",
    "Transcript",
    "TranscriptionInfo",
    "default_cache_dir",
]

logger = logging.getLogger(__name__)

CACHE_VERSION = 1
Progress = Callable[[float, float], None]  # (seconds done, total seconds)


@dataclass(frozen=True)
class TranscribeOptions:
    """Decoding options; all of them are part of the cache key."""

    language: str = "vi"
    hotwords: tuple[str, ...] = ()
    beam_size: int = 5
    vad_filter: bool = True
    chunk_seconds: float = 300.0
    guard: GuardOptions = field(default_factory=GuardOptions)

    def __post_init__(self) -> None:
        if self.language not in LANGUAGES:
            raise TranscribeError(f"unknown language {self.language!r}; use e.g. vi, id or en")
        if self.beam_size < 1:
            raise TranscribeError("beam size must be at least 1")
        if self.chunk_seconds < 30:
            raise TranscribeError("chunks must be at least 30 seconds long")


class TranscriptionInfo(NamedTuple):
    language: str
    duration: float  # seconds of audio
    model: str  # what was asked for: a name or a folder
    compute_type: str
    elapsed: float  # seconds the transcription took (the original run, for a cached one)


class Transcript(NamedTuple):
    segments: tuple[Segment, ...]
    info: TranscriptionInfo
    cache_hit: bool = False
    cache_path: Path | None = None


def default_cache_dir() -> Path:
    """``$CHOTDON_CACHE_DIR/transcripts``, else the user cache folder's ``transcripts``."""
    base = os.environ.get("CHOTDON_CACHE_DIR")
    if base:
        return Path(base).expanduser() / "transcripts"
    import platformdirs

    return Path(platformdirs.user_cache_dir("chotdon")) / "transcripts"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _word(w: Any, offset: float, limit: float) -> Word:
    def clamp(t: float) -> float:
        return round(min(max(float(t) + offset, offset), limit), 3)

    return Word(clamp(w.start), clamp(w.end), str(w.word), round(float(w.probability), 4))


def _scored(raw: Any, offset: float, limit: float) -> Scored:
    """Our typed segment from faster-whisper's, shifted by the chunk offset."""
    words = tuple(_word(w, offset, limit) for w in raw.words or ())
    start = round(min(float(raw.start) + offset, limit), 3)
    end = round(min(max(float(raw.end) + offset, start), limit), 3)
    segment = Segment(0, start, end, str(raw.text).strip(), words)
    return Scored(segment, float(raw.avg_logprob), float(raw.no_speech_prob))


class Transcriber:
    """Turns recordings into timed segments with one Whisper model.

    ``model`` is a name (``small``, ``large-v3``, ``owner/repo`` on the Hub) or
    a CTranslate2 model folder. Nothing is loaded until audio actually needs
    decoding, so a cache hit works even when the model is not on this machine.
    """

    def __init__(
        self,
        model: str = "small",
        *,
        device: str = "auto",
        compute_type: str | None = None,
        cpu_threads: int = 0,
        cache_dir: Path | None = None,
        use_cache: bool = True,
        options: TranscribeOptions | None = None,
    ) -> None:
        self.model_name = str(model)
        self.device, self.compute_type = pick_device(device, compute_type)
        self.cpu_threads = cpu_threads or min(os.cpu_count() or 1, 8)
        self.cache_dir = cache_dir or default_cache_dir()
        self.use_cache = use_cache
        self.options = options or TranscribeOptions()
        self._model: WhisperModel | None = None

    @property
    def loaded(self) -> bool:
        """Whether the Whisper model has been loaded (it is not on a cache hit)."""
        return self._model is not None

    def _whisper(self) -> WhisperModel:
        if self._model is None:
            folder = resolve_model(self.model_name)
            self._model = load_model(folder, self.device, self.compute_type, self.cpu_threads)
        return self._model

    def _model_key(self) -> str:
        folder = Path(self.model_name).expanduser()
        ident = model_identity(folder.resolve()) if folder.is_dir() else f"name:{self.model_name}"
        return f"{ident}:{self.compute_type}"

    # -- streaming ----------------------------------------------------------

    def stream(
        self,
        path: Path | str,
        options: TranscribeOptions | None = None,
        progress: Progress | None = None,
        regions: Sequence[Region] | None = None,
    ) -> Iterator[Segment]:
        """Yield segments in time order as they are decoded; no cache involved.

        With ``regions``, only the audio inside them is transcribed (timestamps stay
        those of the whole recording) and progress counts region seconds."""
        path = Path(path)
        options = options or self.options
        model = self._whisper()
        prompt = hotword_prompt(options.hotwords)
        next_id, last_start = 0, 0.0
        if regions is None:
            total = probe_duration(path) or 0.0
            chunks = iter_chunks(path, options.chunk_seconds)
        else:
            wanted = merge_regions(regions)
            total = sum(b - a for a, b in wanted)
            chunks = iter_region_chunks(path, wanted, options.chunk_seconds)
        done = 0.0
        for chunk in chunks:
            limit = chunk.offset + len(chunk.samples) / SAMPLE_RATE
            raw_segments, _ = model.transcribe(
                chunk.samples,
                language=options.language,
                task="transcribe",
                beam_size=options.beam_size,
                vad_filter=options.vad_filter,
                word_timestamps=True,
                condition_on_previous_text=False,
                hotwords=prompt,
            )
            scored = (_scored(raw, chunk.offset, limit) for raw in raw_segments)
            for segment in filter_segments(scored, options.guard):
                if segment.start < last_start:  # never step back in time
                    continue
                last_start = segment.start
                yield segment._replace(id=next_id)
                next_id += 1
                if progress and regions is None:
                    progress(segment.end, max(total, limit))
            done = limit if regions is None else done + len(chunk.samples) / SAMPLE_RATE
            if progress:
                progress(done, max(total, done))

    # -- cached, whole-file --------------------------------------------------

    def cache_key(
        self, path: Path, options: TranscribeOptions, regions: Sequence[Region] | None = None
    ) -> str:
        material: dict[str, Any] = {
            "version": CACHE_VERSION,
            "file": file_sha256(path),
            "model": self._model_key(),
            "options": dataclasses.asdict(options),
        }
        if regions is not None:  # whole-file keys stay as they were
            material["regions"] = merge_regions(regions)
        return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()

    def transcribe(
        self,
        path: Path | str,
        options: TranscribeOptions | None = None,
        progress: Progress | None = None,
        regions: Sequence[Region] | None = None,
    ) -> Transcript:
        """The transcript (of ``regions`` only, when given), from the cache when this
        file was done before with the same model, options and regions."""
        path = Path(path)
        if not path.is_file():
            raise TranscribeError(f"{path}: no such file")
        options = options or self.options
        cache_path = None
        if self.use_cache:
            cache_path = self.cache_dir / f"{self.cache_key(path, options, regions)}.json"
            hit = _read_cache(cache_path)
            if hit is not None:
                logger.info("cache hit for %s: %s", path, cache_path)
                if progress:
                    progress(hit.info.duration, hit.info.duration)
                return hit
        started = time.perf_counter()
        decoded = [0.0]

        def track(done: float, total: float) -> None:
            decoded[0] = total  # what was actually decoded, not the container's estimate
            if progress:
                progress(done, total)

        segments = tuple(self.stream(path, options, track, regions))
        duration = decoded[0] or probe_duration(path) or 0.0
        info = TranscriptionInfo(
            options.language,
            round(duration, 3),
            self.model_name,
            self.compute_type,
            round(time.perf_counter() - started, 3),
        )
        transcript = Transcript(segments, info, False, cache_path)
        if cache_path is not None:
            _write_cache(cache_path, path, transcript)
        return transcript


def _write_cache(cache_path: Path, source: Path, transcript: Transcript) -> None:
    data = {
        "version": CACHE_VERSION,
        "source": str(source),
        "info": transcript.info._asdict(),
        "segments": segments_to_json(transcript.segments),
    }
    try:
        atomic_write_text(cache_path, json.dumps(data, ensure_ascii=False))
    except OSError as exc:  # a full or read-only disk must not lose the transcript
        logger.warning("could not write transcript cache %s: %s", cache_path, exc)


def _read_cache(cache_path: Path) -> Transcript | None:
    try:
        data = json.loads(cache_path.read_text(encoding="utf-8"))
        if data.get("version") != CACHE_VERSION:
            return None
        info = TranscriptionInfo(**data["info"])
        segments = tuple(segments_from_json(data["segments"]))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        logger.warning("ignoring unreadable transcript cache %s: %s", cache_path, exc)
        return None
    return Transcript(segments, info, True, cache_path)
