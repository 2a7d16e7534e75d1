"""Stock and order lines: atomic reservation, waitlist, cancels, repeats within a minute."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, select, text, update

from server.comments import CommentIn
from server.db import open_database, order_lines, products
from server.orders import Changes, Parsed, mask_nickname, store_batch, units
from server.orders.book import reserve
from server.parse import Item

from .conftest import Api, comment


@pytest.fixture
def engine(tmp_path: Path, database_url: str) -> Iterator[Engine]:
    engine = open_database(tmp_path / "book.db", database_url)
    with engine.begin() as conn:
        conn.execute(
            products.insert().values(
                code="A1", name="Hạt dẻ", price=150000, unit="kg", stock=50, updated_at="x"
            )
        )
    yield engine
    engine.dispose()


def test_concurrent_reservations_never_oversell(
    tmp_path: Path, engine: Engine, database_url: str
) -> None:
    path = tmp_path / "book.db"
    workers, attempts = 6, 20  # 120 attempts of 1 unit for 50 units
    start = threading.Barrier(workers)
    won: list[int] = []
    lock = threading.Lock()

    def buyer() -> None:
        own = open_database(path, database_url)  # each thread its own engine and connections
        start.wait(timeout=10)
        mine = 0
        for _ in range(attempts):
            with own.begin() as conn:
                mine += reserve(conn, "A1", 1)
        own.dispose()
        with lock:
            won.append(mine)

    threads = [threading.Thread(target=buyer) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(won) == workers
    with engine.connect() as conn:
        left = conn.scalar(select(products.c.stock).where(products.c.code == "A1"))
    assert sum(won) == 50 and left == 0


def test_two_buyers_racing_for_the_last_unit_exactly_one_wins(
    tmp_path: Path, engine: Engine, database_url: str
) -> None:
    with engine.begin() as conn:
        conn.execute(update(products).where(products.c.code == "A1").values(stock=1))
    other = open_database(tmp_path / "book.db", database_url)  # another process, as it were
    second: list[bool] = []

    def racer() -> None:
        with other.begin() as conn:
            second.append(reserve(conn, "A1", 1))

    with engine.connect() as first, engine.connect() as watcher:
        first.begin()
        assert reserve(first, "A1", 1)  # holds the row (PostgreSQL) or the write lock (SQLite)
        thread = threading.Thread(target=racer)
        thread.start()
        if database_url:  # commit only once the second UPDATE waits on the first one's row
            _until_waiting_on_a_lock(watcher, thread)
        first.commit()
    thread.join(timeout=30)
    other.dispose()
    assert second == [False]
    with engine.connect() as conn:
        assert conn.scalar(select(products.c.stock).where(products.c.code == "A1")) == 0


def _until_waiting_on_a_lock(watcher: Connection, thread: threading.Thread) -> None:
    query = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    for _ in range(3000):
        if watcher.scalar(query):
            watcher.rollback()
            return
        watcher.rollback()  # a fresh snapshot of pg_stat_activity
        thread.join(timeout=0.01)  # the racer must not finish while the row is held
        assert thread.is_alive(), "the second reservation did not wait for the first"
    raise AssertionError("the second reservation never waited on the row lock")


def _parsed(intent: str, *items: tuple[str, float | None], confidence: float = 1.0) -> Parsed:
    return Parsed(intent, tuple(Item(c, q) for c, q in items), None, confidence, {})


def _store(engine: Engine, cid: str, parsed: Parsed, at: datetime, user: str = "lan") -> str:
    with engine.begin() as conn:
        [stored] = store_batch(
            conn,
            [(CommentIn(platform="sim", id=cid, user=user, nickname="Lan", text="…"), parsed)],
            changes=Changes([], {}),
            known={"A1"},
            threshold=0.8,
            session_id=None,
            now=at,
        )
    return stored.status


def test_a_repeat_within_a_minute_is_not_a_second_order(engine: Engine) -> None:
    now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    order = _parsed("order", ("A1", 2))
    assert _store(engine, "1", order, now) == "ordered"
    assert _store(engine, "2", order, now + timedelta(seconds=59)) == "duplicate"
    assert _store(engine, "3", order, now + timedelta(seconds=30), user="minh") == "ordered"
    assert _store(engine, "4", _parsed("order", ("A1", 3)), now) == "ordered"
    assert _store(engine, "5", order, now + timedelta(seconds=61)) == "ordered"
    with engine.connect() as conn:
        qtys = list(conn.scalars(select(order_lines.c.qty).order_by(order_lines.c.id)))
    assert qtys == [2, 2, 3, 2]


def test_doubtful_parses_wait_for_a_helper(engine: Engine) -> None:
    now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    assert _store(engine, "1", _parsed("order", ("A1", 2), confidence=0.5), now) == "review"
    assert _store(engine, "2", _parsed("order", ("ZZ", 2)), now) == "review"
    assert _store(engine, "3", _parsed("order", ("A1", None)), now) == "review"
    assert _store(engine, "4", _parsed("order"), now) == "review"
    assert _store(engine, "5", Parsed(None, (), None, 0.0, {"error": "x"}), now) == "review"
    assert _store(engine, "6", _parsed("cancel"), now) == "no_match"


def test_whole_units_are_reserved_for_fractions() -> None:
    assert [units(q) for q in (0.5, 1, 1.5, 2.0, 0.1)] == [1, 1, 2, 2, 1]


def test_nicknames_are_masked_word_by_word() -> None:
    assert mask_nickname("Hoa Mộc Lan") == "H** M** L**"
    assert mask_nickname("Nguyễnnnnn") == "N***"
    assert mask_nickname("  ") == "?"


def test_out_of_stock_orders_wait_and_are_served_when_stock_comes_back(api: Api) -> None:
    api.set_stock("B5", 2)
    api.ingest(comment("1", "B5 x2", user="an", nickname="An"))
    [ack] = api.ingest(comment("2", "B5 x1", user="binh", nickname="Bình"))
    assert ack["status"] == "waitlist" and api.stock("B5") == 0
    assert api.state()["products"]["B5"]["stock"] == 0
    # An cancels: the stock goes back and Bình's waitlisted line is served from it.
    [cancel] = api.ingest(comment("3", "hủy B5", user="an", nickname="An"))
    assert cancel["status"] == "cancelled"
    statuses = {(ln["customer_id"], ln["status"]) for ln in api.lines()}
    assert statuses == {(1, "cancelled"), (2, "pending")}
    assert api.stock("B5") == 1
    assert api.state()["sold"] == {"B5": 1}


def test_a_helper_promotes_the_waitlist_after_adding_stock(api: Api) -> None:
    api.set_stock("B2", 0)
    api.ingest(comment("1", "B2 x2"))
    api.set_stock("B2", 5)
    assert api.post("/api/orders/waitlist/B2/promote")["moved"] == 1
    assert api.stock("B2") == 3 and api.lines()[0]["status"] == "pending"


def test_cancel_without_items_cancels_the_latest_order_only(api: Api) -> None:
    api.ingest(comment("1", "A1 x2"))
    api.ingest(comment("2", "B1 x1 A3 x1"))
    [ack] = api.ingest(comment("3", "huỷ đơn"))
    assert ack["status"] == "cancelled"
    by_code = {ln["code"]: ln["status"] for ln in api.lines()}
    assert by_code == {"A1": "pending", "B1": "cancelled", "A3": "cancelled"}
    assert (api.stock("B1"), api.stock("A3"), api.stock("A1")) == (35, 200, 38)


def test_cancelling_part_of_a_product_keeps_the_rest(api: Api) -> None:
    api.ingest(comment("1", "A3 x5"))
    api.post("/api/orders/lines/1/status", {"status": "confirmed"})
    [ack] = api.ingest(comment("2", "hủy 2 A3"))
    assert ack["status"] == "cancelled"
    [line] = api.lines()
    assert (line["qty"], line["status"]) == (3, "confirmed")
    assert api.stock("A3") == 197 and api.state()["sold"] == {"A3": 3}


def test_a_paid_order_is_not_cancelled_by_a_comment(api: Api) -> None:
    api.ingest(comment("1", "A1 x1"))
    api.post("/api/orders/lines/1/status", {"status": "paid"})
    [ack] = api.ingest(comment("2", "hủy"))
    assert ack["status"] == "no_match" and api.lines()[0]["status"] == "paid"
