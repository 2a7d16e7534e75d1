"""One server per data folder, and owner-only files (server.datalock, server.db, server.auth)."""

from __future__ import annotations

import os
import sqlite3
import stat
import time
from pathlib import Path

import pytest

from server.datalock import DataFolderBusy, DataLock
from server.db import open_database

from .launch import Child, unprivileged


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_second_server_on_the_same_folder_exits_naming_folder_and_holder(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = Child(data, tmp_path / "first.log")
    second = Child(data, tmp_path / "second.log")
    try:
        first.launch().wait_ready(deadline_s=30)
        code = second.launch().wait_exit(timeout=30)
        out = second.output()
        assert code != 0, out
        assert str(data) in out
        assert f"process {first.pid}" in out
        assert "Traceback" not in out
        assert first.exited() is None and first.ready()  # the first keeps serving
    finally:
        second.stop()
        first.stop()


def test_two_servers_started_together_exactly_one_keeps_running(tmp_path: Path) -> None:
    data = tmp_path / "fresh"  # does not exist yet: both race to create it
    a = Child(data, tmp_path / "a.log")
    b = Child(data, tmp_path / "b.log")
    try:
        a.launch()
        b.launch()
        deadline = time.monotonic() + 30
        while a.exited() is None and b.exited() is None:
            assert time.monotonic() < deadline, a.output() + b.output()
            if a.ready() and b.ready():
                pytest.fail("both servers answer on one data folder")
            time.sleep(0.05)  # polling interval of two independent children
        loser, winner = (a, b) if a.exited() is not None else (b, a)
        out = loser.output()
        assert loser.exited() != 0, out
        assert "Traceback" not in out and "IntegrityError" not in out, out
        assert "in use by another chotdon server" in out, out
        assert str(winner.pid) in out, out
        winner.wait_ready(deadline_s=30)
        assert winner.exited() is None
    finally:
        a.stop()
        b.stop()


def test_database_wal_and_secrets_are_owner_only_on_a_running_server(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = Child(data, tmp_path / "server.log")
    try:
        server.launch().wait_ready(deadline_s=30)
        assert mode(data) == 0o700
        for name in ("chotdon.db", "chotdon.db-wal", "secrets.json"):
            assert mode(data / name) == 0o600, name
        assert (data / "chotdon.lock").read_text().strip() == str(server.pid)
    finally:
        server.stop()


def test_an_older_world_readable_database_is_tightened_on_open(tmp_path: Path) -> None:
    path = tmp_path / "chotdon.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (x)")
    conn.close()
    os.chmod(path, 0o644)
    engine = open_database(path)
    try:
        with engine.connect() as c:
            c.exec_driver_sql("SELECT 1")
            wal = path.with_name("chotdon.db-wal")
            assert wal.exists()  # WAL mode: SQLite gives it the database file's mode
            assert mode(wal) == 0o600
        assert mode(path) == 0o600
    finally:
        engine.dispose()


def test_the_lock_names_its_holder_and_is_free_again_after_release(tmp_path: Path) -> None:
    lock = DataLock.acquire(tmp_path)
    try:
        with pytest.raises(DataFolderBusy) as busy:
            DataLock.acquire(tmp_path)  # flock: a second open file description conflicts
        assert busy.value.pid == os.getpid()
        assert str(tmp_path) in busy.value.message
    finally:
        lock.release()
    with DataLock.acquire(tmp_path):
        pass


@pytest.mark.parametrize("read_only", ["folder", "database"])
def test_a_read_only_data_folder_is_refused_with_a_clear_message(
    tmp_path: Path, read_only: str
) -> None:
    data = tmp_path / "data"
    (data / "images").mkdir(parents=True)
    open_database(data / "chotdon.db").dispose()
    os.chmod(data / "chotdon.db", 0o444)
    if read_only == "folder":
        os.chmod(data / "images", 0o555)
        os.chmod(data, 0o555)
    server = Child(data, tmp_path / "server.log", prefix=tuple(unprivileged()))
    try:
        code = server.launch().wait_exit(timeout=30)
        out = server.output()
        assert code != 0, out
        assert f"the data folder {data} is read-only" in out, out
        name = "chotdon.lock" if read_only == "folder" else "chotdon.db"
        assert f"cannot write {data / name}" in out, out
        assert "Traceback" not in out, out
    finally:
        server.stop()
        for path in (data, data / "images", data / "chotdon.db"):
            os.chmod(path, 0o700 if path.is_dir() else 0o600)
