"""studio.events: the session event log and product windows."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from studio.errors import StudioError
from studio.events import parse_events, price_at, product_windows, read_events

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _at(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def _write(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_reads_known_events_in_time_order_and_skips_unknown(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "e.jsonl",
        [
            {"t": _at(5), "type": "product_pinned", "code": "A1"},
            {"t": _at(1), "type": "session_started"},
            {"t": "not even a time", "type": "viewer_count", "n": 3},
            {"t": _at(7), "type": "order_created", "code": "A1", "qty": 2},
        ],
    )
    events = read_events(path)
    assert [e.type for e in events] == ["session_started", "product_pinned", "order_created"]
    assert events[1].code == "A1" and events[2].data["qty"] == 2
    assert events[0].t == T0 + timedelta(seconds=1)


def test_bad_json_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    path.write_text(json.dumps({"t": _at(0), "type": "session_started"}) + "\n{oops\n")
    with pytest.raises(StudioError, match=r"e\.jsonl, line 2: not valid JSON"):
        read_events(path)


def test_bad_time_names_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "e.jsonl", [{"t": "yesterday", "type": "product_pinned"}])
    with pytest.raises(StudioError, match=r"line 1: bad time 't'"):
        read_events(path)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StudioError, match="cannot read events file"):
        read_events(tmp_path / "nope.jsonl")


def test_naive_and_offset_times_become_utc() -> None:
    events = parse_events(
        [
            {"t": "2026-11-20T19:00:00+07:00", "type": "session_started"},
            {"t": "2026-11-20T12:00:05", "type": "product_pinned", "code": "A1"},
        ]
    )
    assert events[0].t == T0 and events[1].t == T0 + timedelta(seconds=5)


def test_windows_run_pin_to_next_pin_and_close_at_stop() -> None:
    events = parse_events(
        [
            {"t": _at(0), "type": "session_started"},
            {"t": _at(10), "type": "product_pinned", "code": "A1"},
            {"t": _at(20), "type": "order_created", "code": "A1", "qty": 1},
            {"t": _at(25), "type": "comment_received"},
            {"t": _at(40), "type": "product_pinned", "code": "A2"},
            {"t": _at(45), "type": "order_created", "code": "A1", "qty": 1},  # late order
            {"t": _at(60), "type": "product_unpinned"},
            {"t": _at(70), "type": "product_pinned", "code": "A3"},
            {"t": _at(90), "type": "session_stopped"},
        ]
    )
    windows = product_windows(events, T0 + timedelta(seconds=5), duration=80)
    assert [(w.code, w.start, w.end) for w in windows] == [
        ("A1", 5, 35),
        ("A2", 35, 55),
        ("A3", 65, 80),  # clipped to the recording
    ]
    assert windows[0].orders == (15, 40) and windows[0].comments == (20,)
    assert windows[1].orders == ()


def test_windows_outside_the_recording_vanish() -> None:
    events = parse_events([{"t": _at(500), "type": "product_pinned", "code": "A1"}])
    assert product_windows(events, T0, duration=100) == []


def test_price_in_effect_is_the_latest_change_before_the_moment() -> None:
    events = parse_events(
        [
            {
                "t": _at(10),
                "type": "price_changed",
                "code": "A1",
                "price": 180000,
                "sale_price": 160000,
            },
            {"t": _at(20), "type": "price_changed", "code": "A2", "price": 1},
            {
                "t": _at(30),
                "type": "price_changed",
                "code": "A1",
                "price": 180000,
                "sale_price": 150000,
            },
        ]
    )
    assert price_at(events, "A1", T0 + timedelta(seconds=5)) is None
    assert price_at(events, "A1", T0 + timedelta(seconds=25)) == (180000, 160000)
    assert price_at(events, "A1", T0 + timedelta(seconds=99)) == (180000, 150000)
