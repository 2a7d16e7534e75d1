"""chotdon.eventlog: the event log contract (types, JSONL write and read)."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest

from chotdon.eventlog import (
    EVENT_TYPES,
    EventLogError,
    EventType,
    parse_jsonl,
    parse_time,
    read_jsonl,
    to_jsonl,
    write_jsonl,
)

RECORDS = [
    {"t": "2026-11-20T12:00:00.000Z", "type": "session_started", "title": "Phiên tối"},
    {"t": "2026-11-20T12:00:03.120Z", "type": "product_pinned", "code": "A1"},
]


def test_every_type_is_in_the_enum_and_the_set() -> None:
    assert {t.value for t in EventType} == EVENT_TYPES
    assert EventType("order_created") == "order_created"
    assert len(EVENT_TYPES) == 16


def test_write_then_read_gives_the_records_back(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    assert write_jsonl(RECORDS, path) == 2
    assert read_jsonl(path) == RECORDS
    text = path.read_text(encoding="utf-8")
    assert "Phiên tối" in text and ", " not in text  # readable UTF-8, compact
    stream = io.StringIO()
    write_jsonl(RECORDS, stream)
    assert stream.getvalue() == text == "".join(to_jsonl(RECORDS))


def test_unknown_types_pass_through_unchecked() -> None:
    records = parse_jsonl('{"type": "viewer_count", "t": "soon"}\n\n')
    assert records == [{"type": "viewer_count", "t": "soon"}]


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ('{"t": "2026-11-20T12:00:00Z", "type": "session_started"}\n{oops\n', 2, "not valid JSON"),
        ("[1, 2]\n", 1, "expected a JSON object"),
        ('\n{"t": "yesterday", "type": "product_pinned"}\n', 2, "bad time 't'"),
        ('{"type": "order_created"}\n', 1, "bad time 't'"),
    ],
)
def test_bad_lines_are_named(text: str, line: int, words: str) -> None:
    with pytest.raises(EventLogError, match=f"log.jsonl, line {line}: {words}") as info:
        parse_jsonl(text, source="log.jsonl")
    assert info.value.line == line


def test_unreadable_files_are_clear(tmp_path: Path) -> None:
    with pytest.raises(EventLogError, match="cannot read events file"):
        read_jsonl(tmp_path / "missing.jsonl")
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes(b'{"type": "x", "n": "\xe9"}\n')
    with pytest.raises(EventLogError, match="not UTF-8"):
        read_jsonl(latin)


def test_times_become_aware_utc() -> None:
    assert parse_time("2026-11-20T19:00:00+07:00") == datetime(2026, 11, 20, 12, tzinfo=UTC)
    assert parse_time("2026-11-20T12:00:00") == datetime(2026, 11, 20, 12, tzinfo=UTC)
    with pytest.raises(ValueError, match="expected an ISO-8601 string"):
        parse_time(5)
