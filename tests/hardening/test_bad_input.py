"""Bad input to the API: malformed JSON on every JSON route, unknown product codes,
oversized ingestion, and fuzzed ingestion payloads. Each gets a clear 4xx (never
a 500) and leaves the stored data as it was.

``tests/orders`` already fuzzes comment *texts* in well-formed batches; here the
fuzzing is of the payload's *shape*: any JSON at all, comment-like objects with
wrong types, and raw socket messages.
"""

from __future__ import annotations

import io
import json
import math
import re
import string
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from .conftest import (
    AUTH,
    HELPER,
    FakeClock,
    ServerProcess,
    comment,
    open_client,
    run_async,
)

JSON_HEADERS = {**AUTH, "Content-Type": "application/json"}
MALFORMED = [
    b"{not json",
    b'{"code": ',
    b"\xff\xfe\x00garbage",
    b"[" * 100_000,  # deeper than any JSON parser's recursion limit
    b'{"code": "A1"} trailing',
    b"NaN",
]


def _json_routes(app: Any) -> list[tuple[str, str]]:
    """Every POST/PATCH route but the uploads (multipart), from the OpenAPI schema."""
    found = []
    for path, operations in app.openapi()["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            if method not in ("post", "patch", "put") or "multipart/form-data" in content:
                continue
            if not content and not path.startswith("/api/live/"):
                continue  # takes no body (hide, promote): nothing to be malformed
            concrete = re.sub(r"\{[a-z_]+\}", "1", path.replace("{code}", "A1"))
            found.append((method.upper(), concrete))
    return found


def _state(client: Any) -> tuple[Any, ...]:
    """What bad input must never change: products, on-air state, comments, orders."""
    live = client.get("/api/live", headers=AUTH).json()
    return (
        client.get("/api/products", headers=AUTH).json(),
        {k: v for k, v in live["state"].items() if k != "session"},
        live["rev"],
        client.get("/api/comments?limit=500", headers=AUTH).json(),
        client.get("/api/orders?scope=all", headers=AUTH).json(),
    )


def test_malformed_json_on_every_json_route_is_a_4xx(tmp_path: Path, clock: FakeClock) -> None:
    with open_client(tmp_path / "data", clock, raise_errors=False) as client:
        _malformed_everywhere(client)


def _malformed_everywhere(client: Any) -> None:
    client.post("/api/comments", json=[comment("m1", "A1 x2", "lan")], headers=AUTH)
    before = _state(client)
    routes = _json_routes(client.app)
    assert len(routes) >= 17  # live commands, products, comments, orders, customers
    failures = []
    for method, path in routes:
        for body in MALFORMED:
            reply = client.request(method, path, content=body, headers=JSON_HEADERS)
            if not 400 <= reply.status_code < 500:
                failures.append((method, path, body[:12], reply.status_code))
    assert failures == []
    assert _state(client) == before


def test_unknown_product_codes_in_commands_are_404_and_change_nothing(client: Any) -> None:
    before = _state(client)
    for op, args in [
        ("pin", {"code": "ZZ9"}),
        ("price", {"code": "ZZ9", "price": 1000}),
        ("stock", {"code": "#zz9", "stock": 5}),
    ]:
        reply = client.post(f"/api/live/{op}", json=args, headers=AUTH)
        assert reply.status_code == 404, op
        assert reply.json() == {"error": "no product with code ZZ9", "field": "code"}
    with client.websocket_connect(f"/ws/panel?token={HELPER}") as ws:
        ws.receive_json()
        ws.send_json(
            {"type": "command", "id": 1, "op": "stock", "args": {"code": "Q7", "stock": 1}}
        )
        assert ws.receive_json()["error"] == "no product with code Q7"
    assert _state(client) == before


def test_unknown_product_codes_in_orders_never_touch_stock(client: Any) -> None:
    acks = client.post(
        "/api/comments", json=[comment("u1", "ZZ9 x2", "lan"), comment("u2", "chốt", "hoa")],
        headers=AUTH,
    ).json()["results"]  # fmt: skip
    assert [a["status"] for a in acks] == ["review", "review"]  # nothing pinned, no ZZ9
    before = _state(client)
    confirm = client.post(
        f"/api/comments/{acks[0]['comment_id']}/confirm",
        json={"intent": "order", "items": [{"code": "A1", "qty": 1}, {"code": "ZZ9", "qty": 2}]},
        headers=AUTH,
    )
    assert confirm.status_code == 404 and "ZZ9" in confirm.json()["error"]
    promote = client.post("/api/orders/waitlist/ZZ9/promote", headers=AUTH)
    assert promote.status_code in (200, 404) and promote.json().get("moved", 0) == 0
    assert _state(client) == before  # the A1 line of the refused confirm was rolled back


def test_oversized_ingestion_bodies_are_413_and_store_nothing(client: Any) -> None:
    big = [comment(f"b{i}", "x" * 1900, f"u{i}") for i in range(600)]  # ~1.2 MB
    assert client.post("/api/comments", json=big, headers=AUTH).status_code == 413

    def chunks() -> Any:  # no Content-Length: the limit is counted as it streams
        yield b"["
        for i in range(600):
            yield (json.dumps(big[i]) + ",").encode()
        yield b"{}]"

    assert client.post("/api/comments", content=chunks(), headers=JSON_HEADERS).status_code == 413
    assert client.get("/api/comments", headers=AUTH).json() == []


def test_oversized_socket_ingestion_is_refused_and_the_socket_survives(client: Any) -> None:
    with client.websocket_connect(f"/ws/ingest?token={HELPER}") as ws:
        ws.send_text(json.dumps([comment("s1", "y" * 1900, "u")] * 600))
        assert ws.receive_json() == {"type": "error", "error": "message over 1048576 bytes"}
        ws.send_json(comment("s2", "chốt A2", "u"))
        assert ws.receive_json()["type"] == "ack"
    stored = client.get("/api/comments", headers=AUTH).json()
    assert [c["text"] for c in stored] == ["chốt A2"]


def test_the_real_server_closes_oversized_ingest_messages_with_1009(
    server_process: ServerProcess,
) -> None:
    """uvicorn runs with a 64 KiB socket message limit (``chotdon serve``)."""
    server_process.start()

    async def send(message: str) -> tuple[int | None, str]:
        url = f"{server_process.ws_url}/ws/ingest?token={HELPER}"
        async with connect(url, proxy=None, max_size=None) as ws:
            await ws.send(message)
            try:
                return None, str(await ws.recv())
            except ConnectionClosed as closed:
                return (closed.rcvd.code if closed.rcvd else None), ""

    big = json.dumps([comment(f"g{i}", "z" * 1000, f"u{i}") for i in range(70)])
    assert run_async(lambda: send(big)) == (1009, "")
    code, reply = run_async(lambda: send(json.dumps(comment("g-ok", "chốt A2", "u"))))
    assert code is None and json.loads(reply)["results"][0]["id"] == "g-ok"
    assert server_process.query("SELECT message_id FROM comments") == [("g-ok",)]


# -- fuzzing -------------------------------------------------------------------------

# json.dumps writes NaN and Infinity, which Python's parser on the server accepts.
SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text()
ANY_JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
FIELD = st.sampled_from(["platform", "id", "user", "nickname", "text", "ts"])
COMMENTISH = st.dictionaries(
    FIELD,
    st.sampled_from(["sim", "tiktok", "myspace", ""])
    | st.text(string.printable + "chốtđơnạ", max_size=40)
    | SCALARS
    | st.just("2026-11-20T12:00:00Z"),
    max_size=6,
)
PAYLOADS = st.one_of(ANY_JSON, COMMENTISH, st.lists(COMMENTISH, max_size=5))


def _stock_is_consistent(client: Any, initial: dict[str, int]) -> None:
    """Stock now = starting stock - the whole units every reserving line holds."""
    stock = {p["code"]: p["stock"] for p in client.get("/api/products", headers=AUTH).json()}
    book = client.get("/api/orders?scope=all", headers=AUTH).json()
    lines = [ln for buyer in book for ln in buyer["lines"]]
    for code, start in initial.items():
        held = sum(
            max(1, math.ceil(ln["qty"] - 1e-9))
            for ln in lines
            if ln["code"] == code and ln["status"] not in ("waitlist", "cancelled")
        )
        assert stock[code] == start - held >= 0, code


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, dict[str, int]]]:
    """One app for all examples (data piles up, as in a live); its starting stock."""
    folder: Path = tmp_path_factory.mktemp("fuzz")
    with open_client(folder / "data", FakeClock()) as client:
        client.post("/api/live/pin", json={"code": "A2"}, headers=AUTH)
        products = client.get("/api/products", headers=AUTH).json()
        yield client, {p["code"]: p["stock"] for p in products}


