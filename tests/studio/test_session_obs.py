"""``chotdon clips --session N`` finds the recording and its start in the event log,
where server.obs writes ``recording_started`` / ``recording_stopped`` (issue 13)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import insert

from assets import DEMO_DIR
from server.cli import main
from server.db import live_sessions, open_database
from server.events import append_event
from studio.errors import StudioError
from studio.events import parse_events, parse_time
from studio.session import logged_recordings, read_session_events, recording_from_events

from .conftest import T0, MakeRecording, iso, sentences, transcript_json


def _store(data_dir: Path, timeline: list[tuple[str, float, dict]]) -> int:
    data_dir.mkdir(exist_ok=True)
    engine = open_database(data_dir / "chotdon.db")
    with engine.begin() as conn:
        session_id = conn.execute(
            insert(live_sessions).values(started_at=iso(0))
        ).inserted_primary_key[0]
        for type_, at, data in timeline:
            append_event(conn, session_id, type_, t=iso(at), **data)
    engine.dispose()
    return int(session_id)


def _events(timeline: list[tuple[str, float, dict]]) -> list:
    return parse_events([{"t": iso(at), "type": kind, **data} for kind, at, data in timeline])


def test_recordings_pair_up_and_an_adopted_one_starts_when_obs_began() -> None:
    events = _events(
        [
            ("session_started", 0.0, {}),
            ("recording_started", 1.0, {"started_at": iso(-30)}),
            ("recording_stopped", 20.0, {"path": "/r/a.mkv"}),
            ("recording_started", 25.0, {}),
            ("recording_stopped", 90.0, {"path": "/r/b.mkv"}),
            ("recording_started", 95.0, {}),
        ]
    )
    found = logged_recordings(events)
    assert [(r.start, r.path) for r in found] == [
        (T0 - timedelta(seconds=30), Path("/r/a.mkv")),
        (T0 + timedelta(seconds=25), Path("/r/b.mkv")),
        (T0 + timedelta(seconds=95), None),
    ]
    assert found[0].seconds == 50.0 and found[2].end is None


def test_flags_win_and_a_named_file_takes_its_logged_start(tmp_path: Path) -> None:
    mine = tmp_path / "b.mkv"
    events = _events(
        [
            ("recording_started", 5.0, {}),
            ("recording_stopped", 60.0, {"path": str(mine)}),
        ]
    )
    flag_start = parse_time(iso(3))
    assert recording_from_events(
        events, "s", recording=tmp_path / "x.mp4", start=flag_start, offset=None
    ) == (tmp_path / "x.mp4", flag_start)
    # Another file given: the log's start is not its start.
    assert recording_from_events(
        events, "s", recording=tmp_path / "x.mp4", start=None, offset=None
    ) == (tmp_path / "x.mp4", None)
    # The logged file given by another folder: its start comes from the log.
    assert recording_from_events(
        events, "s", recording=Path("/elsewhere/b.mkv"), start=None, offset=None
    ) == (Path("/elsewhere/b.mkv"), parse_time(iso(5)))
    # --offset wins over the log's start.
    assert recording_from_events(
        events, "s", recording=Path("/elsewhere/b.mkv"), start=None, offset=2.0
    ) == (Path("/elsewhere/b.mkv"), None)
    with pytest.raises(StudioError, match=r"b.mkv, is not here; give the RECORDING path"):
        recording_from_events(events, "session 4", recording=None, start=None, offset=None)
    mine.write_bytes(b"")
    assert recording_from_events(events, "s", recording=None, start=None, offset=None) == (
        mine,
        parse_time(iso(5)),
    )


def test_no_recording_in_the_log_is_a_clear_error(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    session_id = _store(data_dir, [("session_started", 0.0, {}), ("recording_started", 1, {})])
    events = parse_events(read_session_events(data_dir, session_id))
    with pytest.raises(StudioError, match=r"session 1 names no recording file .*CHOTDON_OBS_URL"):
        recording_from_events(events, "session 1", recording=None, start=None, offset=None)
    result = CliRunner().invoke(
        main, ["clips", "--session", str(session_id), "--data", str(data_dir), "--plan-only"]
    )
    assert result.exit_code != 0 and "give the RECORDING path" in result.output
    bare = CliRunner().invoke(main, ["clips", "--plan-only"])
    assert bare.exit_code != 0 and "give the RECORDING file" in bare.output


def test_clips_by_session_alone_uses_the_logged_file_and_start(
    make_recording: MakeRecording, tmp_path: Path
) -> None:
    # The file's own creation_time is 100 s off: only the log's start places it right.
    recording = make_recording("obs-live.mp4", 60, creation_time=iso(100))
    transcript = tmp_path / "t.json"
    sayings = ["Hạt dẻ giá một trăm năm mươi nghìn.", "Chốt đơn nhé cả nhà."]
    transcript.write_text(
        json.dumps(transcript_json(sentences(0, 60, sayings, every=4.0, length=3.5)))
    )
    data_dir = tmp_path / "data"
    session_id = _store(
        data_dir,
        [
            ("session_started", 0.0, {"title": "OBS"}),
            ("recording_started", 0.0, {}),
            ("product_pinned", 2.0, {"code": "A1"}),
            ("product_pinned", 31.0, {"code": "B2"}),
            ("session_stopped", 59.0, {}),
            ("recording_stopped", 60.0, {"path": str(recording)}),
        ],
    )
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main,
        [
            "clips",
            "--session",
            str(session_id),
            "--data",
            str(data_dir),
            "--catalog",
            str(DEMO_DIR / "catalog.csv"),
            "--transcript",
            str(transcript),
            "--plan-only",
            "--max-len",
            "20",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    plan = json.loads((out / "clips.json").read_text(encoding="utf-8"))
    assert plan["recording"] == "obs-live.mp4"
    assert plan["recording_start"] == iso(0).replace("Z", "+00:00")
    windows = {"A1": (2.0, 31.0), "B2": (31.0, 59.0)}
    assert sorted(c["code"] for c in plan["clips"]) == ["A1", "B2"]
    for clip in plan["clips"]:
        low, high = windows[clip["code"]]
        assert low <= clip["start"] < clip["end"] <= high
