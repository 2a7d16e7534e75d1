from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import select, text

from server.db import (
    MIGRATIONS,
    DatabaseBusy,
    Writer,
    migrate,
    open_database,
    products,
    utcnow_iso,
)
from server.orders.book import reserve
from server.settings import Settings


def test_database_is_wal_with_every_migration_recorded(tmp_path: Path) -> None:
    engine = open_database(tmp_path / "c.db")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()


def test_every_migration_is_recorded_once(tmp_path: Path, database_url: str) -> None:
    engine = open_database(tmp_path / "c.db", database_url)
    with engine.connect() as conn:
        versions = (
            conn.execute(text("SELECT version FROM schema_migrations ORDER BY version"))
            .scalars()
            .all()
        )
    engine.dispose()
    assert versions == [v for v, _, _ in MIGRATIONS]


def test_migrations_run_once_and_data_survives_reopening(tmp_path: Path, database_url: str) -> None:
    engine = open_database(tmp_path / "c.db", database_url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO kv(key, value) VALUES ('k', 'v')"))
    assert migrate(engine) == []
    engine.dispose()
    again = open_database(tmp_path / "c.db", database_url)
    with again.connect() as conn:
        assert conn.execute(text("SELECT value FROM kv WHERE key='k'")).scalar() == "v"
        assert len(
            conn.execute(select(text("1")).select_from(text("schema_migrations"))).all()
        ) == len(MIGRATIONS)
    again.dispose()


@pytest.mark.postgres
def test_postgres_sessions_are_read_committed_in_utc_with_a_lock_timeout(
    tmp_path: Path, postgres_url: str
) -> None:
    engine = open_database(tmp_path / "unused.db", postgres_url)
    with engine.connect() as conn:
        assert conn.scalar(text("SHOW transaction_isolation")) == "read committed"
        assert conn.scalar(text("SHOW TimeZone")) == "UTC"
        assert conn.scalar(text("SHOW lock_timeout")) != "0"
        # Text cannot hold NUL on PostgreSQL: it is dropped, not an error.
        conn.execute(text("INSERT INTO kv(key, value) VALUES ('nul', :v)"), {"v": "a\x00b"})
        assert conn.scalar(text("SELECT value FROM kv WHERE key = 'nul'")) == "ab"
    engine.dispose()
    assert not (tmp_path / "unused.db").exists()  # no SQLite file beside a server database


def test_the_database_url_setting_takes_postgresql_or_nothing() -> None:
    assert Settings().database_url == ""
    url = "postgresql+psycopg://shop:pw@127.0.0.1:5432/chotdon"
    assert Settings(database_url=url).database_url == url
    for wrong in ("mysql://x/y", "sqlite:///tmp/x.db", "postgresql+psycopg2://h/d"):
        with pytest.raises(ValidationError):
            Settings(database_url=wrong)


def test_timestamps_are_utc_with_milliseconds() -> None:
    stamp = utcnow_iso()
    assert stamp.endswith("Z") and stamp[10] == "T" and len(stamp) == 24


@pytest.mark.postgres
def test_servers_starting_together_on_postgres_migrate_once(
    tmp_path: Path, postgres_url: str
) -> None:
    engines: list[object] = []
    errors: list[BaseException] = []
    start = threading.Barrier(3)

    def server() -> None:
        start.wait(timeout=10)
        try:
            engines.append(open_database(tmp_path / "unused.db", postgres_url))
        except BaseException as exc:  # reported below, with the others
            errors.append(exc)

    threads = [threading.Thread(target=server) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == [] and len(engines) == 3
    engine = open_database(tmp_path / "unused.db", postgres_url)
    with engine.connect() as conn:
        versions = conn.scalars(text("SELECT version FROM schema_migrations")).all()
    for each in [*engines, engine]:
        each.dispose()  # type: ignore[attr-defined]
    assert sorted(versions) == [v for v, _, _ in MIGRATIONS]


@pytest.mark.postgres
def test_a_row_held_past_the_lock_timeout_is_database_busy(
    tmp_path: Path, postgres_url: str
) -> None:
    engine = open_database(tmp_path / "unused.db", postgres_url)
    with engine.begin() as conn:
        conn.execute(
            products.insert().values(
                code="A1", name="x", price=1, unit="kg", stock=5, updated_at="x"
            )
        )
    writer = Writer(engine)
    try:
        with engine.connect() as holder:  # another program keeps the product row
            holder.execute(text("SELECT 1 FROM products WHERE code = 'A1' FOR UPDATE"))
            with pytest.raises(DatabaseBusy):
                asyncio.run(writer.write(lambda conn: reserve(conn, "A1", 1)))
            holder.rollback()
        assert asyncio.run(writer.write(lambda conn: reserve(conn, "A1", 1)))  # let go: it works
    finally:
        writer.close()
        engine.dispose()