def _count(client: Any) -> int:
    return len(client.get("/api/comments?limit=500", headers=AUTH).json())


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=PAYLOADS)
def test_fuzzed_ingestion_payloads_never_500_and_keep_data_consistent(
    fuzzed: tuple[Any, dict[str, int]], payload: Any
) -> None:
    client, initial = fuzzed
    before = _count(client)
    reply = client.post("/api/comments", content=json.dumps(payload), headers=JSON_HEADERS)
    assert reply.status_code in (200, 422), reply.text
    fresh = 0
    if reply.status_code == 200:
        fresh = sum(not r["duplicate"] for r in reply.json()["results"])
    assert _count(client) == before + fresh  # all of a valid batch, nothing of a bad one
    _stock_is_consistent(client, initial)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(message=st.one_of(PAYLOADS.map(json.dumps), st.text(max_size=200)))
def test_fuzzed_socket_messages_always_get_a_reply(
    fuzzed: tuple[Any, dict[str, int]], message: str
) -> None:
    client, initial = fuzzed
    with client.websocket_connect(f"/ws/ingest?token={HELPER}") as ws:
        ws.send_text(message)
        assert ws.receive_json()["type"] in ("ack", "error")
        ws.send_json([])  # still open and answering
        assert ws.receive_json() == {"type": "ack", "results": []}
    _stock_is_consistent(client, initial)


