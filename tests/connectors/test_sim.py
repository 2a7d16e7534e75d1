"""Sim connector: script loading, timing at N-times speed, looping, bad lines."""

from __future__ import annotations

import asyncio
import csv
import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from assets import DEMO_DIR
from server.connectors import Supervisor, build_connector
from server.connectors.sim import SimConnector, SimScriptError, load_script

pytestmark = pytest.mark.anyio

T0 = datetime(2025, 3, 1, 20, 0, tzinfo=UTC)


def write(tmp_path, *lines) -> str:
    path = tmp_path / "script.jsonl"
    path.write_text(
        "\n".join(x if isinstance(x, str) else json.dumps(x, ensure_ascii=False) for x in lines)
        + "\n",
        encoding="utf-8",
    )
    return str(path)


def sim(path, clock, **kw) -> SimConnector:
    return SimConnector(
        path,
        sleep=clock.sleep,
        clock=clock,
        now=lambda: T0 + timedelta(seconds=clock.now - 1000.0),
        **kw,
    )


async def run_to_end(connector, collector) -> None:
    await asyncio.wait_for(connector.run(collector.emit), 5)


async def test_replays_at_n_times_speed_with_replay_timestamps(tmp_path, clock, collector):
    path = write(
        tmp_path,
        {"at": 0, "id": "a", "user": "lan", "nickname": "Lan", "text": "chào shop"},
        {"at": 10, "id": "b", "user": "hoa", "text": "A1 1kg"},
        {"at": 30, "id": "c", "user": "tuan", "text": "chốt 2", "platform": "tiktok"},
    )
    await run_to_end(sim(path, clock, speed=2), collector)
    assert clock.sleeps == [5.0, 10.0]
    assert collector.batches[0] == []  # heartbeat first
    got = collector.comments
    assert [c.id for c in got] == ["a", "b", "c"]
    assert [c.platform for c in got] == ["sim", "sim", "tiktok"]
    assert got[0].nickname == "Lan" and got[1].nickname == ""
    assert [c.ts for c in got] == [T0, T0 + timedelta(seconds=5), T0 + timedelta(seconds=15)]


async def test_lines_without_at_are_spaced_by_rate_and_default_ids(tmp_path, clock, collector):
    path = write(
        tmp_path,
        {"user": "u1", "text": "một"},
        {"user": "u2", "text": "hai"},
        {"at": 5, "user": "u3", "text": "ba"},
        {"user": "u4", "text": "bốn"},
    )
    script = load_script(path, rate=2)
    assert [line.at for line in script] == [0.0, 0.5, 5.0, 5.5]
    await run_to_end(sim(path, clock, rate=2), collector)
    assert [c.id for c in collector.comments] == ["L1", "L2", "L3", "L4"]
    assert clock.sleeps == [0.5, 4.5, 0.5]


async def test_due_lines_are_batched_together(tmp_path, clock, collector):
    path = write(
        tmp_path,
        {"at": 1, "user": "u", "text": "x"},
        {"at": 1, "user": "v", "text": "y"},
        {"at": 1.5, "user": "w", "text": "z"},
        {"at": 9, "user": "w", "text": "z"},
    )

    async def late_sleep(seconds):
        # a busy laptop wakes up late: 0.06 s at 10x speed is 0.6 s of script
        await clock.sleep(seconds + 0.06)

    connector = SimConnector(path, speed=10, sleep=late_sleep, clock=clock)
    await run_to_end(connector, collector)
    sizes = [len(b) for b in collector.batches if b]
    assert sizes == [3, 1]


async def test_loop_keeps_ids_unique_across_passes(tmp_path, clock, collector):
    path = write(
        tmp_path,
        {"at": 0, "id": "x", "user": "u", "text": "chốt 1"},
        {"at": 2, "id": "y", "user": "u", "text": "chốt 2"},
    )
    connector = sim(path, clock, loop=True)
    task = asyncio.ensure_future(connector.run(collector.emit))
    await collector.wait_for(lambda: len(collector.comments) >= 6)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    ids = [c.id for c in collector.comments[:6]]
    assert ids == ["x", "y", "x~1", "y~1", "x~2", "y~2"]
    # a pass lasts last "at" + one spacing (1 s at rate 1): 3 s
    ts = [c.ts for c in collector.comments[:6]]
    assert [(t - T0).total_seconds() for t in ts] == [0, 2, 3, 5, 6, 8]


