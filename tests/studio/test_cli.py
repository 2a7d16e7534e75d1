"""``chotdon clips`` end to end: a 2.5-minute landscape recording with three
pinned products becomes three vertical clips with captions, card, .srt,
thumbnail and post text. One render is shared by most assertions."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from pathlib import Path

import av
import numpy as np
import pytest
from click.testing import CliRunner, Result

from assets import DEMO_DIR
from overlays.theme import THEME
from server.cli import main

from .conftest import (
    SUBJECT_SIZE,
    MakeRecording,
    iso,
    sentences,
    transcript_json,
    write_events,
)

CATALOG = DEMO_DIR / "catalog.csv"
SAYINGS = [
    "Chào cả nhà, hôm nay có hàng ngon.",
    "Hạt dẻ Ngân Sơn giá chỉ một trăm năm mươi nghìn.",
    "Chốt đơn nhanh tay, tặng kèm freeship nhé.",
]
# Product windows in recording seconds (the recording starts at T0 + 0).
WINDOWS = {"A1": (3.0, 52.0), "A2": (52.0, 102.0), "A3": (102.0, 148.0)}


def clips(*args: str | Path) -> Result:
    result = CliRunner().invoke(main, ["clips", *map(str, args)])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


@dataclass(frozen=True)
class Live:
    recording: Path
    events: Path
    transcript: Path
    out: Path
    result: Result | None = None

    def args(self, *extra: str | Path) -> list[str | Path]:
        return [
            self.recording,
            "--events",
            self.events,
            "--catalog",
            CATALOG,
            "--transcript",
            self.transcript,
            "--max-len",
            "16",  # small renders: 15.5 s clips (sentence ends every 4 s)
            "--preset",
            "ultrafast",
            *extra,
        ]

    def plan(self) -> list[dict]:
        return json.loads((self.out / "clips.json").read_text(encoding="utf-8"))["clips"]


@pytest.fixture(scope="module")
def live(make_recording: MakeRecording, tmp_path_factory: pytest.TempPathFactory) -> Live:
    folder = tmp_path_factory.mktemp("live")
    # The start comes from creation_time here: no --offset, no --recording-start.
    recording = make_recording("live.mp4", 150, creation_time=iso(0))
    events = write_events(
        folder / "events.jsonl",
        [
            {"t": iso(-30), "type": "session_started"},
            {"t": iso(3), "type": "product_pinned", "code": "A1"},
            {"t": iso(12), "type": "comment_received", "intent": "order"},
            {"t": iso(20), "type": "order_created", "code": "A1", "qty": 2},
            {"t": iso(30), "type": "future_event_type", "whatever": 1},
            {"t": iso(52), "type": "product_pinned", "code": "A2"},
            {"t": iso(70), "type": "order_created", "code": "A2", "qty": 1},
            {
                "t": iso(80),
                "type": "price_changed",
                "code": "A3",
                "price": 45000,
                "sale_price": 40000,
            },
            {"t": iso(102), "type": "product_pinned", "code": "A3"},
            {"t": iso(148), "type": "session_stopped"},
        ],
    )
    transcript = folder / "transcript.json"
    transcript.write_text(
        json.dumps(
            transcript_json(sentences(0, 150, SAYINGS, every=4.0, length=3.5)), ensure_ascii=False
        )
    )
    out = folder / "clips"
    live = Live(recording, events, transcript, out)
    result = clips(*live.args("--out", out))
    assert result.exit_code == 0, result.output
    return replace(live, result=result)


def frame_at(path: Path, t: float) -> np.ndarray:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        container.seek(int(max(0.0, t - 1.0) * 1_000_000))
        for frame in container.decode(stream):
            if frame.time is not None and frame.time >= t:
                return frame.to_ndarray(format="rgb24")
    raise AssertionError(f"no frame at {t}s in {path}")


@pytest.mark.slow
def test_three_vertical_clips_inside_their_windows(live: Live) -> None:
    plan = live.plan()
    assert [c["code"] for c in plan] == ["A1", "A2", "A3"]
    for clip in plan:
        assert set(clip) == {"file", "code", "start", "end", "score", "title"}
        window = WINDOWS[clip["code"]]
        assert window[0] <= clip["start"] < clip["end"] <= window[1]
        path = live.out / clip["file"]
        with av.open(str(path)) as container:
            video, audio = container.streams.video[0], container.streams.audio[0]
            assert video.codec_context.name == "h264" and audio.codec_context.name == "aac"
            assert (video.codec_context.width, video.codec_context.height) == (1080, 1920)
            assert float(video.average_rate) == pytest.approx(30)
            duration = container.duration / 1_000_000
        assert 15 <= duration <= 60
        assert duration == pytest.approx(clip["end"] - clip["start"], abs=0.3)
        with path.open("rb") as handle:  # +faststart: the index comes before the media
            head = handle.read(4096)
        assert head.find(b"moov") != -1 and head.find(b"moov") < max(head.find(b"mdat"), 4096)
    assert live.result is not None and live.result.stdout.count(".mp4") == 3
    assert "overall" in live.result.stderr


@pytest.mark.slow
def test_title_and_post_use_the_price_in_effect(live: Live) -> None:
    plan = {c["code"]: c for c in live.plan()}
    assert plan["A1"]["title"] == "Hạt dẻ Ngân Sơn – 150.000 ₫/kg"
    assert plan["A3"]["title"] == "Gạo nếp cái hoa vàng – 40.000 ₫/kg"  # price_changed at 80s
    text = (live.out / plan["A1"]["file"]).with_suffix(".txt").read_text(encoding="utf-8")
    assert "Hạt dẻ Ngân Sơn" in text and "150.000 ₫/kg" in text
    assert "chốt đơn" in text and "#hatdenganson" in text


@pytest.mark.slow
def test_srt_and_thumbnail_for_each_clip(live: Live) -> None:
    for clip in live.plan():
        stem = (live.out / clip["file"]).with_suffix("")
        srt = stem.with_suffix(".srt").read_text(encoding="utf-8")
        assert srt.startswith("1\n00:00:00,000 --> 00:00:03,500\n")  # starts on a sentence
        # 15+ seconds at a sentence every 4 s: all three sayings, wrapped into lines.
        for phrase in ("Chào cả nhà,", "Hạt dẻ Ngân Sơn giá chỉ", "tặng kèm freeship nhé."):
            assert phrase in srt
        with av.open(str(stem.with_suffix(".jpg"))) as image:
            frame = next(image.decode(video=0))
            assert (frame.width, frame.height) == (1080, 1920)


def test_seconds_per_stage_are_written(live: Live) -> None:
    # Runs before the re-run test below, which renders nothing.
    seconds = json.loads((live.out / ".studio" / "timings.json").read_text(encoding="utf-8"))
    assert {"probe", "plan", "track", "captions", "encode", "thumbnail", "render"} <= set(seconds)
    assert all(value >= 0 for value in seconds.values())
    assert seconds["encode"] > 0 and seconds["render"] >= seconds["encode"] / len(live.plan())


@pytest.mark.slow
def test_moving_subject_stays_inside_the_crop(live: Live) -> None:
    first = live.out / live.plan()[0]["file"]
    expected_side = SUBJECT_SIZE * 1920 / 360
    for t in (0.5, 4.0, 8.0, 12.0, 15.0):
        rgb = frame_at(first, t).astype(int)
        red = (rgb[:, :, 0] > 180) & (rgb[:, :, 1] < 80) & (rgb[:, :, 2] < 80)
        columns = np.nonzero(red.any(axis=0))[0]
        assert red.sum() > 0.85 * expected_side**2, f"subject cut at {t}s"
        assert columns.min() > 0 and columns.max() < 1079, f"subject at the edge at {t}s"


@pytest.mark.slow
def test_card_is_burned_in_the_top_safe_area(live: Live) -> None:
    rgb = frame_at(live.out / live.plan()[0]["file"], 2.0).astype(int)
    cream = np.array([int(THEME["card_bg"][i : i + 2], 16) for i in (1, 3, 5)])
    top = rgb[267:700, 60:1020]
    assert (np.abs(top - cream).sum(axis=2) < 30).mean() > 0.3


@pytest.mark.slow
def test_rerun_skips_clips_rendered_from_the_same_plan(live: Live) -> None:
    files = [live.out / c["file"] for c in live.plan()]
    before = [f.stat().st_mtime_ns for f in files]
    result = clips(*live.args("--out", live.out))
    assert result.exit_code == 0, result.output
    assert "Using the plan" in result.stderr and result.stderr.count("skipped") == 3
    assert [f.stat().st_mtime_ns for f in files] == before


@pytest.mark.slow
def test_plan_only_then_an_edited_plan_is_rendered(live: Live, tmp_path: Path) -> None:
    out = tmp_path / "edited"
    result = clips(*live.args("--out", out, "--plan-only"))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["clips.json"]

    data = json.loads((out / "clips.json").read_text(encoding="utf-8"))
    first = data["clips"][0]
    first.update(end=first["start"] + 15, title="Hạt dẻ mới về", file="chestnut.mp4")
    data["clips"] = [first]
    (out / "clips.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")

    result = clips(*live.args("--out", out, "--captions", "none"))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.glob("*.mp4")) == ["chestnut.mp4"]
    with av.open(str(out / "chestnut.mp4")) as container:
        assert container.duration / 1_000_000 == pytest.approx(15, abs=0.3)

    # Same clip start with and without captions: only the caption area differs.
    captioned = frame_at(live.out / live.plan()[0]["file"], 1.5).astype(int)
    plain = frame_at(out / "chestnut.mp4", 1.5).astype(int)
    caption_area = np.abs(captioned[1300:1660, 60:1020] - plain[1300:1660, 60:1020]).mean()
    elsewhere = np.abs(captioned[750:1250, 60:1020] - plain[750:1250, 60:1020]).mean()
    assert caption_area > 4 * elsewhere + 2, (caption_area, elsewhere)


def test_plan_without_events_comes_from_the_transcript(live: Live, tmp_path: Path) -> None:
    out = tmp_path / "speech"
    result = clips(
        live.recording, "--catalog", CATALOG, "--transcript", live.transcript,
        "--out", out, "--plan-only", "--max", "2",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    plan = json.loads((out / "clips.json").read_text(encoding="utf-8"))["clips"]
    assert len(plan) == 2 and all(c["code"] == "A1" for c in plan)  # "Hạt dẻ Ngân Sơn" is said
    assert all(15 <= c["end"] - c["start"] <= 60 for c in plan)


# --- bad input -------------------------------------------------------------------


def test_missing_recording(tmp_path: Path) -> None:
    result = clips(tmp_path / "nope.mp4", "--transcript", tmp_path / "t.json")
    assert result.exit_code != 0 and "recording not found" in result.output


def test_corrupt_recording(tmp_path: Path) -> None:
    junk = tmp_path / "live.mp4"
    junk.write_bytes(os.urandom(20000))
    transcript = tmp_path / "t.json"
    transcript.write_text('{"segments": []}')
    result = clips(junk, "--transcript", transcript)
    assert result.exit_code != 0 and "cannot read" in result.output and "live.mp4" in result.output


def test_silent_recording(make_recording: MakeRecording, tmp_path: Path) -> None:
    silent = make_recording("silent.mp4", 16, audio="silent")
    transcript = tmp_path / "t.json"
    transcript.write_text('{"segments": []}')
    result = clips(silent, "--transcript", transcript)
    assert result.exit_code != 0 and "audio is silent" in result.output


def test_recording_without_audio(make_recording: MakeRecording, tmp_path: Path) -> None:
    mute = make_recording("mute.mp4", 16, audio=None)
    transcript = tmp_path / "t.json"
    transcript.write_text('{"segments": []}')
    result = clips(mute, "--transcript", transcript)
    assert result.exit_code != 0 and "no audio track" in result.output


def test_too_short_recording(make_recording: MakeRecording, tmp_path: Path) -> None:
    short = make_recording("tiny.mp4", 5)
    transcript = tmp_path / "t.json"
    transcript.write_text('{"segments": []}')
    result = clips(short, "--transcript", transcript)
    assert result.exit_code != 0 and "shorter than a clip" in result.output


def test_events_that_miss_the_recording(live: Live, tmp_path: Path) -> None:
    events = write_events(
        tmp_path / "e.jsonl", [{"t": iso(5000), "type": "product_pinned", "code": "A1"}]
    )
    result = clips(live.recording, "--events", events, "--transcript", live.transcript,
                   "--out", tmp_path / "o", "--plan-only")  # fmt: skip
    assert result.exit_code != 0 and "no product was pinned" in result.output


def test_bad_event_line_is_named(live: Live, tmp_path: Path) -> None:
    events = tmp_path / "e.jsonl"
    events.write_text('{"t": "2026-11-20T12:00:00Z", "type": "session_started"}\nnot json\n')
    result = clips(live.recording, "--events", events, "--transcript", live.transcript)
    assert result.exit_code != 0 and "e.jsonl, line 2: not valid JSON" in result.output


@pytest.mark.slow
def test_transcribes_with_a_whisper_model_when_no_transcript_is_given(
    make_recording: MakeRecording, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from transcribe.tiny import build_tiny_model

    monkeypatch.setenv("CHOTDON_CACHE_DIR", str(tmp_path / "cache"))
    model = build_tiny_model(tmp_path / "tiny-whisper")
    recording = make_recording("short-live.mp4", 20)
    events = write_events(
        tmp_path / "e.jsonl",
        [
            {"t": iso(0), "type": "session_started"},
            {"t": iso(1), "type": "product_pinned", "code": "B2"},
            {"t": iso(19.5), "type": "session_stopped"},
        ],
    )
    out = tmp_path / "out"
    result = clips(recording, "--events", events, "--offset", "0", "--catalog", CATALOG,
                   "--model", model, "--out", out, "--plan-only")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Transcribing short-live.mp4 (1 regions" in result.stderr  # only where a clip can be
    (clip,) = json.loads((out / "clips.json").read_text(encoding="utf-8"))["clips"]
    assert clip["code"] == "B2" and 1 <= clip["start"] < clip["end"] <= 19.5
    assert clip["end"] - clip["start"] >= 15
    assert list((tmp_path / "cache").rglob("*.json"))  # the transcript was cached


def test_language_is_one_of_vi_id_en(tmp_path: Path) -> None:
    from studio.cli import clips

    result = CliRunner().invoke(clips, [str(tmp_path / "live.mp4"), "--language", "fr"])
    assert result.exit_code == 2 and "'fr' is not one of 'vi', 'id', 'en'" in result.output


def test_language_reaches_the_transcriber(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from studio import transcript

    seen: list[str] = []

    class Fake:
        def __init__(self, model: str = "small", *, options: object = None) -> None:
            seen.append(options.language)  # type: ignore[attr-defined]

        def transcribe(self, path: Path, progress: object = None, regions: object = None) -> object:
            return type("T", (), {"segments": ()})()

    monkeypatch.setattr("transcribe.Transcriber", Fake)
    assert transcript.transcribe_recording(tmp_path / "x.mp4", None, None, "id") == []
    assert seen == ["id"]


@pytest.mark.parametrize("flag", [[], ["--transcribe-all"]])
def test_with_an_event_log_only_candidate_regions_are_transcribed(
    flag: list[str], make_recording: MakeRecording, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[object] = []

    class Fake:
        def __init__(self, model: str = "small", *, options: object = None) -> None:
            pass

        def transcribe(self, path: Path, progress: object = None, regions: object = None) -> object:
            asked.append(regions)
            return type("T", (), {"segments": ()})()

    monkeypatch.setattr("transcribe.Transcriber", Fake)
    recording = make_recording("long-live.mp4", 60)
    events = write_events(
        tmp_path / "e.jsonl",
        [
            {"t": iso(0), "type": "session_started"},
            {"t": iso(2), "type": "product_pinned", "code": "B2"},
            {"t": iso(5), "type": "order_created", "code": "B2", "qty": 1},
        ],
    )
    result = clips(recording, "--events", events, "--offset", "0", "--catalog", CATALOG,
                   "--out", tmp_path / "out", "--min-len", "5", "--max-len", "10",
                   "--plan-only", *flag)  # fmt: skip
    assert result.exit_code == 0, result.output
    # Without the flag: the busiest 10 s of the window (from the order's pitch) plus 10 s margins.
    assert asked == ([None] if flag else [((2.0, 22.0),)])