# -- one bad item never fails its batch or its socket (issue 10, item 5) -------------------

BAD_TIMES = [
    ("0001-01-01T00:00:00+01:00", "outside the calendar"),  # before year 1 in UTC
    ("9999-12-31T23:59:59-01:00", "outside the calendar"),  # after year 9999 in UTC
    ("1999-12-31T23:59:59Z", "between 2000-01-01"),
    ("2126-01-01T00:00:00Z", "between 2000-01-01"),
    ("2026-11-20T12:00:00", "time zone"),  # naive: which time zone?
]


def _timed(cid: str, ts: str) -> dict[str, Any]:
    return {**comment(cid, "chốt A2", "lan"), "ts": ts}


def test_bad_timestamps_are_refused_by_item_and_the_good_ones_stored(client: Any) -> None:
    batch = [comment("ok1", "A2 x1", "hoa")]
    batch += [_timed(f"t{i}", ts) for i, (ts, _) in enumerate(BAD_TIMES)]
    batch += [_timed("ok2", "2026-11-20T19:00:00+07:00")]
    reply = client.post("/api/comments", json=batch, headers=AUTH)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert [(r["index"], r["id"]) for r in body["results"]] == [(0, "ok1"), (6, "ok2")]
    refused = body["refused"]
    assert [(r["index"], r["field"]) for r in refused] == [(i, "ts") for i in range(1, 6)]
    for r, (_, why) in zip(refused, BAD_TIMES, strict=True):
        assert why in r["error"] and f"item {r['index']}" in r["error"]
    stored = client.get("/api/comments", headers=AUTH).json()
    assert sorted(c["text"] for c in stored) == ["A2 x1", "chốt A2"]
    # A retry of the same batch is all duplicates and the same refusals: no endless loop.
    again = client.post("/api/comments", json=batch, headers=AUTH).json()
    assert [r["duplicate"] for r in again["results"]] == [True, True]
    assert again["refused"] == refused


