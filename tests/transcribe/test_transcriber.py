from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from transcribe import (
    GuardOptions,
    Segment,
    TranscribeError,
    TranscribeOptions,
    Transcriber,
    Transcript,
)
from transcribe.audio import probe_duration

from .conftest import ffmpeg

# The tiny model speaks gibberish: keep whatever it says so there is structure to check.
LOOSE = TranscribeOptions(guard=GuardOptions(enabled=False))


def assert_well_formed(segments: tuple[Segment, ...] | list[Segment], duration: float) -> None:
    assert segments, "the tiny model is built to produce some segments on speech"
    assert [s.id for s in segments] == list(range(len(segments)))
    for prev, seg in itertools.pairwise(segments):
        assert prev.start <= seg.start
    for seg in segments:
        assert 0.0 <= seg.start <= seg.end <= duration + 0.05
        assert seg.words, "word timestamps are always on"
        for word in seg.words:
            assert seg.start <= word.start <= word.end <= seg.end


@pytest.fixture
def transcriber(tiny_model: Path, tmp_path: Path) -> Transcriber:
    return Transcriber(str(tiny_model), device="cpu", cache_dir=tmp_path / "cache", options=LOOSE)


@pytest.fixture(scope="module")
def first_run(tiny_model: Path, speech_wav: Path, tmp_path_factory: pytest.TempPathFactory):
    cache = tmp_path_factory.mktemp("cache")
    seen: list[tuple[float, float]] = []
    t = Transcriber(str(tiny_model), device="cpu", cache_dir=cache, options=LOOSE)
    result = t.transcribe(speech_wav, progress=lambda done, total: seen.append((done, total)))
    return t, result, seen, cache


def test_transcript_structure(first_run: tuple, speech_wav: Path) -> None:
    t, result, _, _ = first_run
    assert isinstance(result, Transcript) and not result.cache_hit and t.loaded
    assert result.info.language == "vi"
    assert result.info.duration == pytest.approx(probe_duration(speech_wav), abs=0.05)
    assert_well_formed(result.segments, result.info.duration)


def test_progress_reaches_the_end(first_run: tuple) -> None:
    _, result, seen, _ = first_run
    assert seen and seen[-1][0] == pytest.approx(seen[-1][1], abs=0.05)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert seen[-1][1] == pytest.approx(result.info.duration, abs=0.05)


def test_second_run_is_a_cache_hit_without_loading_the_model(
    first_run: tuple, tiny_model: Path, speech_wav: Path
) -> None:
    _, result, _, cache = first_run
    again = Transcriber(str(tiny_model), device="cpu", cache_dir=cache, options=LOOSE)
    hit = again.transcribe(speech_wav)
    assert hit.cache_hit and not again.loaded
    assert hit.segments == result.segments
    assert hit.info == result.info
    data = json.loads(hit.cache_path.read_text(encoding="utf-8"))
    assert data["segments"][0]["words"][0].keys() == {"start", "end", "word", "probability"}


def test_a_copy_of_the_file_hits_the_same_cache(
    first_run: tuple, tiny_model: Path, speech_wav: Path, tmp_path: Path
) -> None:
    _, _, _, cache = first_run
    copy = tmp_path / "renamed.wav"
    copy.write_bytes(speech_wav.read_bytes())
    t = Transcriber(str(tiny_model), device="cpu", cache_dir=cache, options=LOOSE)
    assert t.transcribe(copy).cache_hit


def test_options_and_content_are_part_of_the_key(
    first_run: tuple, tiny_model: Path, speech_wav: Path, tmp_path: Path
) -> None:
    t, _, _, _ = first_run
    base = t.cache_key(speech_wav, LOOSE)
    assert t.cache_key(speech_wav, TranscribeOptions(language="en")) != base
    assert t.cache_key(speech_wav, TranscribeOptions(hotwords=("A1",))) != base
    changed = tmp_path / "changed.wav"
    changed.write_bytes(speech_wav.read_bytes() + b"\0\0")
    assert t.cache_key(changed, LOOSE) != base


