"""PostgreSQL, the second database chotdon runs on, and where it differs from SQLite.

``CHOTDON_DATABASE_URL=postgresql+psycopg://user:password@host/db`` (psycopg 3, the
optional ``postgres`` extra) puts the store on a PostgreSQL server; empty, it is
the SQLite file in the data folder (:func:`server.db.open_database`). The schema
and the statements are portable SQLAlchemy Core, and so are the choices that
keep them portable: times are UTC ISO strings (``utcnow_iso``), never the
database's clock or time zone; JSON is text written by :mod:`json`; buyers and
settings are real upserts (``INSERT ... ON CONFLICT``, :func:`upsert`), so two
workers inserting the same buyer at once cannot collide. What cannot be
portable lives here, per connection:

- **isolation**: READ COMMITTED, stated rather than assumed. Stock is reserved by
  ``UPDATE ... SET stock = stock - n WHERE code = c AND stock >= n``: a second
  buyer's UPDATE waits on the first one's row lock, then re-reads the committed
  row and finds the stock gone, so it changes no row and the line waits (see
  :mod:`server.orders.book`). Under REPEATABLE READ it would fail instead.
- **lock waits**: ``lock_timeout`` plays SQLite's ``busy_timeout``: a row or
  table held by another program past it raises SQLSTATE 55P03, which
  :func:`is_lock_timeout` recognises so the caller answers "busy, retry".
- **time zone**: the session runs in UTC, so nothing the server reads back
  depends on the machine it runs on.
- **NUL**: PostgreSQL text cannot hold U+0000 (SQLite can); strings are sent
  without it rather than failing a whole batch of comments for one stray byte.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine, Table, create_engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url

__all__ = [
    "conninfo",
    "is_lock_timeout",
    "is_postgres",
    "migration_lock",
    "postgres_engine",
    "safe_url",
    "upsert",
]

logger = logging.getLogger(__name__)
LOCK_NOT_AVAILABLE = "55P03"  # SQLSTATE of a statement that waited past lock_timeout
DRIVER = "postgresql+psycopg"
MIGRATION_LOCK = 0x63686F74  # "chot": the advisory lock the schema migrations hold


def postgres_engine(url: str, lock_timeout_s: float) -> Engine:
    """An engine on ``url`` (``postgresql://`` means psycopg 3 here, not psycopg2)."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername=DRIVER)
    try:
        import psycopg  # noqa: F401
    except ImportError as exc:
        raise RuntimeError(
            "CHOTDON_DATABASE_URL names PostgreSQL but psycopg is not installed: "
            "pip install 'chotdon[postgres]'"
        ) from exc
    options = f"-c lock_timeout={int(lock_timeout_s * 1000)} -c TimeZone=UTC"
    engine = create_engine(
        parsed,
        isolation_level="READ COMMITTED",
        pool_pre_ping=True,  # a restarted server: reconnect instead of failing a request
        connect_args={"options": options, "application_name": "chotdon"},
    )
    event.listen(engine, "connect", _without_nul)
    logger.info("database: %s", safe_url(url))
    return engine


@contextlib.contextmanager
def migration_lock(engine: Engine) -> Iterator[None]:
    """On PostgreSQL, hold a session advisory lock while the schema is migrated."""
    if not is_postgres(engine):
        yield
        return
    with engine.connect() as conn:
        # No lock_timeout here: another server's migrations are worth waiting for.
        conn.execute(text("SET lock_timeout = 0"))
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK})
        conn.commit()
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK})
            conn.execute(text("RESET lock_timeout"))
            conn.commit()


def upsert(bind: Any, table: Table) -> Any:
    """``INSERT`` into ``table`` that can take ``.on_conflict_do_update`` /
    ``.on_conflict_do_nothing``: the dialect's own (both spell it the same way)."""
    dialect = postgresql if is_postgres(bind) else sqlite
    return dialect.insert(table)


def safe_url(url: str) -> str:
    """``url`` for logs and messages: the password hidden."""
    return make_url(url).render_as_string(hide_password=True)


def is_postgres(bind: Any) -> bool:
    """Whether an engine or connection talks to PostgreSQL."""
    return bool(bind.dialect.name == "postgresql")


def is_lock_timeout(orig: BaseException | None) -> bool:
    """A DB-API error from a statement that waited past ``lock_timeout``."""
    return getattr(orig, "sqlstate", None) == LOCK_NOT_AVAILABLE


def _without_nul(dbapi_connection: Any, _record: Any) -> None:
    from psycopg.types.string import StrBinaryDumper, StrDumper, StrDumperUnknown

    adapters = dbapi_connection.adapters
    for base in (StrBinaryDumper, StrDumper, StrDumperUnknown):
        adapters.register_dumper(str, _nul_free(base))


_DUMPERS: dict[Any, type] = {}


def _nul_free(base: Any) -> type:
    """``base`` (a psycopg str dumper) that drops U+0000 first."""
    if base not in _DUMPERS:

        def dump(self: Any, obj: str) -> Any:
            return base.dump(self, obj.replace("\x00", "") if "\x00" in obj else obj)

        _DUMPERS[base] = type(f"NulFree{base.__name__}", (base,), {"dump": dump})
    return _DUMPERS[base]


def conninfo(url: str) -> str:
    """libpq's form of a SQLAlchemy URL (``postgresql+psycopg://`` becomes ``postgresql://``)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
