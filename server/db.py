"""Storage through SQLAlchemy 2 Core, with versioned migrations: SQLite by default,
PostgreSQL when ``database_url`` names one (the differences: :mod:`server.dialect`).

Why Core and not the ORM: the live server does a handful of small, hot writes
(an event, a stock change, a comment) and we want to see the exact SQL. Tables and
migrations are declared portably, so the same schema runs on both databases.

SQLite runs in WAL mode with ``synchronous=NORMAL``: a committed transaction
survives the process being killed (the case that matters during a live), and
readers never block the writer.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    inspect,
    select,
)
from sqlalchemy.exc import OperationalError

from .dialect import is_lock_timeout, migration_lock, postgres_engine
from .errors import DomainError

__all__ = [
    "BUSY_TIMEOUT_S",
    "MIGRATIONS",
    "DatabaseBusy",
    "Writer",
    "comments",
    "customers",
    "events",
    "kv",
    "live_log",
    "live_sessions",
    "metadata",
    "migrate",
    "open_database",
    "order_lines",
    "owner_only",
    "products",
    "review_decisions",
    "shops",
    "store_schema",
    "utcnow_iso",
    "variants",
]

logger = logging.getLogger(__name__)
metadata = MetaData()
T = TypeVar("T")

# How long a statement waits for another program's write lock (a DB browser,
# ``chotdon catalog import`` during a live) before the command gives up with a 503:
# long enough for a short import transaction, short enough for a helper to retry.
BUSY_TIMEOUT_S = 1.5
RETRY_AFTER_S = 2
GIL_SWITCH_S = 0.0005
# The longest a database job waits for a broadcast to be written (see Writer.pause):
# 50 sockets take about a millisecond; longer (a stuck phone, a starved machine) and
# the ingestion that waits behind would fall behind the comments.
QUIET_MAX_S = 0.005

products = Table(
    "products",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(16), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("price", Integer, nullable=False),
    Column("sale_price", Integer),
    Column("unit", String(20), nullable=False),
    Column("stock", Integer, nullable=False, default=0),
    Column("aliases", Text, nullable=False, default="[]"),
    Column("image", String(200)),
    Column("ocop_stars", Integer),
    Column("origin", Text, nullable=False, default=""),
    Column("position", Integer, nullable=False, default=0),
    Column("updated_at", String(32), nullable=False),
)

live_sessions = Table(
    "live_sessions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("title", String(200), nullable=False, default=""),
    Column("started_at", String(32), nullable=False),
    Column("stopped_at", String(32)),
)

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("session_id", Integer, ForeignKey("live_sessions.id"), nullable=False),
    Column("t", String(32), nullable=False),
    Column("type", String(40), nullable=False),
    Column("data", Text, nullable=False, default="{}"),
    Index("ix_events_session", "session_id", "id"),
)

kv = Table(
    "kv",
    metadata,
    Column("key", String(100), primary_key=True),
    Column("value", Text, nullable=False),
)

customers = Table(
    "customers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("platform", String(20), nullable=False),
    Column("handle", String(200), nullable=False),
    Column("nickname", String(200), nullable=False, default=""),
    Column("phone", String(20)),
    Column("address", Text, nullable=False, default=""),
    Column("notes", Text, nullable=False, default=""),
    Column("bom", Integer, nullable=False, default=0),
    Column("created_at", String(32), nullable=False),
    UniqueConstraint("platform", "handle", name="uq_customer_handle"),
)

comments = Table(
    "comments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("platform", String(20), nullable=False),
    Column("message_id", String(200), nullable=False),
    Column("session_id", Integer, ForeignKey("live_sessions.id")),
    Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False),
    Column("nickname", String(200), nullable=False, default=""),
    Column("text", Text, nullable=False, default=""),
    Column("ts", String(32)),
    Column("received_at", String(32), nullable=False),
    Column("intent", String(20)),
    Column("parse", Text),
    Column("status", String(20), nullable=False, default="new"),
    UniqueConstraint("platform", "message_id", name="uq_comment_message"),
    Index("ix_comments_session", "session_id", "id"),
)

order_lines = Table(
    "order_lines",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("session_id", Integer, ForeignKey("live_sessions.id")),
    Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False),
    Column("comment_id", Integer, ForeignKey("comments.id")),
    Column("code", String(16), nullable=False),
    Column("qty", Float, nullable=False),
    Column("unit_price", Integer, nullable=False),
    Column("status", String(20), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
    Column("variant", String(16)),  # the variant's key (migration 5); None: the product
    Index("ix_order_lines_session", "session_id", "id"),
    Index("ix_order_lines_customer", "customer_id"),
)

# A helper's answer to a parse in the review queue: a labelled example for
# `chotdon parse --eval` (server/orders/decisions.py).
review_decisions = Table(
    "review_decisions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("comment_id", Integer, ForeignKey("comments.id"), nullable=False),
    Column("session_id", Integer, ForeignKey("live_sessions.id")),
    Column("action", String(10), nullable=False),  # confirm | edit | reject
    Column("text", Text, nullable=False),
    Column("pinned", String(16)),
    Column("parse", Text, nullable=False, default="{}"),
    Column("intent", String(20), nullable=False),  # the helper's answer
    Column("items", Text, nullable=False, default="[]"),
    Column("decided_at", String(32), nullable=False),
    Index("ix_review_decisions_comment", "comment_id"),
)

# A product's variants (colour, size, pack): their own name, aliases, price and stock.
variants = Table(
    "variants",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "product_code",
        String(16),
        ForeignKey("products.code", ondelete="CASCADE", onupdate="CASCADE"),
        nullable=False,
    ),
    Column("key", String(16), nullable=False),
    Column("name", String(200), nullable=False),
    Column("aliases", Text, nullable=False, default="[]"),
    Column("price", Integer, nullable=False),
    Column("sale_price", Integer),
    Column("stock", Integer, nullable=False, default=0),
    Column("position", Integer, nullable=False, default=0),
    UniqueConstraint("product_code", "key", name="uq_variant_key"),
)

# The recent numbered updates of each shop's on-air state, exactly as sent, so that
# the other workers on the same PostgreSQL database can send them to their own
# sockets when poked (server.fanout). Pruned as it grows; SQLite never writes it.
live_log = Table(
    "live_log",
    metadata,
    Column("shop", String(64), primary_key=True),
    Column("rev", Integer, primary_key=True, autoincrement=False),
    Column("origin", String(32), nullable=False),
    Column("message", Text, nullable=False),
)

# The shops this store serves (migration 7). Only the main store's table is read
# (the default shop's database; see server.shops); each shop's own catalog, sessions,
# comments, orders, buyers and live state live in its own store, so a query never
# needs a shop filter to stay inside its shop. Row 1 is the default shop, whose
# secrets stay in secrets.json; other shops' secrets are kept here.
shops = Table(
    "shops",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("slug", String(40), nullable=False, unique=True),
    Column("name", String(100), nullable=False, default=""),
    Column("helper_token", String(100), unique=True),
    Column("overlay_key", String(100), unique=True),
    Column("created_at", String(32), nullable=False),
)

_migrations = Table(
    "schema_migrations",
    MetaData(),
    Column("version", Integer, primary_key=True),
    Column("name", String(100), nullable=False),
    Column("applied_at", String(32), nullable=False),
)


def _create(*tables: Table) -> Callable[[Connection], None]:
    def apply(conn: Connection) -> None:
        metadata.create_all(conn, tables=list(tables))

    return apply


def _order_book_indexes(conn: Connection) -> None:
    # The panel asks for the review queue, the questions and a product's waitlist
    # many times a minute; without these each is a scan of every comment ever stored.
    conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS ix_comments_status ON comments (status, id)")
    conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS ix_comments_intent ON comments (intent, id)")
    conn.exec_driver_sql(
        "CREATE INDEX IF NOT EXISTS ix_order_lines_code_status ON order_lines (code, status)"
    )


def _variants(conn: Connection) -> None:
    metadata.create_all(conn, tables=[variants])
    # Databases made before migration 5 lack the column; new ones got it in migration 2.
    columns = {column["name"] for column in inspect(conn).get_columns("order_lines")}
    if "variant" not in columns:
        conn.exec_driver_sql("ALTER TABLE order_lines ADD COLUMN variant VARCHAR(16)")


def _shops(conn: Connection) -> None:
    metadata.create_all(conn, tables=[shops])
    # Everything stored before shops existed belongs to the default shop: its rows
    # stay where they are, in this store.
    # No explicit id: the new table's first row is 1 on both databases, and
    # PostgreSQL's sequence then goes on from it.
    row = conn.execute(shops.insert().values(slug="default", name="", created_at=utcnow_iso()))
    assert row.inserted_primary_key == (1,)


# Append only: a released migration is never edited, a new one is added.
MIGRATIONS: list[tuple[int, str, Callable[[Connection], None]]] = [
    (1, "catalog, sessions, event log", _create(products, live_sessions, events, kv)),
    (2, "comments, customers, orders", _create(customers, comments, order_lines)),
    (3, "order book indexes", _order_book_indexes),
    (4, "review decisions", _create(review_decisions)),
    (5, "product variants", _variants),
    (6, "live update log for several workers", _create(live_log)),
    (7, "shops", _shops),
]


def utcnow_iso(now: datetime | None = None) -> str:
    """UTC time as ``2026-11-20T12:00:03.120Z`` (what the event log and the API carry)."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
    cursor.close()


