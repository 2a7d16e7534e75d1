from __future__ import annotations

from pathlib import Path

from sqlalchemy import select, text

from server.db import MIGRATIONS, migrate, open_database, utcnow_iso


def test_database_is_wal_with_every_migration_recorded(tmp_path: Path) -> None:
    engine = open_database(tmp_path / "c.db")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        versions = (
            conn.execute(text("SELECT version FROM schema_migrations ORDER BY version"))
            .scalars()
            .all()
        )
    assert versions == [v for v, _, _ in MIGRATIONS]


def test_migrations_run_once_and_data_survives_reopening(tmp_path: Path) -> None:
    engine = open_database(tmp_path / "c.db")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO kv(key, value) VALUES ('k', 'v')"))
    assert migrate(engine) == []
    engine.dispose()
    again = open_database(tmp_path / "c.db")
    with again.connect() as conn:
        assert conn.execute(text("SELECT value FROM kv WHERE key='k'")).scalar() == "v"
        assert len(
            conn.execute(select(text("1")).select_from(text("schema_migrations"))).all()
        ) == len(MIGRATIONS)


def test_timestamps_are_utc_with_milliseconds() -> None:
    stamp = utcnow_iso()
    assert stamp.endswith("Z") and stamp[10] == "T" and len(stamp) == 24
