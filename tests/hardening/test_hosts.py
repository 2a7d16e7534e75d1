"""DNS rebinding: the server answers only to its own names (server/hosts.py).

A page on ``attacker.example`` that rebinds its name to 127.0.0.1 reaches the real
server from a loopback client, with its own name in ``Host`` and ``Origin``. These
tests do exactly that against a real ``chotdon serve`` on loopback (a socket
connected to 127.0.0.1 speaking for ``attacker.example``), then check that the
laptop's own names, its LAN address, its hostname and a name from
``CHOTDON_ALLOWED_HOSTS`` still work, and that the join routes (which hand out the
helper token) answer only to a loopback ``Host``.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect
from websockets.typing import Origin

from server.app import create_app
from server.hosts import host_allowed, origin_allowed, split_host
from server.netinfo import is_loopback, lan_address
from server.settings import Settings

from .conftest import AUTH, HELPER, OVERLAY, ServerProcess

EXTRA = "shop.lan"
ATTACKER = "attacker.example"
JOIN_ROUTES = ["/api/join", "/api/qr/join.svg"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("hosts")
    process = ServerProcess(
        data_dir=root / "data", log=root / "server.log", env={"CHOTDON_ALLOWED_HOSTS": EXTRA}
    )
    process.start()
    yield process
    process.stop()


def _get(server: ServerProcess, path: str, host: str, **headers: str) -> httpx.Response:
    # Sent to 127.0.0.1 whatever the Host says: what a browser does after rebinding.
    return httpx.get(f"{server.base_url}{path}", headers={"Host": host, **headers}, timeout=10)


def _socket(server: ServerProcess, host: str, path: str, origin: str | None = None) -> str:
    """Open ``path`` as a page on ``host`` would and return the first message or the close code."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    uri = f"ws://{host}{path}"
    with connect(uri, sock=sock, proxy=None, origin=Origin(origin) if origin else None) as ws:
        try:
            return str(ws.recv(timeout=10))
        except ConnectionClosed as closed:
            return f"closed {closed.rcvd.code if closed.rcvd else None}"


def _own_non_loopback_names() -> list[str]:
    """Names of this machine that are not loopback: its hostname, and its LAN address if any."""
    address = lan_address()
    return [socket.gethostname()] + ([] if is_loopback(address) else [address])


# -- a rebound name --------------------------------------------------------------------


def test_the_curl_case_gets_421_and_no_token(server: ServerProcess) -> None:
    reply = _get(server, "/api/join", f"{ATTACKER}:{server.port}")
    assert reply.status_code == 421
    assert reply.json()["field"] == "host" and ATTACKER in reply.json()["error"]
    assert HELPER not in reply.text and OVERLAY not in reply.text


@pytest.mark.parametrize("path", ["/", "/panel", "/api/live", "/api/qr/join.svg", "/nowhere"])
def test_every_route_refuses_a_rebound_name_even_with_the_token(
    server: ServerProcess, path: str
) -> None:
    reply = _get(server, path, f"{ATTACKER}:{server.port}", **AUTH)
    assert reply.status_code == 421 and reply.json()["field"] == "host"


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1:{port}x",  # not a port
        "127.0.0.1:1",  # another port: another server
        "127.0.0.1",  # no port means 80
        "0.0.0.0:{port}",
        f"{EXTRA}.{ATTACKER}:{{port}}",  # an allowed name as a prefix
        "[::1:{port}",
    ],
)
def test_malformed_or_wrong_port_hosts_get_421(server: ServerProcess, host: str) -> None:
    reply = _get(server, "/api/live", host.format(port=server.port), **AUTH)
    assert reply.status_code == 421


def test_a_request_without_host_gets_421(server: ServerProcess) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
        raw.sendall(b"GET /api/join HTTP/1.0\r\n\r\n")
        answer = b""
        while chunk := raw.recv(4096):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 421") and HELPER.encode() not in answer


@pytest.mark.parametrize("path", [f"/ws/overlay?key={OVERLAY}", f"/ws/panel?token={HELPER}"])
def test_a_socket_from_a_rebound_name_gets_no_snapshot(server: ServerProcess, path: str) -> None:
    host = f"{ATTACKER}:{server.port}"
    assert _socket(server, host, path, origin=f"http://{host}") == "closed 4403"
    assert _socket(server, host, path) == "closed 4403"  # no Origin: still the wrong Host


