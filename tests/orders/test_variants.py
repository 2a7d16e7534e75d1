"""Variants end to end in the order book: parsed, priced, reserved, reviewed, exported."""

from __future__ import annotations

import csv
import io

from server.events import read_session_events

from .conftest import AUTH, HELPER, Api, comment

BAG = {
    "code": "B6",
    "name": "Túi thổ cẩm",
    "price": 200000,
    "unit": "cái",
    "aliases": ["túi thổ cẩm", "thổ cẩm"],
    "variants": [
        {"key": "xanh", "name": "Túi xanh", "price": 200000, "stock": 4, "aliases": ["xanh"]},
        {"key": "vang", "name": "Túi vàng", "price": 210000, "sale_price": 190000, "stock": 2,
         "aliases": ["vàng"]},
    ],
}  # fmt: skip


def _bags(api: Api) -> dict[str, int]:
    return {v["key"]: v["stock"] for v in api.get("/api/products/B6")["variants"]}


def _with_bag(api: Api) -> None:
    api.post("/api/products", BAG, status=201)
    api.pin("B6")


def test_a_variant_named_while_its_product_is_pinned_is_ordered_and_reserved(api: Api) -> None:
    _with_bag(api)
    [ack] = api.ingest(comment("1", "lấy túi xanh"))
    assert ack["status"] == "ordered"
    [line] = api.lines()
    assert (line["code"], line["variant"], line["variant_name"]) == ("B6", "XANH", "Túi xanh")
    assert (line["qty"], line["unit_price"], line["status"]) == (1, 200000, "pending")
    assert _bags(api) == {"XANH": 3, "VANG": 2}
    assert api.stock("B6") == 5  # the overlay's "còn" for the product
    assert api.state()["products"]["B6"]["variants"][0]["stock"] == 3


def test_two_variants_in_one_comment_are_two_lines_at_their_own_prices(api: Api) -> None:
    _with_bag(api)
    [ack] = api.ingest(comment("1", "1 túi xanh và 1 túi vàng, Lan 0912345678"))
    assert ack["status"] == "ordered"
    lines = sorted((ln["variant"], ln["unit_price"]) for ln in api.lines())
    assert lines == [("VANG", 190000), ("XANH", 200000)]
    assert _bags(api) == {"XANH": 3, "VANG": 1}


def test_the_same_buyer_may_take_another_variant_right_after(api: Api) -> None:
    _with_bag(api)
    api.ingest(comment("1", "lấy túi xanh"))
    [ack] = api.ingest(comment("2", "lấy túi vàng"))
    assert ack["status"] == "ordered"  # not a repeat of the first: another variant
    assert _bags(api) == {"XANH": 3, "VANG": 1}


def test_an_order_naming_no_variant_goes_to_review_and_needs_one_to_confirm(api: Api) -> None:
    _with_bag(api)
    [ack] = api.ingest(comment("1", "chốt 2"))
    assert ack["status"] == "review" and api.lines() == []
    assert _bags(api) == {"XANH": 4, "VANG": 2}
    url = f"/api/comments/{ack['comment_id']}/confirm"
    refused = api.post(url, {}, status=422)
    assert refused["field"] == "variant" and "XANH" in refused["error"]
    api.post(url, {"items": [{"code": "B6", "qty": 2, "variant": "vàng"}]})
    [line] = api.lines()
    assert (line["variant"], line["unit_price"]) == ("VANG", 190000)
    assert _bags(api) == {"XANH": 4, "VANG": 0}


def test_cancel_and_the_waitlist_work_per_variant(api: Api) -> None:
    _with_bag(api)
    api.ingest(comment("1", "lấy 2 túi vàng", user="an"))
    [late] = api.ingest(comment("2", "lấy túi vàng", user="binh"))
    assert late["status"] == "waitlist" and _bags(api)["VANG"] == 0
    [ack] = api.ingest(comment("3", "hủy", user="an"))
    assert ack["status"] == "cancelled"
    # The cancelled two went back to the yellow bags, and the waiting buyer got one.
    assert _bags(api) == {"XANH": 4, "VANG": 1}
    waiting = [ln for ln in api.lines() if ln["comment_id"] == late["comment_id"]]
    assert waiting[0]["status"] == "pending" and waiting[0]["variant"] == "VANG"


def test_the_demo_catalog_sells_bamboo_shoots_by_pack(api: Api) -> None:
    api.pin("B3")
    [ack] = api.ingest(comment("1", "lấy 2 túi 500g"))
    assert ack["status"] == "ordered"
    [line] = api.lines()
    assert (line["variant"], line["qty"], line["unit_price"]) == ("500G", 2, 150000)
    [plain] = api.ingest(comment("2", "chốt 1 kg", user="an"))
    assert plain["status"] == "review"


def test_exports_and_slips_show_the_variant(api: Api) -> None:
    _with_bag(api)
    api.ingest(comment("1", "lấy túi xanh", nickname="=cmd|' /C calc'!A0"))
    text = api.client.get(f"/api/orders/export.csv?scope=all&token={HELPER}").content
    rows = list(csv.reader(io.StringIO(text.decode("utf-8-sig"))))
    col = {name: k for k, name in enumerate(rows[0])}
    assert rows[1][col["Phân loại"]] == "Túi xanh"
    assert rows[1][col["Người mua"]].startswith("'=")  # formula-safe, as every cell
    assert rows[-1][col["Thành tiền"]] == "200000"
    buyers = api.client.get("/api/orders/export.csv?by=buyer", headers=AUTH).content
    assert "B6 Túi thổ cẩm (Túi xanh) × 1" in buyers.decode("utf-8-sig")
    slips = api.client.get(f"/api/orders/slips?token={HELPER}").text
    assert "Túi thổ cẩm (Túi xanh)" in slips


def test_the_session_log_keeps_the_line_price(api: Api) -> None:
    api.post("/api/live/session/start", {"title": "túi"})
    _with_bag(api)
    api.ingest(comment("1", "lấy túi vàng"))
    engine = api.client.app.state.ctx.engine  # type: ignore[attr-defined]
    events = read_session_events(None, api.state()["session"]["id"], engine=engine)
    created = [e for e in events if e["type"] == "order_created"]
    assert (created[-1]["code"], created[-1]["price"]) == ("B6", 190000)
    assert created[-1]["variant"] == "VANG"
    assert api.state()["ticker"][0]["product"] == "Túi thổ cẩm · Túi vàng"


def test_a_cancel_naming_a_variant_cancels_only_that_variant(api: Api) -> None:
    _with_bag(api)
    api.ingest(comment("1", "1 túi xanh và 1 túi vàng"))
    assert _bags(api) == {"XANH": 3, "VANG": 1}
    [ack] = api.ingest(comment("2", "hủy túi vàng"))
    assert ack["status"] == "cancelled"
    assert _bags(api) == {"XANH": 3, "VANG": 2}
    statuses = {ln["variant"]: ln["status"] for ln in api.lines()}
    assert statuses == {"XANH": "pending", "VANG": "cancelled"}


def test_a_helper_may_type_the_variant_into_the_code_box(api: Api) -> None:
    _with_bag(api)
    [ack] = api.ingest(comment("1", "chốt 1"))
    api.post(
        f"/api/comments/{ack['comment_id']}/confirm", {"items": [{"code": "b6/xanh", "qty": 1}]}
    )
    assert [(ln["variant"], ln["variant_name"]) for ln in api.lines()] == [("XANH", "Túi xanh")]
