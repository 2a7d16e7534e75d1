"""One server per data folder: an exclusive lock on ``chotdon.lock``, held while the process runs.

Two servers on one folder would each keep their own on-air state in memory and
race each other's migrations, so ``chotdon serve`` takes this lock before it
opens the database. The lock is the operating system's (``flock`` on POSIX, a
byte-range lock through ``msvcrt`` on Windows): it goes away with the process,
even after ``kill -9``, so a crash never leaves the folder locked. The file
also holds the holder's PID, so the second server can say who holds it.

``chotdon serve --workers N`` holds it once for all its processes: the children
inherit the locked file (:meth:`DataLock.fileno`), and an ``flock`` belongs to
the open file, not to a process, so the folder stays locked while any of them
runs and a second ``chotdon serve`` is still refused.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import sys
import time
from pathlib import Path
from typing import Self

__all__ = [
    "LOCK_NAME",
    "DataFolderBusy",
    "DataFolderError",
    "DataLock",
    "check_writable",
]

logger = logging.getLogger(__name__)

LOCK_NAME = "chotdon.lock"
# Files the server must be able to write; a read-only copy of any of them
# would fail only at the first write, in the middle of a live.
_WRITTEN = ("chotdon.db", "chotdon.db-wal", "chotdon.db-shm", "secrets.json")
# Windows locks a byte range and hides it from readers; lock a byte far past
# the PID so the second server can still read it.
_WINDOWS_LOCK_OFFSET = 1 << 20
_READ_ONLY = (errno.EACCES, errno.EPERM, errno.EROFS)


class DataFolderError(Exception):
    """The data folder cannot be used; ``message`` names it."""

    def __init__(self, folder: Path, message: str) -> None:
        super().__init__(message)
        self.folder = folder
        self.message = message


class DataFolderBusy(DataFolderError):
    """Another process holds the folder's lock; ``pid`` is None when it could not be read."""

    def __init__(self, folder: Path, pid: int | None) -> None:
        holder = f"process {pid}" if pid is not None else "a process whose PID could not be read"
        super().__init__(
            folder,
            f"the data folder {folder} is in use by another chotdon server ({holder}); "
            "stop that one first, or start this one with another --data folder",
        )
        self.pid = pid


def check_writable(folder: Path) -> None:
    """Raise :class:`DataFolderError` naming the first file the server could not write."""
    for name in _WRITTEN:
        path = folder / name
        if path.exists() and not os.access(path, os.W_OK):
            raise DataFolderError(
                folder, f"the data folder {folder} is read-only: cannot write {path}"
            )


class DataLock:
    """The exclusive lock on one data folder; :meth:`acquire` it, keep it, :meth:`release` it."""

    def __init__(self, folder: Path, fd: int) -> None:
        self.folder = folder
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, folder: Path) -> Self:
        """Lock ``folder`` or raise :class:`DataFolderBusy` / :class:`DataFolderError`."""
        path = folder / LOCK_NAME
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise _unusable(folder, path, exc) from exc
        try:
            locked = _try_lock(fd)
        except OSError as exc:
            os.close(fd)
            raise _unusable(folder, path, exc) from exc
        if not locked:
            os.close(fd)
            raise DataFolderBusy(folder, _holder_pid(path))
        try:
            _write_pid(fd)
        except OSError as exc:
            os.close(fd)
            raise _unusable(folder, path, exc) from exc
        logger.debug("locked %s", path)
        return cls(folder, fd)

    def fileno(self) -> int:
        """The locked file, for child processes to inherit (they then hold the lock too)."""
        if self._fd is None:
            raise ValueError("the lock was released")
        return self._fd

    def release(self) -> None:
        """Unlock (closing the file is enough for the operating system); idempotent."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release()


def _unusable(folder: Path, path: Path, exc: OSError) -> DataFolderError:
    if exc.errno in _READ_ONLY:
        return DataFolderError(
            folder, f"the data folder {folder} is read-only: cannot write {path} ({exc.strerror})"
        )
    return DataFolderError(folder, f"cannot use the data folder {folder}: {path}: {exc.strerror}")


if sys.platform == "win32":
    import msvcrt

    def _try_lock(fd: int) -> bool:
        os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError as exc:
            if exc.errno in (errno.EACCES, errno.EDEADLK):
                return False
            raise
        return True

    def _alive(_pid: int) -> bool:
        return True  # os.kill(pid, 0) would send CTRL_C_EVENT on Windows

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _alive(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True  # alive, another user's
        return True


def _write_pid(fd: int) -> None:
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, f"{os.getpid()}\n".encode())


def _holder_pid(path: Path, wait: float = 2.0) -> int | None:
    """The PID in the lock file; the holder writes it just after locking, so poll briefly."""
    deadline = time.monotonic() + wait
    while True:
        pid = _read_pid(path)
        if pid is not None and _alive(pid):
            return pid
        if time.monotonic() >= deadline:
            return pid
        time.sleep(0.02)


def _read_pid(path: Path) -> int | None:
    try:
        text = path.read_text(encoding="ascii", errors="replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
