"""Clip jobs on PostgreSQL: a queue (procrastinate) that render workers on any machine take.

On SQLite (the laptop) the server runs the studio's jobs itself, in one thread
(:mod:`server.studio_jobs`). On PostgreSQL the server only queues them: a job is a
row of ``studio_jobs`` (what the /studio page shows: status, progress, error, the
attempts) in the shop's own store, plus a procrastinate job carrying the row's id
and the shop's slug (the row's spec is what :func:`server.studio_work.execute` runs;
a worker opens each shop's store on its first job, :class:`ShopStores`).
``chotdon render-worker`` runs :func:`run_worker`, a procrastinate worker, on this
machine or another one that reaches the same database and sees the same folders
(docs/studio.md).

A worker killed mid-job (a power cut, ``kill -9``, out of memory) stops sending its
heartbeat; any other worker finds the job stalled after ``stalled_after`` seconds
(:func:`recover_stalled`, at its start and then every ``check_every`` seconds) and
queues it again, up to :data:`MAX_ATTEMPTS` runs in all, then fails it with the
reason. A render writes ``<clip>.part.mp4`` and renames it when done, so a
half-written clip never replaces a good one.

procrastinate (MIT) and psycopg 3 (LGPL-3.0) are the optional ``hub`` extra:
imported here only, and only when the server runs on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
    select,
    text,
    update,
)

from .db import utcnow_iso
from .dialect import conninfo, migration_lock
from .errors import DomainError
from .fanout import DEFAULT_SHOP
from .studio_jobs import job_view
from .studio_work import Store, execute

__all__ = [
    "MAX_ATTEMPTS",
    "QUEUE",
    "JobsUnavailable",
    "NoQueue",
    "QueueRunner",
    "QueuedJob",
    "ShopStores",
    "available",
    "ensure_schema",
    "recover_stalled",
    "run_job",
    "run_worker",
]

logger = logging.getLogger(__name__)

QUEUE = "chotdon-studio"
TASK = "chotdon.studio.run"
MAX_ATTEMPTS = 3  # runs of one job, counting those a dead worker never finished
PROGRESS_STEP = 0.01  # a progress write at most every 1 %: under 200 writes a job
LIVE = ("queued", "running")
LIVE_WORKER_S = 60.0  # a worker heard from this recently counts as running

_metadata = MetaData()
studio_jobs = Table(
    "studio_jobs",
    _metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(10), nullable=False),  # plan | render
    Column("session_id", Integer, nullable=False, index=True),
    Column("clip_id", String(40)),
    Column("status", String(10), nullable=False),  # queued | running | done | failed
    Column("progress", Float, nullable=False, default=0.0),
    Column("spec", Text, nullable=False),  # what to do: server.studio_work.execute's JSON
    Column("clips", Text, nullable=False, default="{}"),  # clip id -> render progress
    Column("error", Text),
    Column("attempts", Integer, nullable=False, default=0),
    Column("worker", String(100)),
    Column("queue_job", Integer),  # procrastinate's job id
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
)


MISSING = "clip jobs on PostgreSQL need procrastinate: pip install 'chotdon[hub]'"


def _require() -> Any:
    try:
        import procrastinate
    except ImportError as exc:
        raise RuntimeError(MISSING) from exc
    return procrastinate


def available() -> bool:
    """Whether the queue can be used: the ``hub`` extra is installed."""
    try:
        _require()
    except RuntimeError:
        return False
    return True


class JobsUnavailable(DomainError):
    status = 503


class NoQueue:
    """PostgreSQL without the ``hub`` extra: the server runs and the studio shows its
    clips, but a new job is refused with the way out, never queued where no one runs it."""

    def submit(
        self, kind: str, session_id: int, spec: dict[str, Any], clip_id: str | None = None
    ) -> QueuedJob:
        raise JobsUnavailable(MISSING, field="job")

    def get(self, job_id: int) -> QueuedJob | None:
        return None

    def active(self, session_id: int) -> list[QueuedJob]:
        return []

    def latest(self, session_id: int) -> QueuedJob | None:
        return None

    def clip_progress(self, session_id: int) -> dict[str, float]:
        return {}

    def live_workers(self) -> int:
        return 0

    def close(self) -> None:
        pass


def ensure_schema(engine: Engine) -> None:
    """procrastinate's tables and ``studio_jobs``, created once, under the migration lock."""
    _require()
    from procrastinate.schema import SchemaManager

    with migration_lock(engine):
        _metadata.create_all(engine, checkfirst=True)
        with engine.connect() as conn:
            present = conn.scalar(text("SELECT to_regclass('procrastinate_jobs') IS NOT NULL"))
        if present:
            return
        raw = engine.raw_connection()
        try:
            # The driver's own execute: the schema's "%" must reach the server as written.
            raw.driver_connection.execute(SchemaManager.get_schema())  # type: ignore[union-attr]
            raw.commit()
        finally:
            raw.close()
        logger.info("procrastinate schema applied")


