"""Real Chromium: the after-live report draws the session's real numbers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.orders.conftest import Api
from tests.server.stats_session import Clock, build_session, freeze


class HttpApi(Api):
    """The tests' helper actions, over real HTTP to the live server."""

    def post(self, path: str, body: Any = None, status: int = 200) -> Any:
        response = self.client.post(path, json=body)
        assert response.status_code == status, response.text
        return response.json()

    def get(self, path: str) -> Any:
        response = self.client.get(path)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return freeze(monkeypatch)


@pytest.fixture
def wide(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1100, "height": 1400}, accept_downloads=True)
    yield context.new_page()
    context.close()


def _boxes(page: Any, selector: str) -> list[dict[str, Any]]:
    return list(
        page.eval_on_selector_all(
            selector,
            """nodes => nodes.map(n => ({value: Number(n.dataset.value), t: n.dataset.t,
                code: n.dataset.code, height: n.getBoundingClientRect().height,
                width: n.getBoundingClientRect().width}))""",
        )
    )


def test_the_report_charts_show_the_sessions_numbers(
    live_server: Any, api: httpx.Client, wide: Any, clock: Clock
) -> None:
    session = build_session(HttpApi(api), clock)  # type: ignore[arg-type]
    stats = api.get(f"/api/sessions/{session}/stats").json()
    wide.goto(f"{live_server.base_url}/report/{session}#token={live_server.helper_token}")
    wide.wait_for_selector("body[data-ready='1']")

    assert wide.locator("h1").inner_text() == "Báo cáo phiên live"
    assert wide.locator("[data-key='revenue'] .value").inner_text() == "240.000 ₫"
    assert wide.locator("[data-key='orders'] .value").inner_text() == str(stats["orders"])

    orders = _boxes(wide, "#timeline svg .bar-orders")
    assert [(b["t"], b["value"]) for b in orders] == [
        (m["t"], m["orders"]) for m in stats["per_minute"]
    ]
    peak = max(b["value"] for b in orders)
    tallest = max(b["height"] for b in orders)
    for bar in orders:  # drawn heights are in proportion to the counts
        assert bar["height"] == pytest.approx(tallest * bar["value"] / peak, abs=0.5)
    comments = _boxes(wide, "#timeline svg .bar-comments")
    assert [b["value"] for b in comments] == [m["comments"] for m in stats["per_minute"]]
    bands = _boxes(wide, "#timeline svg .band")
    assert [b["code"] for b in bands] == ["A1", "B4"] and all(b["width"] > 0 for b in bands)

    revenue = _boxes(wide, "#products svg .bar-revenue")
    assert [(b["code"], b["value"]) for b in revenue] == [
        (p["code"], p["revenue"]) for p in stats["products"]
    ]
    assert revenue[1]["width"] == pytest.approx(revenue[0]["width"] * 90_000 / 150_000, abs=0.5)
    labels = wide.locator("#products svg .product-label").all_text_contents()
    assert labels[0] == "A1 · Hạt dẻ Ngân Sơn"
    assert wide.locator("#questions td").all_inner_texts()[1:] == ["Hoa", "còn hàng không shop?"]

    with wide.expect_download() as download:
        wide.click("#download-pdf")
    assert download.value.suggested_filename == f"bao-cao-phien-{session}.pdf"


def test_the_report_speaks_english_and_refuses_without_a_token(
    live_server: Any, api: httpx.Client, wide: Any, clock: Clock
) -> None:
    session = build_session(HttpApi(api), clock)  # type: ignore[arg-type]
    wide.goto(f"{live_server.base_url}/report/{session}?lang=en#token={live_server.helper_token}")
    wide.wait_for_selector("body[data-ready='1']")
    assert wide.locator("h1").inner_text() == "Live session report"
    assert "Orders per minute" in wide.locator("#timeline svg").inner_html()
    wide.emulate_media(media="print")  # what the print button gives: A4, no buttons
    assert not wide.locator("#print").is_visible() and wide.locator("#timeline svg").is_visible()
    printed = wide.pdf(prefer_css_page_size=True)
    assert b"/MediaBox [0 0 594.95996 841.91998]" in printed

    fresh = wide.context.browser.new_context()
    page = fresh.new_page()
    page.goto(f"{live_server.base_url}/report/{session}")  # no token anywhere
    page.locator("#notice").wait_for()
    assert "helper token" in page.locator("#notice").inner_text()
    fresh.close()


def _ingest(api: httpx.Client, cid: str, text: str, user: str) -> None:
    body = [{"platform": "sim", "id": cid, "user": user, "nickname": user, "text": text}]
    api.post("/api/comments", json=body).raise_for_status()


def test_the_panel_strip_and_the_sold_element_follow_orders(
    live_server: Any, api: httpx.Client, page: Any
) -> None:
    api.post("/api/live/session/start", json={"title": "strip"}).raise_for_status()
    api.post("/api/live/pin", json={"code": "A1"}).raise_for_status()
    _ingest(api, "1", "A1 x2", "lan")
    page.goto(live_server.panel_url())
    revenue = page.locator("#stats [data-key='revenue'] .stat-value")
    revenue.wait_for()
    assert revenue.inner_text() == "300.000 ₫"
    assert page.locator("#stats [data-key='top'] .stat-value").inner_text() == "A1 ×2"

    _ingest(api, "2", "A1 x1", "minh")  # the order push brings the strip up to date
    orders = "#stats [data-key='orders'] .stat-value"
    page.wait_for_function(f'() => document.querySelector("{orders}").textContent === "2"')
    assert revenue.inner_text() == "450.000 ₫"
    assert page.locator("#stats [data-key='ordered'] .stat-value").inner_text() == "2/2"
    session = api.get("/api/live").json()["state"]["session"]["id"]
    assert page.locator("#stats .stat-report").get_attribute("href") == f"/report/{session}"

    api.post("/api/live/element", json={"element": "sales", "visible": True}).raise_for_status()
    overlay = page.context.new_page()
    overlay.goto(live_server.overlay_url())
    overlay.locator(".sales:not(.hidden)").wait_for()
    assert overlay.locator(".sales").inner_text() == "Đã bán 3 kg"
    page.click('#tabs button[data-tab="controls"]')
    toggle = page.locator('#elements input[data-element="sales"]')
    assert toggle.is_checked()
    toggle.uncheck()
    overlay.locator(".sales.hidden").wait_for(state="attached")
