"""Connection limits below HTTP (server.connlimit): per-address cap, request deadline, fd limit."""

from __future__ import annotations

import asyncio
import selectors
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from websockets.asyncio.client import connect

from server.connlimit import ConnectionGuard, GuardedProtocol

from .conftest import AUTH, OVERLAY, run_async
from .launch import Child

IDLE = 300
FD_LIMIT = 256
HEADER_TIMEOUT = 2.0


class FakeTransport(asyncio.Transport):
    """Only what the guard asks a transport: whether it is closing."""

    def __init__(self) -> None:
        super().__init__()
        self.closing = False

    def is_closing(self) -> bool:
        return self.closing


def test_guard_admits_up_to_the_cap_per_address_and_counts_closed_ones_out() -> None:
    guard = ConnectionGuard(per_address=2, request_timeout=1.0)
    a, b, c, other = FakeTransport(), FakeTransport(), FakeTransport(), FakeTransport()
    assert guard.admit("10.0.0.5", a)
    assert guard.admit("10.0.0.5", b)
    assert not guard.admit("10.0.0.5", c)  # at the cap
    assert guard.admit("10.0.0.6", other)  # another address has its own cap
    assert guard.open_count("10.0.0.5") == 2
    a.closing = True  # closing but connection_lost not called yet: no longer counted
    assert guard.open_count("10.0.0.5") == 1
    assert guard.admit("10.0.0.5", c)
    guard.release("10.0.0.5", b)
    guard.release("10.0.0.5", c)
    assert guard.open_count("10.0.0.5") == 0
    guard.release("10.0.0.5", FakeTransport())  # unknown: harmless
    assert guard.open_count("10.0.0.6") == 1


def test_guard_makes_a_protocol_class_bound_to_itself() -> None:
    guard = ConnectionGuard(per_address=1, request_timeout=1.0)
    cls = guard.protocol_class(asyncio.Protocol)
    assert issubclass(cls, GuardedProtocol)
    assert cls.guard is guard and cls.base is asyncio.Protocol


def limits_after_raise(soft: int, hard: int, target: int) -> tuple[int, int, int]:
    """Soft limit returned, then soft and hard limits, after ``raise_fd_limit`` in a child."""
    code = (
        "import resource; from server.connlimit import raise_fd_limit; "
        f"got = raise_fd_limit({target}); "
        "print(got, *resource.getrlimit(resource.RLIMIT_NOFILE))"
    )
    out = subprocess.run(
        ["prlimit", f"--nofile={soft}:{hard}", "--", sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout.split()
    return int(out[0]), int(out[1]), int(out[2])


def test_fd_soft_limit_is_raised_toward_the_hard_one_and_never_lowered() -> None:
    assert limits_after_raise(256, 2048, target=65536) == (2048, 2048, 2048)  # up to hard
    assert limits_after_raise(256, 4096, target=1024) == (1024, 1024, 4096)  # up to target
    assert limits_after_raise(4096, 8192, target=1024) == (4096, 4096, 8192)  # not lowered
    assert limits_after_raise(256, 256, target=65536) == (256, 256, 256)  # nothing to gain


def open_idle(port: int, count: int) -> list[socket.socket]:
    """``count`` TCP connections from 127.0.0.2 that never send a byte."""
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket()
            socks.append(sock)
            sock.settimeout(5)
            sock.bind(("127.0.0.2", 0))
            sock.connect(("127.0.0.1", port))
            sock.setblocking(False)
    except BaseException:
        for sock in socks:
            sock.close()
        raise
    return socks


def wait_all_closed(socks: list[socket.socket], deadline: float) -> int:
    """Wait until the server closed every socket (EOF or reset); the number still open."""
    open_ = set(socks)
    with selectors.DefaultSelector() as sel:
        for sock in socks:
            sel.register(sock, selectors.EVENT_READ)
        while open_ and (left := deadline - time.monotonic()) > 0:
            for key, _ in sel.select(timeout=left):
                ready = key.fileobj
                assert isinstance(ready, socket.socket)
                try:
                    data = ready.recv(4096)
                except ConnectionResetError:
                    data = b""
                assert data == b"", f"the server sent {data!r} to an idle connection"
                sel.unregister(ready)
                open_.discard(ready)
    return len(open_)


def test_idle_connections_cannot_starve_a_helper_under_a_low_fd_limit(tmp_path: Path) -> None:
    server = Child(
        tmp_path / "data",
        tmp_path / "server.log",
        # Hard limit too, or the server would raise its soft limit back up.
        prefix=("prlimit", f"--nofile={FD_LIMIT}:{FD_LIMIT}", "--"),
        env=(("CHOTDON_REQUEST_HEADER_TIMEOUT", str(HEADER_TIMEOUT)),),
    )
    socks: list[socket.socket] = []
    try:
        server.launch().wait_ready(deadline_s=30)
        socks = open_idle(server.port, IDLE)
        # A request header that never ends holds a connection just the same.
        slow = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        socks.append(slow)
        slow.sendall(b"GET /api/live HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        slow.setblocking(False)
        opened = time.monotonic()
        reply = httpx.get(f"{server.base_url}/api/live", headers=AUTH, timeout=5)
        assert reply.status_code == 200, server.output()
        still_open = wait_all_closed(socks, deadline=opened + HEADER_TIMEOUT + 8)
        assert still_open == 0, server.output()
        assert server.exited() is None, server.output()
        assert httpx.get(f"{server.base_url}/api/live", headers=AUTH, timeout=5).is_success
        out = server.output()
        assert "Too many open files" not in out and "Traceback" not in out, out
        assert "refusing connections from 127.0.0.2" in out, out  # the cap, not luck
    finally:
        for sock in socks:
            sock.close()
        server.stop()


def test_an_open_websocket_outlives_the_request_deadline(tmp_path: Path) -> None:
    """After the upgrade the guard stops timing: an overlay may stay open for hours."""
    server = Child(
        tmp_path / "data",
        tmp_path / "server.log",
        env=(("CHOTDON_REQUEST_HEADER_TIMEOUT", "1"), ("CHOTDON_HEARTBEAT_SECONDS", "0.3")),
    )

    async def listen() -> int:
        url = f"ws://127.0.0.1:{server.port}/ws/overlay?key={OVERLAY}"
        async with connect(url, proxy=None) as ws:
            end = time.monotonic() + 3.5  # three and a half deadlines
            messages = 0
            while (left := end - time.monotonic()) > 0:
                try:
                    await asyncio.wait_for(ws.recv(), timeout=min(left, 2.0))
                except TimeoutError:
                    continue
                messages += 1
            return messages

    try:
        server.launch().wait_ready(deadline_s=30)
        assert run_async(listen) >= 6, server.output()  # snapshot + heartbeats throughout
    finally:
        server.stop()