@dataclass(frozen=True)
class QueuedJob:
    """A ``studio_jobs`` row, shown as the in-process runner shows its jobs."""

    id: int
    kind: str
    session_id: int
    clip_id: str | None
    status: str
    progress: float
    error: str | None
    attempts: int
    worker: str | None

    def to_json(self) -> dict[str, Any]:
        return {**job_view(self), "attempts": self.attempts, "worker": self.worker}


def _job(row: Any) -> QueuedJob:
    return QueuedJob(
        row.id,
        row.kind,
        row.session_id,
        row.clip_id,
        row.status,
        row.progress,
        row.error,
        row.attempts,
        row.worker,
    )


def _set(engine: Engine, job_id: int, **values: Any) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(studio_jobs)
            .where(studio_jobs.c.id == job_id)
            .values(**values, updated_at=utcnow_iso())
        )


class QueueRunner:
    """The server's side: queue a job, and read the jobs' rows for the page."""

    def __init__(
        self, engine: Engine, url: str, shop: str = DEFAULT_SHOP, shared: QueueRunner | None = None
    ) -> None:
        """``engine`` is shop ``shop``'s store (its job rows live there); ``shared`` is
        another shop's runner whose queue connections this one uses, so a worker's
        connections to the queue do not grow with its shops."""
        procrastinate = _require()
        ensure_schema(engine)
        self._engine = engine
        self._shop = shop
        self._owner = shared is None
        self._app: Any
        if shared is not None:
            self._app = shared._app
            return
        connector = procrastinate.SyncPsycopgConnector(
            conninfo=conninfo(url), min_size=1, max_size=4
        )
        self._app = procrastinate.App(connector=connector)
        self._app.open()

    def submit(
        self, kind: str, session_id: int, spec: dict[str, Any], clip_id: str | None = None
    ) -> QueuedJob:
        now = utcnow_iso()
        with self._engine.begin() as conn:
            job_id: int = conn.execute(
                insert(studio_jobs)
                .returning(studio_jobs.c.id)
                .values(
                    kind=kind,
                    session_id=session_id,
                    clip_id=clip_id,
                    status="queued",
                    progress=0.0,
                    spec=json.dumps(spec, ensure_ascii=False),
                    clips="{}",
                    attempts=0,
                    created_at=now,
                    updated_at=now,
                )
            ).scalar_one()
        try:
            deferrer = self._app.configure_task(name=TASK, queue=QUEUE)
            # The spec stays in the row, in the shop's store: the worker opens that one.
            queue_job = deferrer.defer(job=job_id, shop=self._shop)
        except Exception as exc:
            _set(self._engine, job_id, status="failed", error=f"could not queue: {exc}")
            raise
        _set(self._engine, job_id, queue_job=queue_job)
        found = self.get(job_id)
        assert found is not None
        return found

    def get(self, job_id: int) -> QueuedJob | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(studio_jobs).where(studio_jobs.c.id == job_id)).first()
        return _job(row) if row is not None else None

    def active(self, session_id: int) -> list[QueuedJob]:
        query = select(studio_jobs).where(
            studio_jobs.c.session_id == session_id, studio_jobs.c.status.in_(LIVE)
        )
        with self._engine.connect() as conn:
            return [_job(r) for r in conn.execute(query.order_by(studio_jobs.c.id))]

    def latest(self, session_id: int) -> QueuedJob | None:
        query = (
            select(studio_jobs)
            .where(studio_jobs.c.session_id == session_id)
            .order_by(studio_jobs.c.id.desc())
            .limit(1)
        )
        with self._engine.connect() as conn:
            row = conn.execute(query).first()
        return _job(row) if row is not None else None

    def clip_progress(self, session_id: int) -> dict[str, float]:
        """Each clip's render progress, from the session's running jobs."""
        query = select(studio_jobs.c.clips).where(
            studio_jobs.c.session_id == session_id, studio_jobs.c.status == "running"
        )
        progress: dict[str, float] = {}
        with self._engine.connect() as conn:
            for clips in conn.scalars(query):
                progress.update(json.loads(clips))
        return progress

    def live_workers(self) -> int:
        """Render workers that sent a heartbeat in the last minute (the database's clock
        on both sides): 0 tells the page that a queued job waits for a worker to start."""
        query = text(
            "SELECT count(*) FROM procrastinate_workers "
            "WHERE last_heartbeat > now() - make_interval(secs => :secs)"
        )
        with self._engine.connect() as conn:
            return int(conn.scalar(query, {"secs": LIVE_WORKER_S}) or 0)

    def close(self) -> None:
        if self._owner:
            self._app.close()


