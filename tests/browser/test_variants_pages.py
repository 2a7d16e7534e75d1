"""Variants on screen: the overlay card lists them with prices, the panel with stock."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from .conftest import LiveServer

pytestmark = pytest.mark.browser

BAG = {
    "code": "B6",
    "name": "Túi thổ cẩm",
    "price": 200000,
    "unit": "cái",
    "variants": [
        {"key": "xanh", "name": "Túi xanh", "price": 200000, "stock": 1, "aliases": ["xanh"]},
        {"key": "vang", "name": "Túi vàng", "price": 210000, "sale_price": 190000, "stock": 2},
    ],
}


def test_overlay_card_and_panel_show_the_pinned_products_variants(
    api: Any, live_server: LiveServer, browser: Any, page: Any
) -> None:
    api.post("/api/products", json=BAG).raise_for_status()
    api.post("/api/live/pin", json={"code": "B6"}).raise_for_status()
    context = browser.new_context(viewport={"width": 540, "height": 960})
    overlay = context.new_page()
    overlay.goto(live_server.overlay_url())
    expect(overlay.locator("#overlay")).to_have_attribute("data-status", "live")
    items = overlay.locator(".card .card-variants .variant")
    expect(items).to_have_count(2)
    expect(items.nth(0)).to_contain_text("Túi xanh")
    expect(items.nth(0).locator(".variant-price")).to_have_text("200.000 ₫")
    expect(items.nth(1).locator(".variant-price")).to_have_text("190.000 ₫")
    expect(overlay.locator(".card .stock")).to_have_text("Còn 3")

    # The blue bag sells out through a comment: the card greys it out, live.
    api.post(
        "/api/comments",
        json=[{"platform": "sim", "id": "1", "user": "lan", "nickname": "Lan",
               "text": "lấy túi xanh"}],
    ).raise_for_status()  # fmt: skip
    expect(overlay.locator('.card .variant[data-key="XANH"]')).to_have_class("variant out")
    expect(overlay.locator(".card .stock")).to_have_text("Còn 2")

    page.goto(live_server.panel_url())
    expect(page.locator("#status")).to_have_attribute("data-status", "live")
    tile = page.locator('.tile[data-code="B6"] .tile-variants li')
    expect(tile).to_have_count(2)
    expect(tile.nth(1)).to_have_text("Túi vàng · 190.000 ₫ · Còn 2")
    expect(tile.nth(0)).to_have_class("empty")
    assert page.dialogs == [] and overlay.url.startswith(live_server.base_url)
    context.close()
