"""The panel's stores in real Chromium: socket pushes and REST reloads never undo each other."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from .conftest import LiveServer

pytestmark = pytest.mark.browser

FEED = "/api/comments?limit=100"


def _post(api: Any, text: str) -> int:
    reply = api.post("/api/comments/manual", json={"text": text, "nickname": "Lan"})
    reply.raise_for_status()
    body = reply.json()
    # Plain chat: it lands in the feed only, so only the (held) feed request can list it.
    assert body["status"] != "review" and body["intent"] != "question", body
    return int(body["comment_id"])


def test_comment_pushed_while_the_list_reloads_is_not_lost(
    api: Any, live_server: LiveServer, page: Any
) -> None:
    page.goto(live_server.panel_url())
    expect(page.locator("#status")).to_have_attribute("data-status", "live")
    page.click('#tabs button[data-tab="comments"]')
    tab = page.locator("#tab-comments")
    first = _post(api, "Hàng đẹp quá shop ơi")
    expect(page.locator(f'#feed [data-comment="{first}"]')).to_be_visible()
    expect(tab).to_have_attribute("aria-busy", "false")

    held: list[tuple[Any, Any, int]] = []

    def hold(route: Any) -> None:
        # The server answers the reload now; the comment is posted (and pushed to the
        # panel) only after that answer was read, and the answer is delivered later.
        response = route.fetch()
        held.append((route, response, _post(api, "Livestream vui quá")))

    page.route(lambda url: url.endswith(FEED), hold, times=1)
    # A dropped connection: the panel reconnects, gets a snapshot and reloads the lists.
    page.evaluate("window.chotdonPanel.live.socket.ws.close()")
    pushed = page.locator('#feed [data-comment="2"]')
    expect(pushed).to_be_visible()  # the push arrived while the reload was held
    expect(tab).to_have_attribute("aria-busy", "true")
    route, response, second = held[0]
    assert second == 2
    assert [c["id"] for c in response.json()] == [first]  # the reload's answer is stale

    route.fulfill(response=response)
    expect(tab).to_have_attribute("aria-busy", "false")
    expect(pushed).to_be_visible()
    expect(pushed.locator(".text")).to_have_text("Livestream vui quá")
    expect(page.locator(f'#feed [data-comment="{first}"]')).to_be_visible()
    ids = page.locator("#feed [data-comment]").evaluate_all(
        "nodes => nodes.map(n => Number(n.dataset.comment))"
    )
    assert ids == [second, first]


def test_orders_changed_during_a_reload_fetches_the_book_again(
    api: Any, live_server: LiveServer, page: Any
) -> None:
    page.goto(live_server.panel_url())
    expect(page.locator("#status")).to_have_attribute("data-status", "live")
    page.click('#tabs button[data-tab="orders"]')
    expect(page.locator("#orders")).to_contain_text("Chưa có đơn nào.")
    held: list[tuple[Any, Any]] = []

    def hold(route: Any) -> None:
        response = route.fetch()  # read before the order exists
        reply = api.post("/api/comments/manual", json={"text": "A3 x2", "nickname": "Mai"})
        reply.raise_for_status()
        assert reply.json()["status"] == "ordered", reply.json()
        held.append((route, response))

    page.route(lambda url: url.endswith("/api/orders"), hold, times=1)
    page.evaluate("window.chotdonPanel.live.socket.ws.close()")
    # The "orders_changed" push came while the stale answer was held: one more fetch is due.
    page.wait_for_function("() => window.chotdonPanel.orders.again === true")
    route, response = held[0]
    assert response.json() == []
    route.fulfill(response=response)
    buyer = page.locator("#orders [data-customer]")
    expect(buyer.locator(".nick")).to_have_text("Mai")
    expect(buyer.locator(".lines")).to_contain_text("A3")