def test_a_batch_with_nothing_good_is_a_422_naming_every_item(client: Any) -> None:
    batch = [_timed("a", BAD_TIMES[0][0]), {"platform": "sim", "id": "b"}, 7]
    reply = client.post("/api/comments", json=batch, headers=AUTH)
    assert reply.status_code == 422
    body = reply.json()
    assert body["field"] == "0.ts"  # the first refusal, named as FastAPI names list fields
    assert body["error"].startswith("no comment stored: item 0: ts is outside the calendar")
    assert "; item 1: user Field required; item 2: a comment is a JSON object" in (body["error"])
    assert client.get("/api/comments", headers=AUTH).json() == []


def test_bad_items_on_the_ingest_socket_get_an_error_and_the_socket_stays(client: Any) -> None:
    with client.websocket_connect(f"/ws/ingest?token={HELPER}") as ws:
        for n, (ts, why) in enumerate(BAD_TIMES):
            ws.send_json(_timed(f"w{n}", ts))
            error = ws.receive_json()
            assert error["type"] == "error" and error["field"] == "ts" and error["index"] == 0
            assert why in error["error"]
        ws.send_json([_timed("bad", BAD_TIMES[1][0]), _timed("good", "2026-11-20T12:00:00Z")])
        mixed = ws.receive_json()
        assert mixed["type"] == "ack" and [r["id"] for r in mixed["results"]] == ["good"]
        assert [(r["index"], r["field"]) for r in mixed["refused"]] == [(0, "ts")]
        ws.send_json([])
        assert ws.receive_json() == {"type": "ack", "results": []}
    assert [c["text"] for c in client.get("/api/comments", headers=AUTH).json()] == ["chốt A2"]


HUGE_INT = "1" * 5000  # over Python's 4,300-digit int-from-string limit: ValueError
DEEP = "[" * 30_000 + "]" * 30_000  # RecursionError in the decoder
SOCKET_ROUTES = {
    "overlay": "/ws/overlay?key=hardening-overlay-key",
    "panel": f"/ws/panel?token={HELPER}",
    "ingest": f"/ws/ingest?token={HELPER}",
}


@pytest.mark.parametrize("route", sorted(SOCKET_ROUTES))
def test_huge_numbers_and_deep_nesting_are_refused_on_every_socket(client: Any, route: str) -> None:
    messages = [HUGE_INT, f'{{"type": "ping", "n": {HUGE_INT}}}', DEEP[:8000] + DEEP[-8000:]]
    if route == "ingest":
        messages.append(DEEP)  # the panel and overlay sockets refuse over 16 KiB anyway
    with client.websocket_connect(SOCKET_ROUTES[route]) as ws:
        if route != "ingest":
            assert ws.receive_json()["type"] == "snapshot"
        for message in messages:
            ws.send_text(message)
            error = ws.receive_json()
            assert error["type"] == "error", message[:20]
            assert "too long" in error["error"] or "too deeply" in error["error"]
        if route == "ingest":  # still open and answering
            ws.send_json([])
            assert ws.receive_json() == {"type": "ack", "results": []}
        else:
            ws.send_json({"type": "ping"})
            assert ws.receive_json() == {"type": "pong"}


def test_huge_numbers_and_deep_nesting_in_rest_bodies_are_422(client: Any) -> None:
    for body in (f"[{HUGE_INT}]", DEEP, f'[{{"platform": "sim", "id": {HUGE_INT}}}]'):
        reply = client.post("/api/comments", content=body, headers=JSON_HEADERS)
        assert reply.status_code == 422, body[:20]
        assert reply.json()["field"] == "body"


# -- uploaded images (issue 10, item 7) -------------------------------------------------------


