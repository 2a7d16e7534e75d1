from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from assets import DEMO_DIR
from server.cli import main
from transcribe.types import segments_from_json

from .conftest import ffmpeg

SRT_BLOCK = re.compile(
    r"(\d+)\n(\d\d:\d\d:\d\d,\d\d\d) --> (\d\d:\d\d:\d\d,\d\d\d)\n(.+(?:\n.+)?)\n"
)
VTT_TIME = re.compile(r"^\d\d:\d\d:\d\d\.\d\d\d --> \d\d:\d\d:\d\d\.\d\d\d$", re.M)


def seconds(clock: str) -> float:
    h, m, s = clock.replace(",", ".").split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


@pytest.fixture(scope="module")
def two_minutes(speech_wav: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-minute 'live': the Vietnamese speech on a loop over pink background noise, in AAC."""
    out = tmp_path_factory.mktemp("live") / "live.m4a"
    noise = "anoisesrc=color=pink:amplitude=0.02:sample_rate=22050:duration=120"
    ffmpeg(
        "-stream_loop", "-1", "-i", str(speech_wav), "-f", "lavfi", "-i", noise,
        "-filter_complex", "[0:a][1:a]amix=inputs=2:duration=shortest",
        "-t", "120", "-c:a", "aac", str(out),
    )  # fmt: skip
    return out


def run(*args: str) -> tuple[str, str]:
    result = CliRunner().invoke(main, ["transcribe", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout, result.stderr


def test_two_minute_recording_all_formats_then_cache(
    two_minutes: Path, tiny_model: Path, tmp_path: Path
) -> None:
    common = ["--model", str(tiny_model), "--cache-dir", str(tmp_path / "cache"), "--no-guard"]
    common += ["--device", "cpu", "--catalog", str(DEMO_DIR / "catalog.csv")]
    started = time.perf_counter()
    _, err = run(str(two_minutes), *common, "-o", str(tmp_path / "live.json"))
    first = time.perf_counter() - started
    assert "of audio in" in err and "real time" in err

    data = json.loads((tmp_path / "live.json").read_text(encoding="utf-8"))
    segments = segments_from_json(data["segments"])
    assert len(segments) >= 3
    assert all(0 <= s.start <= s.end <= 120.1 for s in segments)
    assert [s.start for s in segments] == sorted(s.start for s in segments)
    assert segments[-1].end > 60, "speech runs to the end; so must the transcript"

    started = time.perf_counter()
    for fmt in ("srt", "vtt", "ass"):
        _, err = run(str(two_minutes), *common, "--format", fmt, "-o", str(tmp_path / f"l.{fmt}"))
        assert "Cache hit" in err
    cached = (time.perf_counter() - started) / 3
    assert cached < first / 3, (cached, first)

    srt = (tmp_path / "l.srt").read_text(encoding="utf-8")
    blocks = SRT_BLOCK.findall(srt)
    assert blocks and [int(b[0]) for b in blocks] == list(range(1, len(blocks) + 1))
    assert srt.count("\n\n") == len(blocks) - 1
    for _, start, end, text in blocks:
        assert seconds(start) <= seconds(end) <= 120.1 + 7
        assert all(len(line) <= 24 or " " not in line for line in text.split("\n"))

    vtt = (tmp_path / "l.vtt").read_text(encoding="utf-8")
    assert vtt.startswith("WEBVTT\n\n") and len(VTT_TIME.findall(vtt)) == len(blocks)

    ass = (tmp_path / "l.ass").read_text(encoding="utf-8")
    assert "[Script Info]" in ass and "Style: Default,Noto Sans," in ass
    assert ass.count("\nDialogue: ") == len(blocks) and r"{\k" in ass


def test_output_to_stdout_and_default_path(
    speech_wav: Path, tiny_model: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "short.wav"
    copy.write_bytes(speech_wav.read_bytes())
    args = [str(copy), "--model", str(tiny_model), "--cache-dir", str(tmp_path / "c")]
    out, _ = run(*args, "--no-guard", "--format", "vtt", "-o", "-")
    assert out.startswith("WEBVTT")
    _, err = run(*args, "--no-guard", "--format", "srt")
    assert (tmp_path / "short.srt").is_file() and "Wrote" in err


def test_missing_model_is_a_clear_error(speech_wav: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["transcribe", str(speech_wav), "--model", str(tmp_path / "nope"), "--no-cache"],
    )
    assert result.exit_code == 1
    assert "Error: No Whisper model folder at" in result.stderr
    assert "--model /path/to/folder" in result.stderr
    assert not list(tmp_path.iterdir())
