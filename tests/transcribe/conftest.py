"""Fixtures for the transcription tests: a tiny Whisper model and real Vietnamese speech."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import imageio_ffmpeg
import pytest

from transcribe.tiny import build_tiny_model

SENTENCES = (
    "Chào cả nhà, hôm nay em bán hạt dẻ Ngân Sơn, một trăm hai mươi nghìn một cân.",
    "Miến dong Na Rì năm mươi nghìn một gói, ai lấy thì bình luận mã A hai nhé.",
    "Mật ong bạc hà, chai to, hai trăm năm mươi nghìn.",
)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seeded tiny random-weight multilingual Whisper model, built once per session."""
    return build_tiny_model(tmp_path_factory.mktemp("models") / "tiny-whisper")


def espeak(text: str, path: Path) -> Path:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    subprocess.run(["espeak-ng", "-v", "vi", "-w", str(path), text], check=True)
    return path


def ffmpeg(*args: str) -> None:
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *args]
    subprocess.run(cmd, check=True)


@pytest.fixture(scope="session")
def speech_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 15 s of Vietnamese speech (espeak-ng) with a second of silence between lines."""
    folder = tmp_path_factory.mktemp("speech")
    parts = [espeak(text, folder / f"line{i}.wav") for i, text in enumerate(SENTENCES)]
    inputs: list[str] = []
    for part in parts:
        inputs += ["-i", str(part)]
    pads = "".join(f"[{i}:a]apad=pad_dur=1[a{i}];" for i in range(len(parts)))
    joined = "".join(f"[a{i}]" for i in range(len(parts)))
    out = folder / "speech.wav"
    ffmpeg(*inputs, "-filter_complex", f"{pads}{joined}concat=n={len(parts)}:v=0:a=1", str(out))
    return out