def _png_header_only(width: int, height: int) -> bytes:
    """A valid PNG announcing ``width`` x ``height`` 1-bit pixels, with almost no data:
    what a decompression bomb looks like before it is decoded."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    ("width", "height", "why"),
    [
        (20_000, 20_000, "too many pixels to open safely"),  # Pillow's own bomb error: was a 500
        (12_000, 12_000, "12000 x 12000 pixels (144 MP) is over 50 MP"),  # was accepted
        (50_000, 1_001, "50000 x 1001 pixels (50 MP) is over 50 MP"),
    ],
)
def test_images_with_too_many_pixels_are_refused_naming_the_file(
    tmp_path: Path, clock: FakeClock, width: int, height: int, why: str
) -> None:
    with open_client(tmp_path / "data", clock, raise_errors=False) as client:
        files = {"file": ("ảnh bom.png", _png_header_only(width, height), "image/png")}
        reply = client.post("/api/products/A2/image", files=files, headers=AUTH)
        assert reply.status_code == 422, reply.text
        assert reply.json() == {"error": f"ảnh bom.png: {why}", "field": "file"}
        assert client.get("/api/products/A2", headers=AUTH).json()["image"] == "a2.png"
    assert sorted(p.name for p in (tmp_path / "data" / "images").glob("[Aa]2*")) == ["a2.png"]


def test_a_code_typed_with_a_hash_in_the_upload_path_gives_a_clean_servable_name(
    client: Any,
) -> None:
    image = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(image, "PNG")
    files = {"file": ("../../x%23y.png", image.getvalue(), "image/png")}
    reply = client.post("/api/products/%23a2/image", files=files, headers=AUTH)
    assert reply.status_code == 200, reply.text
    name = reply.json()["image"]
    assert re.fullmatch(r"A2-[0-9a-f]{12}\.png", name), name
    assert client.get(f"/media/{name}").content == image.getvalue()


def test_the_real_server_answers_bad_json_and_keeps_every_socket(
    server_process: ServerProcess,
) -> None:
    """Under uvicorn, as ``chotdon serve`` runs: these used to end the socket with no code."""
    server_process.start()
    routes = {name: f"{server_process.ws_url}{path}" for name, path in SOCKET_ROUTES.items()}
    bad = {
        "ingest": [
            HUGE_INT,
            DEEP[:30_000] + DEEP[-30_000:],
            json.dumps(_timed("r1", "0001-01-01T00:00:00+01:00")),
        ],
        "panel": [HUGE_INT, DEEP[:8000] + DEEP[-8000:]],
        "overlay": [HUGE_INT, DEEP[:8000] + DEEP[-8000:]],
    }

    async def exchange(name: str) -> list[str]:
        replies = []
        async with connect(routes[name], proxy=None, max_size=None) as ws:
            if name != "ingest":
                assert json.loads(await ws.recv())["type"] == "snapshot"
            for message in [*bad[name], "[]" if name == "ingest" else '{"type": "ping"}']:
                await ws.send(message)
                reply = json.loads(await ws.recv())
                while reply["type"] == "ping":  # a heartbeat crossing our message
                    reply = json.loads(await ws.recv())
                replies.append(reply["type"])
        return replies

    for name in sorted(routes):
        replies = run_async(lambda name=name: exchange(name))  # type: ignore[misc]
        last = "ack" if name == "ingest" else "pong"
        assert replies == ["error"] * len(bad[name]) + [last], name


def test_a_connector_comment_with_an_impossible_time_is_kept_without_it() -> None:
    """Inside the server (connectors) a platform's odd time must not stop the connector."""
    from datetime import datetime, timedelta, timezone

    from server.comments import CommentIn

    year_one = datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1)))
    kept = CommentIn(platform="tiktok", id="1", user="u", text="chốt", ts=year_one)
    assert kept.ts is None and kept.text == "chốt"
    with pytest.raises(ValueError, match="outside the calendar"):
        CommentIn.model_validate(
            {"platform": "tiktok", "id": "1", "user": "u", "ts": year_one},
            context={"untrusted": True},
        )
