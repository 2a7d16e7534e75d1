"""studio.catalog: product details from the catalog export CSV."""

from __future__ import annotations

from pathlib import Path

import pytest

from assets import DEMO_DIR
from studio.catalog import read_catalog
from studio.errors import StudioError


def test_reads_the_demo_catalog() -> None:
    products = read_catalog(DEMO_DIR / "catalog.csv")
    assert len(products) == 8
    chestnut = products["A1"]
    assert chestnut.name == "Hạt dẻ Ngân Sơn" and chestnut.unit == "kg"
    assert (chestnut.price, chestnut.sale_price, chestnut.shown_price) == (180000, 150000, 150000)
    assert "hạt dẻ" in chestnut.aliases and chestnut.ocop_stars == 4
    assert products["A3"].sale_price is None and products["A3"].shown_price == 45000


def test_bad_number_names_row_and_field(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("code,name,price,unit\nA1,Hạt dẻ,180000,kg\nA2,Miến,sáu mươi,gói\n")
    with pytest.raises(StudioError, match=r"row 3: 'price' is not a whole number"):
        read_catalog(path)


def test_missing_columns_are_named(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("code,title\nA1,x\n")
    with pytest.raises(StudioError, match="missing column"):
        read_catalog(path)


def test_price_override_keeps_the_rest() -> None:
    product = read_catalog(DEMO_DIR / "catalog.csv")["A2"].with_prices(70000, None)
    assert (product.price, product.sale_price, product.shown_price) == (70000, None, 70000)
    assert product.name == "Miến dong Na Rì"
