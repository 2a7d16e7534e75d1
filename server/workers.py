"""``chotdon serve --workers N``: N server processes behind one listening socket.

The parent process binds the socket, takes the data folder's lock, migrates the
database, loads the demo catalog and settles the secrets (each once, so workers
never race on them), then starts N children with ``python -m server.workers``.
Each child inherits the listening socket and the lock's file descriptor and runs
the same app as a single server, with its index (``worker``). The kernel hands
each new connection to whichever worker accepts it first.

Why not ``uvicorn --workers``: it rebuilds the app in every child from an import
string, so everything ``chotdon serve`` decides (settings from flags, the secrets,
the connection guard's protocol class, which worker runs the connectors) would
have to travel through environment variables, and the data folder's lock would
be held by nobody. Why one shared socket rather than ``SO_REUSEPORT`` (one socket
per worker): a killed worker's queued connections stay in the shared queue for
the others instead of being reset, a restarted worker simply inherits it again,
and it works the same on Linux and macOS. See docs/postgres.md.

Only PostgreSQL: the workers share the on-air state through it (:mod:`server.fanout`);
SQLite takes one writer at a time. The data folder's lock is one ``flock`` held
through one open file that the parent and every child share: a second ``chotdon
serve`` on the folder is refused while any of them runs, even after the parent
was killed. A child whose parent dies (its stdin closes) shuts down; a child that
dies is started again.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import IO, Any

__all__ = ["MAX_WORKERS", "WorkersError", "check_workers", "run_workers", "worker_main"]

logger = logging.getLogger(__name__)

MAX_WORKERS = 32
QUICK_EXIT_S = 5.0  # a worker that dies sooner than this after its start counts as failing
MAX_QUICK_EXITS = 5
STOP_WAIT_S = 10.0


class WorkersError(Exception):
    """``--workers`` cannot be used as asked; the message says why."""


def check_workers(count: int, database_url: str) -> None:
    if not 1 <= count <= MAX_WORKERS:
        raise WorkersError(f"--workers takes 1 to {MAX_WORKERS}")
    if count > 1 and not database_url:
        raise WorkersError(
            "several workers need PostgreSQL (CHOTDON_DATABASE_URL=postgresql+psycopg://...): "
            "SQLite takes one writer at a time, so on SQLite run one worker (the default)"
        )
    if count > 1 and sys.platform == "win32":
        raise WorkersError("several workers run on Linux and macOS only; run one on Windows")


def listen_socket(host: str, port: int, backlog: int = 2048) -> socket.socket:
    """The listening socket all workers accept on."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.create_server((host, port), family=family, backlog=backlog)
    sock.set_inheritable(True)
    return sock


@dataclass
class _Worker:
    index: int
    proc: subprocess.Popen[bytes]
    started: float = field(default_factory=time.monotonic)


class _Pool:
    def __init__(self, config: dict[str, Any], fds: tuple[int, ...]) -> None:
        self.config = config
        self.fds = fds
        self.workers: dict[int, _Worker] = {}

    def spawn(self, index: int) -> None:
        proc = subprocess.Popen(
            [sys.executable, "-m", "server.workers", str(index)],
            stdin=subprocess.PIPE,
            pass_fds=self.fds,
        )
        stdin: IO[bytes] = proc.stdin  # type: ignore[assignment]
        # The settings (secrets included) go through the pipe, not argv or the environment.
        stdin.write(json.dumps({**self.config, "worker": index}).encode() + b"\n")
        stdin.flush()  # kept open: its end of file tells the child the parent is gone
        self.workers[index] = _Worker(index, proc)
        logger.info("worker %d started (process %d)", index, proc.pid)

    def reap(self) -> _Worker | None:
        """Wait for a worker to exit; None when there is no child left."""
        while True:
            try:
                pid, status = os.waitpid(-1, 0)
            except ChildProcessError:
                return None
            for worker in self.workers.values():
                if worker.proc.pid == pid:
                    worker.proc.returncode = os.waitstatus_to_exitcode(status)
                    return worker

    def stop(self) -> None:
        """Close every child's stdin (they shut down cleanly), then make sure they are gone."""
        for worker in self.workers.values():
            with contextlib.suppress(OSError):
                if worker.proc.stdin is not None:
                    worker.proc.stdin.close()
        deadline = time.monotonic() + STOP_WAIT_S
        for worker in self.workers.values():
            if worker.proc.returncode is not None:
                continue
            try:
                worker.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                logger.warning("worker %d did not stop in time; killing it", worker.index)
                worker.proc.kill()
                worker.proc.wait()


def run_workers(settings: Any, count: int, lock_fd: int, options: dict[str, Any]) -> None:
    """Serve with ``count`` workers until interrupted; ``settings`` already hold the secrets."""
    sock = listen_socket(settings.host, settings.port)
    config = {"settings": settings.model_dump(mode="json"), "fd": sock.fileno(), "options": options}
    pool = _Pool(config, (sock.fileno(), lock_fd))
    quick_exits = 0

    def terminate(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        for index in range(count):
            pool.spawn(index)
        while (worker := pool.reap()) is not None:
            code = worker.proc.returncode
            quick = time.monotonic() - worker.started < QUICK_EXIT_S
            quick_exits = quick_exits + 1 if quick else 0
            if quick_exits >= MAX_QUICK_EXITS:
                logger.error("workers keep failing at start-up; stopping")
                break
            logger.error("worker %d exited (%s); starting it again", worker.index, code)
            pool.spawn(worker.index)
    except KeyboardInterrupt:
        logger.info("stopping %d workers", count)
    finally:
        signal.signal(signal.SIGTERM, previous)
        pool.stop()
        sock.close()


def worker_main(index: int) -> None:
    """One worker (``python -m server.workers INDEX``): its configuration comes on stdin."""
    import uvicorn
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    from .app import create_app
    from .connlimit import ConnectionGuard, raise_fd_limit
    from .settings import Settings

    config = json.loads(sys.stdin.buffer.readline())
    logging.basicConfig(
        level=logging.INFO, format=f"%(levelname)s [worker {index}] %(name)s: %(message)s"
    )
    raise_fd_limit()
    settings = Settings(**config["settings"])
    app = create_app(settings, worker=index)
    guard = ConnectionGuard(settings.max_connections_per_address, settings.request_header_timeout)
    server = uvicorn.Server(
        uvicorn.Config(app, http=guard.protocol_class(AutoHTTPProtocol), **config["options"])
    )

    def watch_parent() -> None:
        sys.stdin.buffer.read()  # returns at end of file: the parent stopped or died
        server.should_exit = True

    threading.Thread(target=watch_parent, name="chotdon-parent-watch", daemon=True).start()
    sock = socket.socket(fileno=config["fd"])
    server.run(sockets=[sock])


if __name__ == "__main__":
    worker_main(int(sys.argv[1]))