class DatabaseBusy(DomainError):
    """Another program holds the database's write lock; the edges answer 503 + Retry-After."""

    status = 503
    retry_after = RETRY_AFTER_S

    def __init__(self, message: str = "the database is busy (another program holds it)") -> None:
        super().__init__(message)


_BUSY_CODES = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def is_busy(exc: BaseException) -> bool:
    """SQLITE_BUSY or SQLITE_LOCKED (extended codes included), or PostgreSQL's
    ``lock_timeout`` (SQLSTATE 55P03), as SQLAlchemy wraps them."""
    orig = exc.orig if isinstance(exc, OperationalError) else exc
    if is_lock_timeout(orig):  # PostgreSQL's lock_timeout, its busy_timeout
        return True
    if not isinstance(orig, sqlite3.OperationalError):
        return False
    code = getattr(orig, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF in _BUSY_CODES
    return "locked" in str(orig) or "busy" in str(orig)


class Writer:
    """The one thread that runs write transactions, so the event loop never waits on SQLite.

    One thread, not a pool: SQLite takes one writer at a time anyway, and jobs
    run in the order they were submitted. A job that finds the database held by
    another program past the busy timeout raises :class:`DatabaseBusy`.

    While the loop writes a broadcast to the sockets, new jobs (reads included) wait
    before they start (:meth:`pause`, :meth:`resume`, :data:`QUIET_MAX_S` at most):
    every socket write releases the GIL for its system call, and a job running
    Python in this thread would then keep the loop waiting for the GIL up to the
    switch interval after each of the 50 or 200 writes.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="chotdon-db-writer")
        self._open = threading.Event()
        self._open.set()
        # While this thread runs Python code (SQLAlchemy), the loop waits up to the
        # GIL switch interval each time it wants the GIL back, after every socket
        # write or poll: 5 ms by default, too long for the overlays' updates.
        if sys.getswitchinterval() > GIL_SWITCH_S:
            sys.setswitchinterval(GIL_SWITCH_S)

    def pause(self) -> None:
        """Hold jobs that have not started yet (a broadcast is being written)."""
        self._open.clear()

    def resume(self) -> None:
        self._open.set()

    async def run(self, job: Callable[[], T]) -> T:
        """Run ``job`` in the writer thread and wait for it without blocking the loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._gated, job)

    def _gated(self, job: Callable[[], T]) -> T:
        self._open.wait(QUIET_MAX_S)
        return _busy_to_domain(job)

    async def write(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in one transaction in the writer thread."""

        def job() -> T:
            with self.engine.begin() as conn:
                return work(conn)

        return await self.run(job)

    async def read(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` on a read connection in a worker thread (WAL: never waits on writers)."""

        def job() -> T:
            with self.engine.connect() as conn:
                return work(conn)

        return await asyncio.to_thread(self._gated, job)

    def close(self) -> None:
        self._pool.shutdown(wait=True)


def _busy_to_domain(job: Callable[[], T]) -> T:
    try:
        return job()
    except OperationalError as exc:
        if is_busy(exc):
            logger.warning("database busy: %s", exc.orig)
            raise DatabaseBusy() from exc
        raise


def owner_only(path: Path) -> None:
    """Make the database file and its -wal/-shm readable by the owner only (POSIX).

    The file is created 0600 before SQLite opens it, because SQLite gives the
    -wal and -shm files it creates the database file's mode; files left by an
    older version are tightened too.
    """
    if os.name != "posix":
        return
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    for name in (path.name, f"{path.name}-wal", f"{path.name}-shm", f"{path.name}-journal"):
        file = path.with_name(name)
        try:
            if file.exists() and file.stat().st_mode & 0o077:
                os.chmod(file, 0o600)
        except PermissionError:
            logger.warning("%s is readable by other users and not ours to change", file)


def open_database(path: Path, url: str = "") -> Engine:
    """Open the store and bring its schema up to date: the SQLite file at ``path``
    (created if needed), or the PostgreSQL database at ``url`` when one is given."""
    if url:
        engine = postgres_engine(url, lock_timeout_s=BUSY_TIMEOUT_S)
    else:
        owner_only(path)
        engine = create_engine(f"sqlite:///{path}", pool_pre_ping=False)
        event.listen(engine, "connect", _sqlite_pragmas)
    try:
        migrate(engine)
    except BaseException:
        engine.dispose()  # no pooled connection left open behind a failed start
        raise
    return engine


def migrate(engine: Engine) -> list[int]:
    """Apply pending migrations, each in its own transaction; returns the versions applied.

    One process at a time: servers starting together on one PostgreSQL database wait
    for each other here (SQLite: the data folder's lock already keeps to one server).
    """
    with migration_lock(engine):
        return _migrate(engine)


def store_schema(bind: Engine | Connection) -> str | None:
    """The PostgreSQL schema a shop's store lives in (``None``: the default one)."""
    mapping = bind.get_execution_options().get("schema_translate_map") or {}
    schema: str | None = mapping.get(None)
    return schema


def _use_schema(conn: Connection) -> None:
    # Tables follow the engine's schema_translate_map; the few raw statements of the
    # migrations (CREATE INDEX, ALTER TABLE) and the inspector follow search_path.
    schema = store_schema(conn)
    if schema is not None:
        conn.exec_driver_sql(f'SET LOCAL search_path TO "{schema}"')


def _migrate(engine: Engine) -> list[int]:
    schema = store_schema(engine)
    if schema is not None:
        with engine.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    _migrations.create(engine, checkfirst=True)
    with engine.connect() as conn:
        done = set(conn.scalars(select(_migrations.c.version)))
    applied: list[int] = []
    for version, name, apply in MIGRATIONS:
        if version in done:
            continue
        with engine.begin() as conn:
            _use_schema(conn)
            apply(conn)
            conn.execute(
                _migrations.insert().values(version=version, name=name, applied_at=utcnow_iso())
            )
        logger.info("applied migration %d: %s", version, name)
        applied.append(version)
    return applied