async def test_restart_resumes_after_the_last_emitted_line(tmp_path, clock):
    path = write(tmp_path, *({"at": i, "id": f"c{i}", "user": "u", "text": "t"} for i in range(4)))
    connector = sim(path, clock)
    emitted: list[str] = []

    async def emit(batch):
        if batch and batch[0].id == "c2" and "c2-failed" not in emitted:
            emitted.append("c2-failed")
            raise OSError("database locked")
        emitted.extend(c.id for c in batch)

    sup = Supervisor(connector, emit, sleep=clock.sleep, clock=clock, rng=lambda: 1.0)
    sup.start()
    state = await asyncio.wait_for(sup.wait(), 5)
    assert state.status == "stopped"
    assert emitted == ["c0", "c1", "c2-failed", "c2", "c3"]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", r"line 2: not valid JSON"),
        ("[1, 2]", r"line 2: expected a JSON object"),
        ('{"text": "no user"}', r"line 2: user: Field required"),
        ('{"user": "u", "text": "t", "platform": "zalo"}', r"line 2: platform: "),
        ('{"user": "u", "text": "t", "at": "soon"}', r"line 2: 'at' must be a number"),
        ('{"user": "u", "text": "t", "at": -1}', r"line 2: 'at' must be a number"),
        ('{"user": "u", "text": "t", "at": 1}', r"line 2: 'at' 1 is before the previous"),
        ('{"id": "a", "user": "u", "text": "t"}', r"line 2: id 'a' already used on line 1"),
    ],
)
def test_bad_line_names_file_and_line(tmp_path, line, message):
    path = write(tmp_path, '{"at": 5, "id": "a", "user": "u", "text": "ok"}', line)
    with pytest.raises(SimScriptError, match=message) as info:
        load_script(path)
    assert "script.jsonl" in str(info.value)
    assert info.value.fatal


def test_missing_or_empty_file_is_a_clear_error(tmp_path):
    with pytest.raises(SimScriptError, match="cannot read replay file"):
        load_script(tmp_path / "nope.jsonl")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n", encoding="utf-8")
    with pytest.raises(SimScriptError, match="has no comments"):
        SimConnector(empty)


def test_build_connector_makes_a_sim(tmp_path):
    path = write(tmp_path, {"user": "u", "text": "t"})
    connector = build_connector("sim", path=path, speed=4, loop=True)
    assert isinstance(connector, SimConnector)
    assert connector.speed == 4 and connector.loop


def test_demo_audience_is_a_valid_eight_minute_show():
    script = load_script(DEMO_DIR / "comments.jsonl")
    assert 140 <= len(script) <= 170
    assert 420 <= script[-1].at <= 540
    comments = [line.comment for line in script]
    assert all(c.platform == "sim" for c in comments)
    text = " ".join(c.text for c in comments)
    with open(DEMO_DIR / "catalog.csv", encoding="utf-8") as f:
        codes = [row["code"] for row in csv.DictReader(f)]
    for code in codes:
        assert re.search(rf"\b{code}\b", text, re.IGNORECASE), code
    assert any("<" in c.nickname for c in comments)  # HTML-looking nicknames
    assert any("<script" in c.text for c in comments)
    assert len({c.user for c in comments}) >= 20
    # phone numbers in the demo are the obviously fake 0900 000 xxx series
    digits = [re.sub(r"\D", "", m) for m in re.findall(r"(?<!\d)(?:\+?84|0)[\d .-]{8,13}", text)]
    assert digits and all(re.fullmatch(r"(84|0)900000\d{3}", d) for d in digits), digits


async def test_replay_behind_schedule_still_yields_to_the_event_loop(tmp_path):
    path = write(tmp_path, {"user": "u", "text": "a"}, {"user": "v", "text": "b"})
    main_ran = False
    batches = 0

    async def emit(batch):
        nonlocal batches
        batches += 1
        if batches > 1000 and not main_ran:
            raise AssertionError("the replay starved the event loop")

    task = asyncio.ensure_future(SimConnector(path, speed=1e9, loop=True).run(emit))
    for _ in range(3):
        await asyncio.sleep(0)
    main_ran = True
    assert not task.done()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