@pytest.mark.parametrize(
    "origin",
    [f"http://{ATTACKER}:{{port}}", "http://127.0.0.1:1", "https://127.0.0.1:{port}", "ftp://x"],
)
def test_an_allowed_host_with_a_foreign_origin_is_refused(
    server: ServerProcess, origin: str
) -> None:
    host = f"127.0.0.1:{server.port}"
    origin = origin.format(port=server.port)
    for path in (f"/ws/panel?token={HELPER}", f"/ws/ingest?token={HELPER}"):
        assert _socket(server, host, path, origin=origin) == "closed 4403"


# -- the server's own names --------------------------------------------------------------


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost", "[::1]"])
def test_loopback_names_with_the_port_get_the_join_info(server: ServerProcess, name: str) -> None:
    reply = _get(server, "/api/join", f"{name}:{server.port}")
    assert reply.status_code == 200 and HELPER in reply.json()["panel_url"]
    assert _get(server, "/api/qr/join.svg", f"{name}:{server.port}").status_code == 200


def test_origin_is_checked_against_the_list_not_against_host(server: ServerProcess) -> None:
    # The page on localhost talks to the socket as 127.0.0.1: same machine, both allowed.
    host, origin = f"127.0.0.1:{server.port}", f"http://localhost:{server.port}"
    message = _socket(server, host, f"/ws/panel?token={HELPER}", origin=origin)
    assert json.loads(message)["type"] == "snapshot"


def test_a_name_from_the_setting_works_but_cannot_join(server: ServerProcess) -> None:
    host = f"{EXTRA}:{server.port}"
    assert _get(server, "/api/live", host, **AUTH).status_code == 200
    message = _socket(server, host, f"/ws/overlay?key={OVERLAY}", origin=f"http://{host}")
    assert json.loads(message)["type"] == "snapshot"
    for path in JOIN_ROUTES:
        reply = _get(server, path, host)
        assert reply.status_code == 403 and HELPER not in reply.text


@pytest.mark.parametrize("name", _own_non_loopback_names())
def test_join_routes_refuse_a_lan_host_even_from_loopback(server: ServerProcess, name: str) -> None:
    host = f"{name}:{server.port}"
    assert _get(server, "/api/live", host, **AUTH).status_code == 200  # a helper's phone
    for path in JOIN_ROUTES:
        reply = _get(server, path, host)
        assert reply.status_code == 403 and HELPER not in reply.text


# -- in-process: TestClient's name, the setting, the parsing -------------------------------


def test_testserver_is_not_a_production_name(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, helper_token=HELPER, overlay_key=OVERLAY)
    with TestClient(create_app(settings)) as client:
        assert client.get("/api/live", headers=AUTH).status_code == 421
        with client.websocket_connect(f"/ws/overlay?key={OVERLAY}") as ws:
            assert ws.receive() == {
                "type": "websocket.close",
                "code": 4403,
                "reason": "foreign Host",
            }


def test_allowed_hosts_setting_parses_and_names_a_bad_entry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CHOTDON_ALLOWED_HOSTS", " Shop.LAN, [FE80::1],10.0.0.7,")
    assert Settings().allowed_hosts == ["shop.lan", "fe80::1", "10.0.0.7"]
    monkeypatch.setenv("CHOTDON_ALLOWED_HOSTS", "shop.lan,http://evil:80")
    with pytest.raises(ValidationError, match="'http://evil:80' is not a host name"):
        Settings()


def test_host_and_origin_rules() -> None:
    assert split_host("[::1]:8800") == ("::1", 8800)
    assert split_host("Localhost.") == ("localhost", None)
    assert split_host(":8800") is None and split_host("a:99999") is None
    assert host_allowed("localhost:8800", 8800) and not host_allowed("localhost:8801", 8800)
    assert host_allowed("shop.lan", 80, {"shop.lan"}) and not host_allowed("shop.lan", 80)
    assert not host_allowed("localhost.attacker.example:80", 80)
    assert origin_allowed(None, 8800) and origin_allowed("null", 8800)
    assert origin_allowed("http://[::1]:8800", 8800)
    assert not origin_allowed("http://localhost", 8800)
    assert not origin_allowed("http://evil.example:8800", 8800)
