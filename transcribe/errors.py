"""The transcriber's errors; the CLI turns them into one-line messages."""

from __future__ import annotations

__all__ = ["AudioError", "ModelNotFoundError", "TranscribeError"]


class TranscribeError(Exception):
    """Transcription cannot go on; the message says what to fix."""


class ModelNotFoundError(TranscribeError):
    """No usable Whisper model at the given name or folder."""


class AudioError(TranscribeError):
    """The recording cannot be read as audio."""