def test_corrupt_cache_is_ignored_and_rewritten(
    transcriber: Transcriber, speech_wav: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key = transcriber.cache_key(speech_wav, LOOSE)
    entry = transcriber.cache_dir / f"{key}.json"
    entry.parent.mkdir(parents=True)
    entry.write_text('{"version": 1, "segments": [', encoding="utf-8")
    result = transcriber.transcribe(speech_wav)
    assert not result.cache_hit and "ignoring unreadable transcript cache" in caplog.text
    assert json.loads(entry.read_text(encoding="utf-8"))["segments"]


def test_interrupt_leaves_no_cache_entry(transcriber: Transcriber, speech_wav: Path) -> None:
    def stop(done: float, total: float) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        transcriber.transcribe(speech_wav, progress=stop)
    assert not transcriber.cache_dir.exists() or not list(transcriber.cache_dir.iterdir())


def test_long_file_is_decoded_in_chunks_with_offsets(
    tiny_model: Path, speech_wav: Path, tmp_path: Path
) -> None:
    """Three copies of the speech (about 45 s) in 30 s chunks: times keep going past the edge."""
    triple = tmp_path / "triple.m4a"
    ffmpeg("-stream_loop", "2", "-i", str(speech_wav), "-c:a", "aac", str(triple))
    duration = probe_duration(triple) or 0.0
    options = TranscribeOptions(chunk_seconds=30.0, guard=GuardOptions(enabled=False))
    t = Transcriber(str(tiny_model), device="cpu", use_cache=False, options=options)
    segments = list(t.stream(triple))
    assert_well_formed(segments, duration)
    assert segments[-1].end > 30.0


def test_guard_on_keeps_the_structure(transcriber: Transcriber, speech_wav: Path) -> None:
    # With the guard on the tiny model's gibberish may be dropped; what is left is well formed.
    result = transcriber.transcribe(speech_wav, TranscribeOptions())
    for seg in result.segments:
        assert seg.words and seg.start <= seg.words[0].start


def test_bad_inputs(transcriber: Transcriber, tmp_path: Path) -> None:
    with pytest.raises(TranscribeError, match="no such file"):
        transcriber.transcribe(tmp_path / "missing.mp4")
    with pytest.raises(TranscribeError, match="unknown language 'xx'"):
        TranscribeOptions(language="xx")


def test_regions_only_are_transcribed_with_recording_times(
    tiny_model: Path, speech_wav: Path, tmp_path: Path
) -> None:
    """Three copies of the speech; only the third is asked for: no segment before it."""
    triple = tmp_path / "triple.m4a"
    ffmpeg("-stream_loop", "2", "-i", str(speech_wav), "-c:a", "aac", str(triple))
    duration = probe_duration(triple) or 0.0
    third = (2 * duration / 3, duration)
    options = TranscribeOptions(guard=GuardOptions(enabled=False))
    t = Transcriber(str(tiny_model), device="cpu", cache_dir=tmp_path / "cache", options=options)
    seen: list[tuple[float, float]] = []
    result = t.transcribe(triple, progress=lambda d, n: seen.append((d, n)), regions=[third])
    assert result.segments, "the region holds speech"
    assert all(third[0] - 0.05 <= s.start and s.end <= third[1] + 0.05 for s in result.segments)
    assert seen[-1][0] == pytest.approx(third[1] - third[0], abs=0.1)  # region seconds
    whole_key = t.cache_key(triple, options)
    assert t.cache_key(triple, options, [third]) != whole_key
    assert t.cache_key(triple, options, [third, third]) == t.cache_key(triple, options, [third])
    again = t.transcribe(triple, regions=[third])
    assert again.cache_hit and again.segments == result.segments
    assert not t.transcribe(triple, regions=[(third[0], third[1] - 1)]).cache_hit
