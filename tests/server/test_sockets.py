from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from .conftest import AUTH, HELPER, OVERLAY


def _updates_until(ws: Any, rev: int) -> list[dict[str, Any]]:
    seen = []
    while True:
        message = ws.receive_json()
        if message["type"] == "update":
            seen.append(message)
            if message["rev"] >= rev:
                return seen


def test_snapshot_first_then_consecutive_revisions(client: TestClient) -> None:
    with client.websocket_connect(f"/ws/overlay?key={OVERLAY}") as ws:
        snapshot = ws.receive_json()
        assert snapshot["type"] == "snapshot"
        start = snapshot["rev"]
        assert set(snapshot["state"]["products"]) >= {"A1", "B5"}
        client.post("/api/live/pin", json={"code": "a1"}, headers=AUTH)
        client.post("/api/live/stock", json={"code": "A1", "stock": 7}, headers=AUTH)
        client.post("/api/live/countdown", json={"seconds": 60}, headers=AUTH)
        updates = _updates_until(ws, start + 3)
    assert [u["rev"] for u in updates] == [start + 1, start + 2, start + 3]
    assert updates[0]["set"] == {"pinned": "A1"}
    assert updates[1]["products"]["A1"]["stock"] == 7
    assert updates[2]["set"]["countdown"]["seconds"] == 60
    assert updates[2]["set"]["countdown"]["ends_at"].endswith("Z")


def test_resync_returns_a_fresh_snapshot_with_the_latest_state(client: TestClient) -> None:
    with client.websocket_connect(f"/ws/panel?token={HELPER}") as ws:
        ws.receive_json()
        client.post("/api/live/pin", json={"code": "B2"}, headers=AUTH)
        ws.send_json({"type": "resync"})
        messages = [ws.receive_json(), ws.receive_json()]
    snapshot = next(m for m in messages if m["type"] == "snapshot")
    assert snapshot["state"]["pinned"] == "B2"
    assert snapshot["rev"] == next(m for m in messages if m["type"] == "update")["rev"]


def test_panel_socket_runs_commands_with_acks(client: TestClient) -> None:
    with client.websocket_connect(f"/ws/panel?token={HELPER}") as ws:
        ws.receive_json()
        ws.send_json({"type": "command", "id": 7, "op": "pin", "args": {"code": "A3"}})
        replies = [ws.receive_json(), ws.receive_json()]
        ack = next(m for m in replies if m["type"] == "ack")
        assert ack == {"type": "ack", "id": 7, "ok": True, "rev": ack["rev"]}
        ws.send_json({"type": "command", "id": 8, "op": "pin", "args": {"code": "NOPE"}})
        bad = ws.receive_json()
        assert bad["ok"] is False and "NOPE" in bad["error"]
        ws.send_json({"type": "command", "id": 9, "op": "format_disk", "args": {}})
        assert ws.receive_json()["error"] == "unknown command 'format_disk'"


def test_overlay_key_is_read_only(client: TestClient) -> None:
    with client.websocket_connect(f"/ws/overlay?key={OVERLAY}") as ws:
        ws.receive_json()
        ws.send_json({"type": "command", "id": 1, "op": "pin", "args": {"code": "A1"}})
        assert ws.receive_json() == {"type": "ack", "id": 1, "ok": False, "error": "read-only"}
    assert client.get("/api/live", headers=AUTH).json()["state"]["pinned"] is None


@pytest.mark.parametrize(
    "path",
    [
        "/ws/overlay",
        "/ws/overlay?key=wrong-key-123",
        f"/ws/overlay?key={HELPER}",
        f"/ws/panel?token={OVERLAY}",
    ],
)
def test_sockets_refuse_missing_or_wrong_secrets(client: TestClient, path: str) -> None:
    with client.websocket_connect(path) as ws, pytest.raises(WebSocketDisconnect) as info:
        ws.receive_json()
    assert info.value.code == 4401


def test_sockets_refuse_foreign_origins(client: TestClient) -> None:
    headers = {"origin": "http://evil.example", "host": "testserver"}
    with (
        client.websocket_connect(f"/ws/panel?token={HELPER}", headers=headers) as ws,
        pytest.raises(WebSocketDisconnect) as info,
    ):
        ws.receive_json()
    assert info.value.code == 4403


def test_oversized_and_malformed_socket_messages(client: TestClient) -> None:
    with client.websocket_connect(f"/ws/panel?token={HELPER}") as ws:
        ws.receive_json()
        ws.send_text("{not json")
        assert ws.receive_json()["type"] == "error"
        ws.send_text("[1, 2]")
        assert ws.receive_json()["type"] == "error"
        ws.send_text("x" * 20000)
        with pytest.raises(WebSocketDisconnect) as info:
            ws.receive_json()
        assert info.value.code == 1009


def test_heartbeat_pings_carry_the_current_revision(tmp_path: Any) -> None:
    from server.app import create_app

    from .conftest import make_settings

    app = create_app(make_settings(tmp_path, heartbeat_seconds=0.05))
    with TestClient(app) as fast, fast.websocket_connect(f"/ws/overlay?key={OVERLAY}") as ws:
        snapshot = ws.receive_json()
        ping = ws.receive_json()
    assert ping["type"] == "ping" and ping["rev"] == snapshot["rev"]


def _socket_paths() -> list[str]:
    from fastapi.routing import APIWebSocketRoute

    from server.app import ROUTERS

    return sorted(
        r.path for router in ROUTERS for r in router.routes if isinstance(r, APIWebSocketRoute)
    )


def test_every_socket_of_the_app_is_known_here() -> None:
    # A new socket must sign in through accept_socket; the tests below then cover it.
    assert _socket_paths() == ["/ws/ingest", "/ws/overlay", "/ws/panel"]


@pytest.mark.parametrize("path", _socket_paths())
def test_every_socket_signs_in_through_accept_socket(client: TestClient, path: str) -> None:
    for query in ("", "?key=wrong-key-123&token=wrong-token-1"):
        with (
            client.websocket_connect(path + query) as ws,
            pytest.raises(WebSocketDisconnect) as info,
        ):
            ws.receive_json()
        assert info.value.code == 4401
    # two wrong attempts were counted in the one failed-sign-in bucket
    assert client.app.state.ctx.limits.auth.level("testclient") == pytest.approx(8, abs=0.1)  # type: ignore[attr-defined]
    right = f"?key={OVERLAY}" if path == "/ws/overlay" else f"?token={HELPER}"
    headers = {"origin": "http://evil.example", "host": "testserver"}
    with (
        client.websocket_connect(path + right, headers=headers) as ws,
        pytest.raises(WebSocketDisconnect) as info,
    ):
        ws.receive_json()
    assert info.value.code == 4403
