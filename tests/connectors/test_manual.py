"""Manual comments typed by a helper, and the ManualConnector that emits them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from server.connectors import ManualConnector, ManualInputError, Supervisor, build_connector
from server.connectors.manual import manual_comment

pytestmark = pytest.mark.anyio


def test_manual_comment_fields():
    now = datetime(2025, 3, 1, 20, 0, tzinfo=UTC)
    c = manual_comment("  chị Hằng gọi: B2 x1 0900 000 120 \n", " Thu ", now=lambda: now)
    assert c.platform == "manual"
    assert c.user == "helper:Thu"
    assert c.nickname == "Thu"
    assert c.text == "chị Hằng gọi: B2 x1 0900 000 120"
    assert c.ts == now
    assert c.id.startswith("manual-")


def test_nickname_is_the_buyer_when_given_and_ids_are_fresh():
    a = manual_comment("A1 1kg", "Thu", nickname="Cô  Hằng")
    b = manual_comment("A1 1kg", "Thu", nickname="Cô  Hằng")
    assert a.nickname == "Cô Hằng"
    assert a.id != b.id  # typed twice on purpose means two comments


@pytest.mark.parametrize(
    ("text", "helper", "message"),
    [
        ("   ", "Thu", "comment text is empty"),
        ("chốt 1", "  ", "helper name is empty"),
        ("x" * 2001, "Thu", "longer than 2000 characters"),
        ("chốt 1", "T" * 101, "helper name is longer than 100"),
    ],
)
def test_bad_input_is_refused_with_a_reason(text, helper, message):
    with pytest.raises(ManualInputError, match=message):
        manual_comment(text, helper)


async def test_connector_emits_submitted_comments_in_order(collector, clock):
    manual = build_connector("manual")
    assert isinstance(manual, ManualConnector)
    sup = Supervisor(manual, collector.emit, on_state=collector.on_state, sleep=clock.sleep)
    sup.start()
    await collector.wait_for(lambda: sup.state.status == "live")
    first = await manual.submit("A1 1kg", "Thu")
    second = await manual.submit("B5 nửa cân", "Thu", nickname="Anh Dũng")
    await collector.wait_for(lambda: len(collector.comments) == 2)
    await sup.stop()
    assert collector.comments == [first, second]
    assert sup.state.comments == 2


async def test_a_batch_that_failed_to_store_is_sent_again(clock):
    manual = ManualConnector()
    stored = []
    failed = asyncio.Event()
    done = asyncio.Event()

    async def emit(batch):
        if not failed.is_set():
            failed.set()
            raise OSError("database is locked")
        stored.extend(batch)
        done.set()

    sup = Supervisor(manual, emit, sleep=clock.sleep, clock=clock)
    comment = await manual.submit("chốt 2", "Lan")
    sup.start()
    await asyncio.wait_for(done.wait(), 5)
    await sup.stop()
    assert failed.is_set()
    assert stored == [comment]
