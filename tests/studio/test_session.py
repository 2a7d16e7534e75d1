"""``chotdon clips --session ID --data DIR`` reads the server's own event log."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import insert

from assets import DEMO_DIR
from server.cli import main
from server.db import live_sessions, open_database
from server.events import append_event

from .conftest import MakeRecording, iso, sentences, transcript_json, write_events

TIMELINE = [
    ("session_started", 0.0, {"title": "Phiên thử"}),
    ("product_pinned", 2.0, {"code": "A1"}),
    ("order_created", 10.0, {"code": "A1", "qty": 2}),
    ("product_pinned", 31.0, {"code": "B2"}),
    ("session_stopped", 59.0, {}),
]


def _store_session(data_dir: Path) -> int:
    data_dir.mkdir()
    engine = open_database(data_dir / "chotdon.db")
    with engine.begin() as conn:
        session_id = conn.execute(
            insert(live_sessions).values(started_at=iso(0))
        ).inserted_primary_key[0]
        for type_, at, data in TIMELINE:
            append_event(conn, session_id, type_, t=iso(at), **data)
    engine.dispose()
    return int(session_id)


def test_session_plan_matches_the_exported_event_log(
    make_recording: MakeRecording, tmp_path: Path
) -> None:
    recording = make_recording("session.mp4", 60, creation_time=iso(0))
    transcript = tmp_path / "t.json"
    sayings = ["Hạt dẻ giá một trăm năm mươi nghìn.", "Chốt đơn nhé cả nhà."]
    transcript.write_text(
        json.dumps(transcript_json(sentences(0, 60, sayings, every=4.0, length=3.5)))
    )
    data_dir = tmp_path / "data"
    session_id = _store_session(data_dir)
    exported = CliRunner().invoke(
        main, ["session", "events", str(session_id), "--data", str(data_dir)]
    )
    assert exported.exit_code == 0, exported.output
    events_file = write_events(
        tmp_path / "e.jsonl", [json.loads(x) for x in exported.output.splitlines()]
    )

    common = [
        str(recording),
        "--catalog",
        str(DEMO_DIR / "catalog.csv"),
        "--transcript",
        str(transcript),
    ]
    common += ["--plan-only", "--max-len", "20"]
    by_session = CliRunner().invoke(
        main,
        [
            "clips",
            *common,
            "--session",
            str(session_id),
            "--data",
            str(data_dir),
            "--out",
            str(tmp_path / "s"),
        ],
    )
    by_file = CliRunner().invoke(
        main, ["clips", *common, "--events", str(events_file), "--out", str(tmp_path / "f")]
    )
    assert by_session.exit_code == 0, by_session.output
    assert by_file.exit_code == 0, by_file.output
    plan_s = json.loads((tmp_path / "s" / "clips.json").read_text(encoding="utf-8"))["clips"]
    plan_f = json.loads((tmp_path / "f" / "clips.json").read_text(encoding="utf-8"))["clips"]
    assert [c["code"] for c in plan_s] == ["A1", "B2"] or sorted(c["code"] for c in plan_s) == [
        "A1",
        "B2",
    ]
    assert [(c["code"], c["start"], c["end"]) for c in plan_s] == [
        (c["code"], c["start"], c["end"]) for c in plan_f
    ]
    windows = {"A1": (2.0, 31.0), "B2": (31.0, 59.0)}
    for clip in plan_s:
        low, high = windows[clip["code"]]
        assert low <= clip["start"] < clip["end"] <= high


def test_unknown_session_is_a_clear_error(make_recording: MakeRecording, tmp_path: Path) -> None:
    recording = make_recording("nosession.mp4", 20, creation_time=iso(0))
    result = CliRunner().invoke(
        main, ["clips", str(recording), "--session", "99", "--data", str(tmp_path), "--plan-only"]
    )
    assert result.exit_code != 0
    assert "no live session 99" in result.output


def test_reader_matches_the_server_and_needs_no_server(tmp_path: Path) -> None:
    from server.events import read_session_events as server_read
    from studio.session import read_session_events

    data_dir = tmp_path / "data"
    session_id = _store_session(data_dir)
    records = read_session_events(data_dir, session_id)
    assert records == server_read(data_dir, session_id)
    assert [r["type"] for r in records] == [t for t, _, _ in TIMELINE]
    assert records[2]["qty"] == 2 and records[2]["t"] == iso(10)


def test_reader_names_the_problem(tmp_path: Path) -> None:
    import sqlite3

    import pytest

    from studio.errors import StudioError
    from studio.session import read_session_events

    with pytest.raises(StudioError, match=r"no live session 1 in .* \(no chotdon.db\)"):
        read_session_events(tmp_path, 1)
    assert not (tmp_path / "chotdon.db").exists()  # never created by a read
    data_dir = tmp_path / "data"
    session_id = _store_session(data_dir)
    with sqlite3.connect(data_dir / "chotdon.db") as conn:
        conn.execute("UPDATE events SET data = 'nope' WHERE type = 'order_created'")
    conn.close()
    with pytest.raises(StudioError, match=r"event 3 of session 1: data is not JSON"):
        read_session_events(data_dir, session_id)
