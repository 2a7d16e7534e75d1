"""PostgreSQL for the tests: a throwaway cluster that the test session starts itself.

The storage, order-book, ingestion and crash tests take the ``database_url``
fixture. In the modules of :data:`BOTH` it is parametrised: ``sqlite`` is the
empty URL (the SQLite file in the data folder, as in production by default),
``postgres`` a fresh database, created from ``template0`` for the one test and
dropped after it. Everywhere else it is the empty URL and nothing is started.

The cluster (Debian's ``postgresql`` package; ``scripts/system-deps.sh`` installs
it) lives in a temporary folder: ``initdb``, then ``pg_ctl start`` on a free
loopback port with its Unix socket in the same folder, stopped and deleted when
the session ends. PostgreSQL refuses to run as root, so as root (CI) it runs as
the ``postgres`` user through ``runuser``. It is started on the first test that
needs it, so a run that selects none of those tests pays nothing.

Environment:

- ``CHOTDON_TEST_POSTGRES=0`` skips the PostgreSQL variants (a laptop without
  PostgreSQL). Otherwise a cluster that cannot start FAILS those tests, with the
  reason: CI must not pass by silently skipping half of the storage tests.
- ``CHOTDON_TEST_DATABASE_URL=postgresql+psycopg://user@host:port/db`` uses that
  server instead of starting one; the user needs ``CREATEDB``.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

__all__ = [
    "BOTH",
    "Postgres",
    "database_url",
    "parametrize_databases",
    "postgres_server",
    "postgres_url",
    "url_of",
]

# Test modules (paths from the repository root; a folder takes all its modules)
# that run on both databases. The rest of the suite stays on SQLite: the CI budget.
BOTH = (
    "tests/server/test_db.py",
    "tests/server/test_shops.py",
    "tests/orders/",
    "tests/hardening/test_crash.py",
)
USER = "chotdon"
_names = itertools.count(1)


def url_of(data_dir: Path, database_url: str) -> str:
    """The SQLAlchemy URL of a test server's database, to read it from outside the server."""
    return database_url or f"sqlite:///{data_dir / 'chotdon.db'}"


def parametrize_databases(metafunc: pytest.Metafunc) -> None:
    """``pytest_generate_tests``: the two databases for the tests of :data:`BOTH`."""
    if "database_url" not in metafunc.fixturenames:
        return
    where = metafunc.definition.path.relative_to(metafunc.config.rootpath).as_posix()
    if not any(where == p or (p.endswith("/") and where.startswith(p)) for p in BOTH):
        return
    params = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
    metafunc.parametrize("database_url", params, indirect=True)


@dataclass
class Postgres:
    """A server the tests may create databases on, through ``admin_url``."""

    admin_url: str
    folder: Path | None = None  # ours to stop and delete; None: CHOTDON_TEST_DATABASE_URL
    as_user: tuple[str, ...] = ()
    bin_dir: Path | None = None

    def create(self) -> tuple[str, str]:
        """A new empty database: (its name, its URL)."""
        name = f"chotdon_test_{os.getpid()}_{next(_names)}"
        self._admin(f"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8'")
        url = self.admin_url.rsplit("/", 1)[0] + f"/{name}"
        return name, url

    def drop(self, name: str) -> None:
        # FORCE: a server child killed by the crash test may leave sessions behind.
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _admin(self, sql: str) -> None:
        engine = create_engine(self.admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        try:
            with engine.connect() as conn:
                conn.execute(text(sql))
        finally:
            engine.dispose()

    def stop(self) -> None:
        if self.folder is None or self.bin_dir is None:
            return
        data = self.folder / "data"
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            _run([*self.as_user, str(self.bin_dir / "pg_ctl"), "-D", str(data), "-m",
                  "immediate", "-w", "stop"])  # fmt: skip
        shutil.rmtree(self.folder, ignore_errors=True)


def _run(args: list[str]) -> None:
    subprocess.run(args, check=True, capture_output=True, timeout=120)


def find_bin_dir() -> Path | None:
    """Where ``initdb`` and ``pg_ctl`` are: the PATH, else Debian's newest version folder."""
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).resolve().parent
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    return versions[-1].parent if versions else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _run_as() -> tuple[str, ...]:
    """PostgreSQL will not run as root: as root, run it as the ``postgres`` user."""
    if os.geteuid() != 0:
        return ()
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise RuntimeError(
            "running as root and there is no 'postgres' user to run PostgreSQL as "
            "(Debian's postgresql package creates it: bash scripts/system-deps.sh)"
        ) from None
    return ("runuser", "-u", "postgres", "--")