# -- the worker's side -------------------------------------------------------------------


class _Reporter:
    """The job's progress into its row, a write per percent at most."""

    def __init__(self, engine: Engine, job_id: int, store: Store) -> None:
        self.engine, self.job_id, self.store = engine, job_id, store
        self.written = -1.0

    def __call__(self, value: float) -> None:
        value = min(max(value, 0.0), 1.0)
        if value - self.written < PROGRESS_STEP:
            return
        self.written = value
        clips = {k: round(v, 3) for k, v in self.store.progress.items()}
        _set(self.engine, self.job_id, progress=value, clips=json.dumps(clips))


def run_job(engine: Engine, store: Store, job_id: int, worker: str) -> None:
    """One job, run by a worker: its row says running, then done or failed with why."""
    row = _row(engine, job_id)
    if row is None:  # deleted by hand since it was queued: nothing to do
        logger.warning("studio job %d is gone; skipped", job_id)
        return
    spec = json.loads(row.spec)
    with engine.begin() as conn:
        conn.execute(
            update(studio_jobs)
            .where(studio_jobs.c.id == job_id)
            .values(
                status="running",
                progress=0.0,
                error=None,
                worker=worker,
                attempts=studio_jobs.c.attempts + 1,
                updated_at=utcnow_iso(),
            )
        )
    try:
        execute(spec, store, engine, _Reporter(engine, job_id, store))
    except Exception as exc:
        logger.exception("studio job %d failed", job_id)
        _set(engine, job_id, status="failed", error=str(exc) or type(exc).__name__, clips="{}")
        raise
    _set(engine, job_id, status="done", progress=1.0, clips="{}")


