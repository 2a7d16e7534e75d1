"""Timed Vietnamese text from live recordings: faster-whisper, carefully wrapped.

    from transcribe import Transcriber, captions
    transcript = Transcriber("small").transcribe("live.mp4")
    captions.write_captions(transcript.segments, "live.srt", "srt")

``Transcriber.stream`` yields segments as they are decoded, for long files;
``Transcriber.transcribe`` returns the whole transcript and caches it.
"""

from __future__ import annotations

from transcribe import captions
from transcribe.errors import AudioError, ModelNotFoundError, TranscribeError
from transcribe.guard import GuardOptions
from transcribe.transcriber import (
    TranscribeOptions,
    Transcriber,
    Transcript,
    TranscriptionInfo,
    default_cache_dir,
)
from transcribe.types import Segment, Word

__all__ = [
    "AudioError",
    "GuardOptions",
    "ModelNotFoundError",
    "Segment",
    "TranscribeError",
    "TranscribeOptions",
    "Transcriber",
    "Transcript",
    "TranscriptionInfo",
    "Word",
    "captions",
    "default_cache_dir",
]
