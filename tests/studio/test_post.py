"""studio.post: the Vietnamese post caption."""

from __future__ import annotations

from dataclasses import replace

import pytest

from assets import DEMO_DIR
from studio.catalog import read_catalog
from studio.plan import ClipPlan
from studio.post import hashtags, post_caption

PLAN = ClipPlan("01-a1-hat-de-ngan-son.mp4", "A1", 10.0, 40.0, 0.8, "Hạt dẻ Ngân Sơn")


def test_caption_has_name_price_call_to_order_and_hashtags() -> None:
    product = read_catalog(DEMO_DIR / "catalog.csv")["A1"]
    text = post_caption(PLAN, product)
    assert "Hạt dẻ Ngân Sơn" in text
    assert "150.000 ₫/kg" in text and "180.000 ₫/kg" in text
    assert "chốt đơn" in text and '"A1 + số lượng"' in text
    last = text.strip().splitlines()[-1]
    assert last.startswith("#") and "#hatdenganson" in last and "#backan" in last


def test_caption_without_sale_shows_one_price() -> None:
    product = read_catalog(DEMO_DIR / "catalog.csv")["A3"]
    text = post_caption(PLAN, product)
    assert "45.000 ₫/kg" in text and "giá gốc" not in text


def test_caption_without_product_uses_the_title() -> None:
    text = post_caption(replace(PLAN, code=None), None)
    assert "Hạt dẻ Ngân Sơn" in text and "chốt đơn" in text
    assert hashtags(None) == ["#dacsan", "#nongsanviet", "#chotdon"]


def test_post_text_in_each_language() -> None:
    product = read_catalog(DEMO_DIR / "catalog.csv")["A1"]
    assert '"A1 + số lượng"' in post_caption(PLAN, product)
    indonesian = post_caption(PLAN, product, "id")
    assert 'Komen "A1 + jumlah"' in indonesian and "Hanya 150.000 ₫/kg" in indonesian
    english = post_caption(PLAN, product, "en")
    assert 'Comment "A1 + quantity"' in english and "(was 180.000 ₫/kg)" in english
    assert "Comment or message us" in post_caption(PLAN, None, "en")
    with pytest.raises(ValueError, match="'fr'"):
        post_caption(PLAN, product, "fr")