async def recover_stalled(
    app: Any, stores: Callable[[str], Engine], stalled_after: float
) -> list[int]:
    """Queue again the jobs of workers silent for ``stalled_after`` seconds (or fail
    those already run :data:`MAX_ATTEMPTS` times); returns the studio job ids.
    ``stores`` gives a shop's store (by slug), where its job rows are."""
    _require()
    from procrastinate.jobs import Status

    stalled = await app.job_manager.get_stalled_jobs(
        seconds_since_heartbeat=stalled_after, queue=QUEUE
    )
    touched = []
    for job in stalled:
        job_id = int(job.task_kwargs["job"])
        engine = await asyncio.to_thread(stores, str(job.task_kwargs.get("shop", DEFAULT_SHOP)))
        row = await asyncio.to_thread(_row, engine, job_id)
        attempts = row.attempts if row is not None else 0
        if attempts >= MAX_ATTEMPTS:
            await app.job_manager.finish_job(job, status=Status.FAILED, delete_job=False)
            why = f"a render worker stopped during each of its {attempts} runs; not retried"
            await asyncio.to_thread(_set, engine, job_id, status="failed", error=why, clips="{}")
            logger.error("studio job %d: %s", job_id, why)
        else:
            await app.job_manager.retry_job(job)
            why = f"render worker {row.worker if row else '?'} stopped during the job; queued again"
            await asyncio.to_thread(_set, engine, job_id, status="queued", error=why, clips="{}")
            logger.warning("studio job %d: %s", job_id, why)
        touched.append(job_id)
    return touched


def _row(engine: Engine, job_id: int) -> Any:
    with engine.connect() as conn:
        return conn.execute(select(studio_jobs).where(studio_jobs.c.id == job_id)).first()


@dataclass(frozen=True)
class WorkerOptions:
    name: str
    stalled_after: float = 30.0  # seconds without a heartbeat before a job is taken back
    heartbeat: float = 10.0
    check_every: float = 15.0  # how often stalled jobs are looked for
    poll: float = 5.0  # fallback poll for new jobs (LISTEN/NOTIFY wakes the worker first)


class ShopStores:
    """Each shop's store and studio files for a render worker, opened on its first job
    (a shop added after the worker started is found then)."""

    def __init__(self, main: Engine, data_dir: Path) -> None:
        self.main, self.data_dir = main, data_dir
        self._opened: dict[str, tuple[Engine, Store]] = {}
        self._lock = threading.Lock()

    def get(self, slug: str) -> tuple[Engine, Store]:
        with self._lock:
            found = self._opened.get(slug)
            if found is None:
                found = self._opened[slug] = self._open(slug)
            return found

    def engine(self, slug: str) -> Engine:
        return self.get(slug)[0]

    def _open(self, slug: str) -> tuple[Engine, Store]:
        from .shops import list_shops, open_shop_store, shop_data_dir

        with self.main.connect() as conn:
            shop = next((s for s in list_shops(conn) if s.slug == slug), None)
        if shop is None:
            raise LookupError(f"no shop {slug!r} in this database")
        folder = shop_data_dir(self.data_dir, shop)
        return open_shop_store(self.main, folder, shop), Store(folder, shared=True)


def run_worker(engine: Engine, url: str, data_dir: Path, options: WorkerOptions) -> None:
    """Take and run clip jobs until SIGINT/SIGTERM (the running job finishes first)."""
    procrastinate = _require()
    ensure_schema(engine)
    stores = ShopStores(engine, data_dir)
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=conninfo(url)))

    @app.task(name=TASK, queue=QUEUE)
    def run(job: int, shop: str = DEFAULT_SHOP) -> None:
        store_engine, store = stores.get(shop)
        run_job(store_engine, store, job, options.name)

    asyncio.run(_serve(app, stores.engine, options))


async def _serve(app: Any, stores: Callable[[str], Engine], options: WorkerOptions) -> None:
    async with app.open_async():
        watcher = asyncio.create_task(_watch(app, stores, options))
        try:
            await app.run_worker_async(
                queues=[QUEUE],
                name=options.name,
                concurrency=1,  # a render uses ffmpeg's threads: one job at a time
                update_heartbeat_interval=options.heartbeat,
                stalled_worker_timeout=options.stalled_after,
                fetch_job_polling_interval=options.poll,
            )
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher


async def _watch(app: Any, stores: Callable[[str], Engine], options: WorkerOptions) -> None:
    while True:
        try:
            await recover_stalled(app, stores, options.stalled_after)
        except Exception:  # a failed look is retried on the next round, never fatal
            logger.exception("looking for stalled studio jobs failed")
        await asyncio.sleep(options.check_every)  # a period, not a synchronisation
