"""server.protocol: the messages on the wire are the ones it declares."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from server import protocol
from server.protocol import ProtocolError, read_client_message

from .conftest import AUTH, HELPER


def _keys(kind: Any) -> set[str]:
    return set(kind.__required_keys__) | set(kind.__optional_keys__)


def test_encode_is_compact_and_keeps_vietnamese_readable() -> None:
    text = protocol.encode(protocol.error("Sai mã sản phẩm", "code"))
    assert text == '{"type":"error","error":"Sai mã sản phẩm","field":"code"}'


@pytest.mark.parametrize("text", ["{nope", "[1, 2]", '"resync"', "3"])
def test_what_is_not_a_json_object_is_a_protocol_error(text: str) -> None:
    with pytest.raises(ProtocolError, match="messages are JSON objects"):
        read_client_message(text)


def test_client_messages_are_read_into_their_declared_shapes() -> None:
    assert read_client_message('{"type": "resync", "extra": 1}') == {"type": "resync"}
    assert read_client_message('{"type": "ping"}') == {"type": "ping"}
    assert read_client_message('{"type": "hello"}') is None  # a newer page: ignored
    command = read_client_message(
        '{"type": "command", "id": 3, "op": "pin", "args": {"code": "A1"}}'
    )
    assert command == {"type": "command", "id": 3, "op": "pin", "args": {"code": "A1"}}
    assert read_client_message('{"type": "command"}') == {
        "type": "command",
        "id": None,
        "op": "",
        "args": None,
    }


def test_command_acks_name_the_field_only_when_there_is_one() -> None:
    assert protocol.command_failed(1, "read-only") == {
        "type": "ack",
        "id": 1,
        "ok": False,
        "error": "read-only",
    }
    assert protocol.command_failed(2, "bad", "code")["field"] == "code"
    assert protocol.command_ok(3, 9) == {"type": "ack", "id": 3, "ok": True, "rev": 9}


def test_the_panel_receives_the_declared_messages(client: TestClient) -> None:
    with client.websocket_connect(f"/ws/panel?token={HELPER}") as ws:
        snapshot = ws.receive_json()
        assert set(snapshot) == _keys(protocol.Snapshot)
        ws.send_json({"type": "command", "id": 1, "op": "session/start", "args": {}})
        seen = [ws.receive_json(), ws.receive_json()]
        ws.send_json({"type": "command", "id": 2, "op": "pin", "args": {"code": "A1"}})
        seen += [ws.receive_json(), ws.receive_json()]
        client.post("/api/comments", json=[_comment("c1", "A1 x2")], headers=AUTH)
        while not {"comments", "orders_changed"} <= {m["type"] for m in seen}:
            seen.append(ws.receive_json())
        ws.send_json({"type": "ping"})
        while seen[-1]["type"] != "pong":
            seen.append(ws.receive_json())
    declared = {
        "update": protocol.Update,
        "ack": protocol.CommandAck,
        "comments": protocol.CommentsPush,
        "orders_changed": protocol.OrdersChanged,
        "pong": protocol.Pong,
    }
    for message in seen:
        kind = declared[message["type"]]
        assert set(message) <= _keys(kind), message
        assert set(kind.__required_keys__) <= set(message), message


def test_the_ingest_socket_answers_with_declared_messages(client: TestClient) -> None:
    with client.websocket_connect(f"/ws/ingest?token={HELPER}") as ws:
        ws.send_json([_comment("i1", "A1")])
        ack = ws.receive_json()
        ws.send_text("{nope")
        error = ws.receive_json()
    assert set(ack) == _keys(protocol.IngestAck) and len(ack["results"]) == 1
    assert error["type"] == "error" and set(error) <= _keys(protocol.Error)


def _comment(id_: str, text: str) -> dict[str, Any]:
    return {
        "id": id_,
        "platform": "manual",
        "user": f"u-{id_}",
        "nickname": "Lan",
        "text": text,
        "ts": "2026-12-02T10:00:00Z",
    }
