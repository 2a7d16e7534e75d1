"""Sockets refuse foreign pages even with the right key; buyer-controlled text never
runs as HTML (real Chromium).

``tests/server`` already covers missing or wrong secrets on every route and the
Origin check on the panel socket; ``tests/browser/test_orders_pages.py`` covers
HTML in a nickname and an ordered comment's text on the feed, the shown comment,
the ticker (unmasked) and the buyer's card. Added here: the Origin check on
every socket route, and the review queue, the questions list, the parse
evidence box, a buyer shown by handle with an HTML address, and the masked
ticker, with the payloads arriving over ``/ws/ingest``.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect
from websockets.sync.client import connect

from .conftest import HELPER, OVERLAY

ROUTES = {
    "overlay": f"/ws/overlay?key={OVERLAY}",
    "panel": f"/ws/panel?token={HELPER}",
    "ingest": f"/ws/ingest?token={HELPER}",
}
FOREIGN = [
    "http://evil.example",
    "http://testserver.evil.example",
    "http://testserver:8080",  # same host name, another port: another origin
]


@pytest.mark.parametrize("route", sorted(ROUTES))
@pytest.mark.parametrize("origin", FOREIGN)
def test_every_socket_refuses_a_foreign_origin_even_with_the_right_key(
    client: TestClient, route: str, origin: str
) -> None:
    headers = {"origin": origin, "host": "testserver"}
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        client.websocket_connect(ROUTES[route], headers=headers) as ws,
    ):
        if route == "ingest":
            ws.send_text("[]")
        ws.receive_json()
    # The ingest route answers a foreign page as it answers a wrong token.
    assert refused.value.code in ((4403,) if route != "ingest" else (4401, 4403))


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_every_socket_lets_in_its_own_pages_and_obs(client: TestClient, route: str) -> None:
    for headers in ({"origin": "http://testserver", "host": "testserver"}, {}):
        with client.websocket_connect(ROUTES[route], headers=headers) as ws:
            if route == "ingest":
                ws.send_text("[]")
            assert ws.receive_json()["type"] in ("snapshot", "ack")


# -- buyer-controlled HTML in a real browser ----------------------------------------

SCRIPT = "<script>alert(1)</script>"
IMAGE = "<img src=x onerror=alert(2)>"
SVG = "<svg onload=alert(3)>"


def _ingest_over_the_socket(live_server: Any, batch: list[dict[str, Any]]) -> list[Any]:
    token = live_server.helper_token
    url = live_server.base_url.replace("http", "ws") + f"/ws/ingest?token={token}"
    with connect(url, proxy=None) as ws:
        ws.send(json.dumps(batch))
        reply = json.loads(ws.recv(timeout=10))
    assert reply["type"] == "ack", reply
    results: list[Any] = reply["results"]
    return results


@pytest.mark.browser
def test_html_in_review_questions_evidence_and_buyers_stays_text(
    live_server: Any, page: Any, api: httpx.Client
) -> None:
    api.post("/api/live/pin", json={"code": "A2"}).raise_for_status()
    batch = [
        {"platform": "sim", "id": "q1", "user": "asker", "nickname": SCRIPT,
         "text": f"{IMAGE} bao nhiêu tiền vậy shop?"},
        {"platform": "sim", "id": "r1", "user": "doubter", "nickname": IMAGE,
         "text": f"{SVG} chốt ZZ9 {SCRIPT}"},
        {"platform": "sim", "id": "o1", "user": IMAGE, "nickname": "", "text": "A2 x2"},
        {"platform": "sim", "id": "o2", "user": "svgfan", "nickname": SVG, "text": "A2 x1"},
    ]  # fmt: skip
    statuses = [r["status"] for r in _ingest_over_the_socket(live_server, batch)]
    assert statuses == ["question", "review", "ordered", "ordered"]
    [buyer] = [b for b in api.get("/api/orders").json() if b["handle"] == IMAGE]
    api.patch(f"/api/customers/{buyer['id']}", json={"address": SVG}).raise_for_status()

    page.goto(live_server.panel_url())
    page.wait_for_selector('#status[data-status="live"]')
    page.click('#tabs button[data-tab="comments"]')
    question = page.locator('#questions [data-comment="1"]')
    review = page.locator('#review [data-comment="2"]')
    question.wait_for()
    review.wait_for()
    assert question.locator(".nick").inner_text() == SCRIPT
    assert question.locator(".text").inner_text() == batch[0]["text"]
    assert review.locator(".nick").inner_text() == IMAGE
    assert review.locator(".text").inner_text() == batch[1]["text"]
    review.locator(".actions button").nth(1).click()  # the parse evidence box
    page.click('#tabs button[data-tab="orders"]')
    card = page.locator(f'#orders [data-customer="{buyer["id"]}"]')
    card.wait_for()
    assert card.locator(".nick").inner_text() == IMAGE  # no nickname: the handle shows
    assert SVG in card.inner_text()

    overlay = page.context.new_page()
    dialogs: list[str] = []
    overlay.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    overlay.goto(live_server.overlay_url())
    overlay.locator(".ticker-text").wait_for()
    assert "<*** o***" in overlay.locator(".ticker-text").inner_text()  # masked, as text

    for view in (page, overlay):
        assert view.locator("img[src='x'], svg[onload], body script:not([src])").count() == 0
    assert page.dialogs == [] and dialogs == []