def start_cluster() -> Postgres:
    """initdb + pg_ctl start in a temporary folder; raises RuntimeError saying what failed."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise RuntimeError(
            "PostgreSQL is not installed (no pg_ctl on PATH or in /usr/lib/postgresql/*/bin): "
            "run `bash scripts/system-deps.sh`, or set CHOTDON_TEST_POSTGRES=0 to skip"
        )
    as_user = _run_as()
    # Short path: the Unix socket's full name must fit in 107 bytes.
    folder = Path(tempfile.mkdtemp(prefix="chotdon-pg-"))
    if as_user:
        shutil.chown(folder, user="postgres")
    cluster = Postgres("", folder, as_user, bin_dir)
    data, port = folder / "data", _free_port()
    # C collation: ISO timestamps stored as text sort as they do in SQLite.
    initdb = [str(bin_dir / "initdb"), "-D", str(data), "-U", USER, "--auth=trust",
              "--no-locale", "-E", "UTF8", "--no-sync"]  # fmt: skip
    # No fsync: a killed server process loses nothing either way (the OS keeps
    # the files); only a power cut would, and a test cluster does not survive one.
    options = (f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -F "
               "-c full_page_writes=off -c max_connections=300")  # fmt: skip
    start = [str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(folder / "server.log"),
             "-w", "-t", "60", "-o", options, "start"]  # fmt: skip
    try:
        _run([*as_user, *initdb])
        _run([*as_user, *start])
    except (subprocess.SubprocessError, OSError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        log = folder / "server.log"
        tail = log.read_text(errors="replace")[-2000:] if log.is_file() else ""
        cluster.stop()
        raise RuntimeError(
            f"could not start PostgreSQL from {bin_dir}: {exc}\n"
            f"{detail.decode(errors='replace')}{tail}"
        ) from exc
    cluster.admin_url = f"postgresql+psycopg://{USER}@127.0.0.1:{port}/postgres"
    return cluster


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Postgres]:
    """The PostgreSQL server for the ``postgres`` variants; fails (never skips) unless told."""
    if os.environ.get("CHOTDON_TEST_POSTGRES", "1") == "0":
        pytest.skip("PostgreSQL variants skipped: CHOTDON_TEST_POSTGRES=0")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.fail(
            "psycopg is not installed: pip install -e '.[test]' "
            "(or CHOTDON_TEST_POSTGRES=0 to skip the PostgreSQL variants)",
            pytrace=False,
        )
    given = os.environ.get("CHOTDON_TEST_DATABASE_URL", "")
    if given:
        yield Postgres(given)
        return
    try:
        cluster = start_cluster()
    except RuntimeError as exc:
        pytest.fail(
            f"{exc}\n(CHOTDON_TEST_POSTGRES=0 skips the PostgreSQL variants)", pytrace=False
        )
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """What ``CHOTDON_DATABASE_URL`` the test's server uses: "" (SQLite) or a fresh database."""
    if getattr(request, "param", "sqlite") != "postgres":
        yield ""
        return
    yield from _fresh(request.getfixturevalue("postgres_server"))


@pytest.fixture
def postgres_url(postgres_server: Postgres) -> Iterator[str]:
    """A fresh PostgreSQL database, for the tests of what only PostgreSQL does."""
    yield from _fresh(postgres_server)


def _fresh(server: Postgres) -> Iterator[str]:
    name, url = server.create()
    try:
        yield url
    finally:
        server.drop(name)
