"""Ingestion through the real app: REST and websocket, idempotence, durability, buyers."""

from __future__ import annotations

import json
import string
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, func, select, text
from starlette.websockets import WebSocketDisconnect

from server.db import comments, customers
from server.settings import Settings
from tests.pg import url_of

from .conftest import HELPER, Api, comment


def test_a_confident_order_is_stored_acked_and_reserves_stock(api: Api) -> None:
    api.pin("A1")
    [ack] = api.ingest(comment("m1", "chốt 3"))
    assert ack["status"] == "ordered" and ack["intent"] == "order" and not ack["duplicate"]
    assert api.stock("A1") == 37
    [line] = api.lines()
    assert (line["code"], line["qty"], line["status"], line["unit_price"]) == (
        "A1",
        3,
        "pending",
        150000,
    )


def test_the_same_message_id_twice_is_one_comment(api: Api) -> None:
    api.pin("A1")
    first = api.ingest(comment("m1", "chốt 2"), comment("m1", "chốt 2"))
    again = api.ingest(comment("m1", "chốt 2"))
    assert [a["duplicate"] for a in first + again] == [False, True, True]
    assert {a["comment_id"] for a in first + again} == {first[0]["comment_id"]}
    assert again[0]["status"] == "ordered"
    assert api.stock("A1") == 38 and len(api.lines()) == 1
    assert len(api.get("/api/comments")) == 1


def test_same_id_on_another_platform_is_another_comment(api: Api) -> None:
    acks = api.ingest(comment("x", "hello"), {**comment("x", "hello"), "platform": "tiktok"})
    assert [a["duplicate"] for a in acks] == [False, False]


def test_an_acked_comment_is_in_the_database_file(api: Api, settings: Settings) -> None:
    [ack] = api.ingest(comment("d1", "chị ơi còn hàng không", nickname="Hoa"))
    # A fresh connection, outside the app's engine and pool, sees it committed.
    raw = create_engine(url_of(Path(settings.data_dir or "."), settings.database_url))
    with raw.connect() as conn:
        row = conn.execute(
            text("SELECT message_id, text, status FROM comments WHERE id = :i"),
            {"i": ack["comment_id"]},
        ).one()
    raw.dispose()
    assert tuple(row) == ("d1", "chị ơi còn hàng không", "question")


def test_buyers_are_upserted_with_the_latest_name_and_phone(api: Api) -> None:
    api.ingest(comment("c1", "chào shop", nickname="Lan"))
    api.ingest(comment("c2", "sdt em 0977.123.456 nhé", nickname="Lan Nguyễn"))
    [buyer] = api.get("/api/customers")
    assert (buyer["handle"], buyer["nickname"], buyer["phone"]) == (
        "lan",
        "Lan Nguyễn",
        "0977123456",
    )
    detail = api.get(f"/api/customers/{buyer['id']}")
    assert detail["orders"] == []


def test_questions_and_chatter_never_become_orders(api: Api) -> None:
    api.pin("B1")
    acks = api.ingest(
        comment("q1", "3 hộp thì bao nhiêu tiền?"),
        comment("q2", "B5 còn hàng không ạ"),
        comment("o1", "tuần trước mua 2 hộp ăn hết rồi"),
    )
    assert [a["status"] for a in acks] == ["question", "question", "other"]
    assert api.lines() == [] and api.stock("B1") == 35
    questions = api.get("/api/comments?status=question")
    assert [q["text"] for q in questions] == ["B5 còn hàng không ạ", "3 hộp thì bao nhiêu tiền?"]


def test_an_unknown_product_code_goes_to_review(api: Api) -> None:
    [ack] = api.ingest(comment("u1", "B7 x1 0977 123 456"))
    assert ack["status"] == "review"
    assert [c["id"] for c in api.get("/api/comments?status=review")] == [ack["comment_id"]]


def test_the_websocket_acks_with_stored_ids(client: TestClient, api: Api) -> None:
    api.pin("A2")
    with client.websocket_connect(f"/ws/ingest?token={HELPER}") as ws:
        ws.send_text(json.dumps(comment("w1", "lấy 2 gói")))
        first = ws.receive_json()
        ws.send_text(json.dumps([comment("w1", "lấy 2 gói"), comment("w2", "hi", user="tuan")]))
        second = ws.receive_json()
        ws.send_text("not json")
        bad = ws.receive_json()
        ws.send_text(json.dumps({"platform": "myspace", "id": "1", "user": "a"}))
        invalid = ws.receive_json()
    assert first["type"] == "ack" and first["results"][0]["status"] == "ordered"
    assert [r["duplicate"] for r in second["results"]] == [True, False]
    assert bad["type"] == "error" and invalid["type"] == "error" and "platform" in invalid["error"]
    assert api.stock("A2") == 118


def test_the_websocket_needs_the_helper_token(client: TestClient) -> None:
    with (
        pytest.raises(WebSocketDisconnect) as closed,
        client.websocket_connect("/ws/ingest?token=wrong") as ws,
    ):
        ws.receive_text()
    assert closed.value.code == 4401


def test_rest_ingestion_needs_the_token_and_valid_comments(client: TestClient) -> None:
    assert client.post("/api/comments", json=[comment("a", "x")]).status_code == 401
    bad = client.post(
        "/api/comments",
        json=[{"platform": "sim", "id": "", "user": "a"}],
        headers={"Authorization": f"Bearer {HELPER}"},
    )
    assert bad.status_code == 422


def test_the_manual_box_makes_one_buyer_per_typed_name(api: Api) -> None:
    api.pin("A3")
    first = api.post("/api/comments/manual", {"text": "lấy 2 cân", "nickname": "Cô Hạnh"})
    second = api.post("/api/comments/manual", {"text": "thêm 1 kg nếp", "nickname": "cô  hạnh"})
    assert first["status"] == "ordered" and second["status"] == "ordered"
    [buyer] = api.get("/api/orders")
    assert buyer["platform"] == "manual" and buyer["handle"] == "manual:cô hạnh"
    assert sum(ln["qty"] for ln in buyer["lines"]) == 3
    api.post("/api/comments/manual", {"text": "   ", "nickname": "x"}, status=422)


def _counts(settings: Settings) -> tuple[int, int, int]:
    engine = create_engine(url_of(Path(settings.data_dir or "."), settings.database_url))
    with engine.connect() as conn:
        total = conn.scalar(select(func.count()).select_from(comments)) or 0
        half = conn.scalar(
            select(func.count())
            .select_from(comments)
            .where(comments.c.parse.is_(None) | comments.c.status.is_(None))
        )
        buyers = conn.scalar(select(func.count()).select_from(customers)) or 0
    engine.dispose()
    return total, half or 0, buyers


TEXT = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs",)) | st.sampled_from(string.digits),
    max_size=300,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(texts=st.lists(TEXT, min_size=1, max_size=5), nickname=TEXT.map(lambda t: t[:200]))
def test_ingestion_never_crashes_and_never_stores_half_a_comment(
    api: Api, settings: Settings, texts: list[str], nickname: str
) -> None:
    before, _, _ = _counts(settings)
    start = before + 1
    batch = [
        comment(f"h{start + i}", text, user=f"u{i}", nickname=nickname)
        for i, text in enumerate(texts)
    ]
    acks = api.ingest(*batch)
    assert len(acks) == len(texts) and not any(a["duplicate"] for a in acks)
    total, half, _ = _counts(settings)
    assert total == before + len(texts) and half == 0
    for product in api.get("/api/products"):
        assert product["stock"] >= 0
