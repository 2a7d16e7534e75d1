"""Helpers' actions through the app: review queue, statuses, buyers, the overlay, the log."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from server.app import create_app
from server.events import read_session_events
from server.settings import Settings

from .conftest import HELPER, Api, comment, make_settings


def _strict(tmp_path: Path) -> Settings:
    # Nothing the parser says is confident enough: everything goes to review.
    return make_settings(tmp_path / "strict", order_confidence=1.0)


def test_review_confirm_reserves_like_an_order(tmp_path: Path) -> None:
    with TestClient(create_app(_strict(tmp_path))) as client:
        api = Api(client)
        api.pin("A1")
        [ack] = api.ingest(comment("1", "chốt 3"))
        assert ack["status"] == "review" and api.lines() == []
        [queued] = api.get("/api/comments?status=review")
        assert queued["items"] == [{"code": "A1", "qty": 3}]
        assert api.post(f"/api/comments/{ack['comment_id']}/confirm", {})["status"] == "confirmed"
        assert api.stock("A1") == 37 and api.lines()[0]["status"] == "pending"
        api.post(f"/api/comments/{ack['comment_id']}/confirm", {}, status=409)
        assert api.get("/api/comments?status=review") == []


def test_review_edit_and_reject(tmp_path: Path) -> None:
    with TestClient(create_app(_strict(tmp_path))) as client:
        api = Api(client)
        api.pin("A1")
        first, second = api.ingest(comment("1", "lấy 2 hũ mắm tôm"), comment("2", "chốt 1"))
        edited = {"intent": "order", "items": [{"code": "b2", "qty": 2}]}
        api.post(f"/api/comments/{first['comment_id']}/confirm", edited)
        api.post(f"/api/comments/{second['comment_id']}/reject")
        assert api.get(f"/api/comments/{second['comment_id']}")["status"] == "rejected"
        [line] = api.lines()
        assert (line["code"], line["qty"], line["comment_id"]) == ("B2", 2, first["comment_id"])
        bad = {"intent": "order", "items": [{"code": "ZZ9", "qty": 1}]}
        third = api.ingest(comment("3", "hmm"))[0]["comment_id"]
        api.post(f"/api/comments/{third}/confirm", bad, status=404)
        api.post(f"/api/comments/{third}/confirm", {"intent": "order", "items": []}, status=422)
        assert api.stock("B2") == 23


def test_helpers_move_a_buyer_along_and_cancelling_gives_stock_back(api: Api) -> None:
    api.ingest(comment("1", "A1 x2 B2 x1"), comment("2", "A2 x1", user="minh", nickname="Minh"))
    lan = next(b for b in api.get("/api/orders") if b["handle"] == "lan")
    assert lan["total"] == 2 * 150000 + 320000
    assert api.post(f"/api/orders/buyers/{lan['id']}/status", {"status": "paid"})["moved"] == 2
    api.post(f"/api/orders/buyers/{lan['id']}/status", {"status": "shipped"})
    assert {ln["status"] for ln in api.lines() if ln["customer_id"] == lan["id"]} == {"shipped"}
    assert all(b["handle"] != "lan" for b in api.get("/api/orders"))  # done: off the open list
    api.post("/api/orders/lines/3/status", {"status": "cancelled"})
    api.post("/api/orders/lines/3/status", {"status": "pending"}, status=409)
    api.post("/api/orders/lines/3/status", {"status": "lost"}, status=422)
    api.post("/api/orders/lines/99/status", {"status": "paid"}, status=404)
    assert api.stock("A2") == 120 and api.state()["sold"] == {"A1": 2, "B2": 1}


def test_the_bom_flag_follows_the_buyer(api: Api) -> None:
    api.ingest(comment("1", "A1 x1"))
    [buyer] = api.get("/api/orders")
    patch = {"bom": True, "address": "Chợ Đồn, Bắc Kạn", "notes": "gọi trước"}
    response = api.client.patch(
        f"/api/customers/{buyer['id']}", json=patch, headers={"Authorization": f"Bearer {HELPER}"}
    )
    assert response.status_code == 200 and response.json()["bom"] is True
    [ack] = api.ingest(comment("2", "A3 x1"))
    [buyer] = api.get("/api/orders")
    assert buyer["bom"] is True and buyer["address"] == "Chợ Đồn, Bắc Kạn"
    assert api.get(f"/api/comments/{ack['comment_id']}")["bom"] is True
    history = api.get(f"/api/customers/{buyer['id']}")["orders"]
    assert [ln["code"] for ln in history] == ["A1", "A3"]


def test_orders_reach_the_overlay_and_the_session_log(api: Api, settings: Settings) -> None:
    api.post("/api/live/session/start", {"title": "test"})
    with api.client.websocket_connect("/ws/overlay?key=orders-overlay-key") as overlay:
        snapshot = overlay.receive_json()
        api.ingest(comment("1", "B4 x2", nickname="Hoa Mộc Lan"))
        update = overlay.receive_json()
    assert update["rev"] == snapshot["rev"] + 1
    assert update["set"]["ticker"][0] == {
        "nickname": "H** M** L**", "qty": 2, "unit": "kg", "product": "Cam sành Hàm Yên",
    }  # fmt: skip
    assert update["set"]["sold"] == {"B4": 2} and update["products"]["B4"]["stock"] == 298
    api.ingest(comment("2", "hủy", nickname="Hoa Mộc Lan"))
    session = api.state()["session"]["id"]
    events = read_session_events(None, session, engine=api.client.app.state.ctx.engine)  # type: ignore[attr-defined]
    orders = [(e["type"], e["code"], e["qty"]) for e in events if e["type"].startswith("order")]
    assert orders == [("order_created", "B4", 2), ("order_cancelled", "B4", 2)]


def test_ticker_and_sold_survive_a_restart(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        Api(client).ingest(comment("1", "B1 x1"))
    with TestClient(create_app(settings)) as client:
        state = Api(client).state()
    assert state["sold"] == {"B1": 1} and state["ticker"][0]["product"] == "Chè Shan tuyết cổ thụ"


def test_nicknames_are_shown_in_full_when_masking_is_off(tmp_path: Path) -> None:
    with TestClient(create_app(make_settings(tmp_path / "d", mask_nicknames=False))) as client:
        api = Api(client)
        api.ingest(comment("1", "B1 x1", nickname="Lan"))
        assert api.state()["ticker"][0]["nickname"] == "Lan"


def test_one_tap_shows_a_comment_and_another_hides_it(api: Api) -> None:
    api.post("/api/live/session/start", {})
    [ack] = api.ingest(comment("1", "<b>ngon quá</b>", nickname="<script>x</script>"))
    api.post(f"/api/comments/{ack['comment_id']}/show")
    shown = api.state()["shown_comment"]
    assert shown == {
        "id": ack["comment_id"],
        "nickname": "<script>x</script>",
        "text": "<b>ngon quá</b>",
    }
    api.post("/api/comments/hide")
    assert api.state()["shown_comment"] is None
    api.post("/api/comments/999/show", status=404)


def test_panels_get_new_comments_and_order_news(api: Api) -> None:
    with api.client.websocket_connect(f"/ws/panel?token={HELPER}") as panel:
        panel.receive_json()  # snapshot
        api.ingest(comment("1", "A1 x1"))
        seen: dict[str, Any] = {}
        while not {"comments", "orders_changed"} <= set(seen):
            message = panel.receive_json()
            seen[message["type"]] = message
    assert seen["comments"]["items"][0]["text"] == "A1 x1"
    assert seen["orders_changed"]["customers"] == [1]


def test_the_manual_connector_state_is_listed(api: Api) -> None:
    states = api.get("/api/connectors")
    assert [(s["name"], s["status"]) for s in states] == [("manual", "live")]


def test_new_comments_are_logged_for_the_clip_studio(api: Api) -> None:
    api.post("/api/live/session/start", {"title": "test"})
    api.ingest(comment("q1", "ship HN mấy ngày ạ"), comment("o1", "A2 x1", user="hoa"))
    api.ingest(comment("q1", "ship HN mấy ngày ạ"))  # the same message again: not a new comment
    session = api.state()["session"]["id"]
    engine = api.client.app.state.ctx.engine  # type: ignore[attr-defined]
    received = [
        e
        for e in read_session_events(None, session, engine=engine)
        if e["type"] == "comment_received"
    ]
    assert received == [
        {"t": received[0]["t"], "type": "comment_received", "intent": "question"},
        {"t": received[1]["t"], "type": "comment_received", "intent": "order", "code": "A2"},
    ]


def test_comments_without_orders_spend_no_revision(api: Api) -> None:
    before = api.get("/api/live")["rev"]
    api.ingest(comment("c1", "chào shop ạ"), comment("c2", "bao nhiêu 1 cân?"))
    assert api.get("/api/live")["rev"] == before
    api.ingest(comment("c3", "B1 x1"))
    assert api.get("/api/live")["rev"] == before + 1
