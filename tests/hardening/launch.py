"""``chotdon serve`` children started under a wrapper (``prlimit``, ``setpriv``) or two at once.

``conftest.ServerProcess`` starts one server and waits for it; these tests also
need servers that are expected to refuse to start, and servers started with
lowered limits or privileges, so they start and poll children themselves.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from .conftest import AUTH, HELPER, OVERLAY, chotdon_command, free_port

__all__ = ["Child", "unprivileged"]


def unprivileged() -> list[str]:
    """A prefix that makes root obey file permissions (no-op for other users)."""
    if os.geteuid() != 0:
        return []
    return ["setpriv", "--bounding-set", "-dac_override,-dac_read_search,-fowner", "--"]


@dataclass
class Child:
    """One ``chotdon serve`` child with its own log file."""

    data_dir: Path
    log: Path
    prefix: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def launch(self) -> Child:
        self.port = self.port or free_port()
        args = [
            *self.prefix, *chotdon_command(), "serve", "--data", str(self.data_dir),
            "--port", str(self.port), "--host", "127.0.0.1", "--helper-token", HELPER,
            "--overlay-key", OVERLAY, "--no-qr", "--demo",
        ]  # fmt: skip
        env = {**os.environ, "CHOTDON_DEMO_COMMENTS": "0", **dict(self.env)}
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
        return self

    def ready(self) -> bool:
        """One readiness probe: the server answers a helper's ``GET /api/live``."""
        try:
            return httpx.get(f"{self.base_url}/api/live", headers=AUTH, timeout=2).is_success
        except httpx.TransportError:
            return False

    def exited(self) -> int | None:
        assert self.proc is not None
        return self.proc.poll()

    def wait_ready(self, deadline_s: float = 60.0) -> None:
        deadline = time.monotonic() + deadline_s
        while not self.ready():
            assert self.proc is not None
            try:
                code = self.proc.wait(timeout=0.1)
            except subprocess.TimeoutExpired:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"server not ready:\n{self.output()}") from None
                continue
            raise RuntimeError(f"server exited with {code}:\n{self.output()}")

    def wait_exit(self, timeout: float = 60.0) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout=timeout)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")
