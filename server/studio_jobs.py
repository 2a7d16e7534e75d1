"""Background jobs for the clip studio: planning and rendering off the request.

One worker thread runs the jobs in order (a render already uses ffmpeg's threads,
and the laptop has two cores to share with the live). Jobs live in memory: what
they produce, the clips' status, is written to the session's state file as they
go, so a closed tab loses nothing and a restarted server shows the last state.
The runner belongs to the app: started and stopped by ``server.studio_api``'s
router lifespan, which FastAPI merges into the app's.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

__all__ = ["Job", "JobRunner", "Work", "job_view"]

logger = logging.getLogger(__name__)

JobStatus = Literal["queued", "running", "done", "failed"]
# The work gets a callback taking the progress, 0..1.
Work = Callable[[Callable[[float], None]], None]
KEPT_JOBS = 200  # finished jobs remembered for GET /api/jobs/{id}


@dataclass
class Job:
    id: int
    kind: str  # plan | render
    session_id: int
    clip_id: str | None = None
    status: JobStatus = "queued"
    progress: float = 0.0
    error: str | None = None
    done: threading.Event = field(default_factory=threading.Event, repr=False)

    def to_json(self) -> dict[str, Any]:
        return job_view(self)


class _JobFields(Protocol):
    """What :func:`job_view` reads (read-only, so either job class fits)."""

    @property
    def id(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def session_id(self) -> int: ...
    @property
    def clip_id(self) -> str | None: ...
    @property
    def status(self) -> str: ...
    @property
    def progress(self) -> float: ...
    @property
    def error(self) -> str | None: ...


def job_view(job: _JobFields) -> dict[str, Any]:
    """A job as the studio page reads it, whichever runner (here or a queue) holds it."""
    return {
        "id": job.id,
        "kind": job.kind,
        "session": job.session_id,
        "clip": job.clip_id,
        "status": job.status,
        "progress": round(job.progress, 3),
        "error": job.error,
    }


class JobRunner:
    """A queue of jobs and the one thread that runs them."""

    def __init__(self, workers: int = 1) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="studio")
        self._jobs: dict[int, Job] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def submit(self, kind: str, session_id: int, work: Work, clip_id: str | None = None) -> Job:
        with self._lock:
            job = Job(next(self._ids), kind, session_id, clip_id)
            self._jobs[job.id] = job
            self._forget_old()
        future: Future[None] = self._pool.submit(self._run, job, work)
        future.add_done_callback(lambda _f: job.done.set())
        return job

    def get(self, job_id: int) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def active(self, session_id: int) -> list[Job]:
        with self._lock:
            return [
                j
                for j in self._jobs.values()
                if j.session_id == session_id and j.status in ("queued", "running")
            ]

    def latest(self, session_id: int) -> Job | None:
        """The session's newest job, finished or not: how the page learns a failure."""
        with self._lock:
            mine = [j for j in self._jobs.values() if j.session_id == session_id]
            return max(mine, key=lambda j: j.id, default=None)

    def close(self) -> None:
        # Queued jobs are dropped; the running one finishes its clip (ffmpeg is a child).
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _run(self, job: Job, work: Work) -> None:
        job.status = "running"

        def progress(value: float) -> None:
            job.progress = max(job.progress, min(max(value, 0.0), 1.0))

        try:
            work(progress)
        except Exception as exc:  # a job's failure is its status, not the worker's end
            logger.exception("studio job %d (%s) failed", job.id, job.kind)
            job.status, job.error = "failed", str(exc) or type(exc).__name__
            return
        job.progress, job.status = 1.0, "done"

    def _forget_old(self) -> None:
        finished = [j for j in self._jobs.values() if j.status in ("done", "failed")]
        for job in finished[: max(0, len(finished) - KEPT_JOBS)]:
            del self._jobs[job.id]
