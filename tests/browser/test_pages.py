"""The panel drives the overlay in real headless Chromium."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
from playwright.sync_api import expect

from .conftest import LiveServer

pytestmark = pytest.mark.browser

XSS = "<img src=x onerror=alert(1)>"


def _overlay(browser: Any, url: str) -> Any:
    context = browser.new_context(viewport={"width": 540, "height": 960})
    page = context.new_page()
    page.dialogs = []
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    page.goto(url)
    expect(page.locator("#overlay")).to_have_attribute("data-status", "live")
    return page


def test_tap_on_panel_shows_product_on_overlay_within_a_second(
    live_server: LiveServer, page: Any, browser: Any
) -> None:
    overlay = _overlay(browser, live_server.overlay_url())
    page.goto(live_server.panel_url())
    expect(page.locator("#status")).to_have_attribute("data-status", "live")
    tile = page.locator('.tile[data-code="A2"] .tile-pin')
    expect(tile).to_be_visible()

    started = time.monotonic()
    tile.click()
    card = overlay.locator(".stage .card")
    expect(card.locator(".card-name")).to_have_text("Miến dong Na Rì", timeout=1000)
    expect(card.locator(".price")).to_have_text("55.000 ₫/gói", timeout=1000)
    assert time.monotonic() - started < 1.0
    expect(card.locator(".old-price")).to_have_text("60.000 ₫")
    expect(card.locator(".stock")).to_have_text("Còn 120")
    expect(page.locator('.tile[data-code="A2"]')).to_have_class("tile pinned")


def test_overlay_reload_shows_exactly_what_was_on_air(
    api: Any, live_server: LiveServer, browser: Any
) -> None:
    api.post("/api/live/pin", json={"code": "b2"}).raise_for_status()
    api.post("/api/live/countdown", json={"seconds": 300}).raise_for_status()
    api.post("/api/live/price", json={"code": "B2", "price": 300000}).raise_for_status()
    overlay = _overlay(browser, live_server.overlay_url("landscape"))
    expect(overlay.locator(".card .price")).to_have_text("300.000 ₫/chai")
    overlay.reload()
    expect(overlay.locator("#overlay")).to_have_attribute("data-status", "live")
    expect(overlay.locator(".card .card-name")).to_have_text("Mật ong bạc hà")
    expect(overlay.locator(".card .price")).to_have_text("300.000 ₫/chai")
    expect(overlay.locator(".countdown")).to_be_visible()
    assert overlay.locator(".stage").get_attribute("class") == "stage layout-landscape"


def test_hiding_an_element_hides_it_on_the_overlay(
    api: Any, live_server: LiveServer, page: Any, browser: Any
) -> None:
    overlay = _overlay(browser, live_server.overlay_url())
    api.post("/api/live/pin", json={"code": "A1"}).raise_for_status()
    expect(overlay.locator(".card")).to_be_visible()
    page.goto(live_server.panel_url())
    page.locator("#tabs button[data-tab=controls]").click()
    page.locator('#elements input[data-element="card"]').uncheck()
    expect(overlay.locator(".card")).to_be_hidden(timeout=1000)


def test_quick_edit_changes_the_price_on_air(
    api: Any, live_server: LiveServer, page: Any, browser: Any
) -> None:
    overlay = _overlay(browser, live_server.overlay_url())
    api.post("/api/live/pin", json={"code": "A3"}).raise_for_status()
    page.goto(live_server.panel_url())
    page.locator('.tile[data-code="A3"] .tile-edit').click()
    page.locator("#edit-price").fill("42000")
    page.locator("#edit-stock").fill("7")
    page.locator("#edit-save").click()
    expect(overlay.locator(".card .price")).to_have_text("42.000 ₫/kg")
    expect(overlay.locator(".card .stock")).to_have_text("Còn 7")
    expect(page.locator('.tile[data-code="A3"] .tile-price')).to_have_text("42.000 ₫/kg")


def test_sale_price_above_price_is_refused_in_the_editor(
    live_server: LiveServer, page: Any
) -> None:
    page.goto(live_server.panel_url())
    page.locator('.tile[data-code="A3"] .tile-edit').click()
    page.locator("#edit-sale").fill("99000")
    page.locator("#edit-save").click()
    expect(page.locator("#editor-error")).not_to_be_empty()
    expect(page.locator("#editor")).to_be_visible()


def test_product_name_with_html_shows_as_text(
    api: Any, live_server: LiveServer, page: Any, browser: Any
) -> None:
    body = {"code": "X1", "name": XSS, "price": 10000, "unit": "<b>kg</b>", "stock": 3}
    api.post("/api/products", json=body).raise_for_status()
    api.post("/api/live/pin", json={"code": "X1"}).raise_for_status()
    overlay = _overlay(browser, live_server.overlay_url())
    expect(overlay.locator(".card .card-name")).to_have_text(XSS)
    expect(overlay.locator(".card .price")).to_have_text("10.000 ₫/<b>kg</b>")
    assert overlay.locator(".card .card-name img").count() == 0
    page.goto(live_server.panel_url())
    expect(page.locator('.tile[data-code="X1"] .tile-name')).to_have_text(XSS)
    assert page.locator(".tile-name img").count() == 0
    assert overlay.dialogs == [] and page.dialogs == []


def test_panel_without_token_asks_to_scan(live_server: LiveServer, page: Any) -> None:
    page.goto(f"{live_server.base_url}/panel")
    expect(page.locator("#status")).to_have_attribute("data-status", "unauthorized")
    expect(page.locator("#notice")).to_be_visible()


def test_laptop_page_shows_join_qr_and_overlay_urls(live_server: LiveServer, page: Any) -> None:
    page.goto(f"{live_server.base_url}/")
    expect(page.locator("#join")).to_be_visible()
    expect(page.locator("#overlay-portrait")).to_contain_text(f"key={live_server.overlay_key}")
    expect(page.locator("#panel-url")).to_contain_text(f"#token={live_server.helper_token}")
    natural = page.locator("#qr").evaluate("img => img.complete && img.naturalWidth")
    assert natural > 0


def test_payment_qr_follows_the_pinned_price(
    api: Any, live_server: LiveServer, browser: Any
) -> None:
    api.post("/api/live/pin", json={"code": "A1"}).raise_for_status()
    api.post("/api/live/element", json={"element": "qr", "visible": True}).raise_for_status()
    overlay = _overlay(browser, live_server.overlay_url())
    expect(overlay.locator(".qr .qr-label")).to_have_text("Quét để trả 150.000 ₫")
    loaded = overlay.locator(".qr img").evaluate("img => img.decode().then(() => img.naturalWidth)")
    assert loaded > 0


def _price_now_on_the_wire(code: str, price_now: int) -> Any:
    """A socket route that changes one product's ``price_now`` in every message.

    Only the server decides what a buyer pays; with a value no client rule could
    derive from price and sale_price, the pages can only show it by reading it.
    """

    def rewrite(text: str | bytes) -> str | bytes:
        message = json.loads(text)
        products = (message.get("state") or {}).get("products") or message.get("products")
        if isinstance(products, dict) and products.get(code):
            products[code]["price_now"] = price_now
        return json.dumps(message, ensure_ascii=False)

    def route(ws: Any) -> None:
        server = ws.connect_to_server()
        server.on_message(lambda text: ws.send(rewrite(text)))
        ws.on_message(server.send)

    return route


def test_pages_show_the_servers_price_now(api: Any, live_server: LiveServer, browser: Any) -> None:
    api.post("/api/live/pin", json={"code": "A3"}).raise_for_status()
    api.post("/api/live/element", json={"element": "qr", "visible": True}).raise_for_status()
    context = browser.new_context(viewport={"width": 540, "height": 960})
    context.route_web_socket(re.compile(r"/ws/"), _price_now_on_the_wire("A3", 39000))
    overlay = context.new_page()
    overlay.goto(live_server.overlay_url())
    card = overlay.locator(".card")
    expect(card.locator(".price")).to_have_text("39.000 ₫/kg")
    expect(card.locator(".old-price")).to_have_text("45.000 ₫")
    expect(overlay.locator(".qr .qr-label")).to_have_text("Quét để trả 39.000 ₫")
    panel = context.new_page()
    panel.goto(live_server.panel_url())
    tile = panel.locator('.tile[data-code="A3"]')
    expect(tile.locator(".tile-price")).to_have_text("39.000 ₫/kg")
    expect(tile.locator(".tile-old-price")).to_have_text("45.000 ₫")
    # A price the server sends as it is: nothing struck through.
    api.post("/api/live/price", json={"code": "A3", "price": 39000}).raise_for_status()
    expect(card.locator(".price")).to_have_text("39.000 ₫/kg")
    expect(card.locator(".old-price")).to_have_count(0)
    expect(tile.locator(".tile-old-price")).to_have_count(0)
    context.close()
