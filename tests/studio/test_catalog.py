"""studio.catalog: product details from a catalog file, read by chotdon.catalog."""

from __future__ import annotations

from pathlib import Path

import pytest

from assets import DEMO_DIR
from chotdon.catalog import ProductRow, rows_to_csv, rows_to_xlsx
from chotdon.catalog import read_catalog as read_rows
from studio.catalog import read_catalog
from studio.errors import StudioError

HEADER = "code,name,price,unit,stock,aliases,sale_price,image,ocop_stars,origin\n"


def test_reads_the_demo_catalog() -> None:
    products = read_catalog(DEMO_DIR / "catalog.csv")
    assert len(products) == 8
    chestnut = products["A1"]
    assert chestnut.name == "Hạt dẻ Ngân Sơn" and chestnut.unit == "kg"
    assert (chestnut.price, chestnut.sale_price, chestnut.shown_price) == (180000, 150000, 150000)
    assert "hạt dẻ" in chestnut.aliases and chestnut.ocop_stars == 4
    assert products["A3"].sale_price is None and products["A3"].shown_price == 45000


def test_bad_price_names_row_and_column(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text(HEADER + "A1,Hạt dẻ,180000,kg,5,,,,,\nA2,Miến,sáu mươi,gói,5,,,,,\n")
    with pytest.raises(StudioError, match=r"row 3, column 'price'") as info:
        read_catalog(path)
    assert str(path) in str(info.value)


def test_missing_columns_are_named(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("code,title\nA1,x\n")
    with pytest.raises(StudioError, match=r"row 1: missing column\(s\) name, price"):
        read_catalog(path)


def test_unreadable_file_is_a_studio_error(tmp_path: Path) -> None:
    with pytest.raises(StudioError, match="cannot read catalog file"):
        read_catalog(tmp_path / "absent.csv")


def test_price_override_keeps_the_rest() -> None:
    product = read_catalog(DEMO_DIR / "catalog.csv")["A2"].with_prices(70000, None)
    assert (product.price, product.sale_price, product.shown_price) == (70000, None, 70000)
    assert product.name == "Miến dong Na Rì"


def test_dotted_prices_and_lowercase_codes(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text(HEADER + "a1,Hạt dẻ,180.000,kg,1.000,hạt dẻ|dẻ,150.000,,4,Cao Bằng\n")
    products = read_catalog(path)
    assert list(products) == ["A1"]
    chestnut = products["A1"]
    assert (chestnut.price, chestnut.sale_price, chestnut.shown_price) == (180000, 150000, 150000)
    assert chestnut.aliases == ("hạt dẻ", "dẻ") and chestnut.origin == "Cao Bằng"


def _rows() -> list[ProductRow]:
    return [
        ProductRow("A1", "Hạt dẻ", 180000, "kg", 5, ("dẻ",), 150000, "a1.png", 4, "Cao Bằng"),
        ProductRow("B2", "Miến", 60000, "gói", 9),
    ]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_reads_what_the_core_writes(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"export{suffix}"
    if suffix == ".csv":
        path.write_text(rows_to_csv(_rows()), encoding="utf-8")
    else:
        path.write_bytes(rows_to_xlsx(_rows()))
    (tmp_path / "a1.png").write_bytes(b"\x89PNG")
    assert read_rows(path) == _rows()
    products = read_catalog(path)
    assert products["A1"].image == tmp_path / "a1.png"
    assert products["A1"].shown_price == 150000 and products["A1"].unit == "kg"
    assert products["B2"].image is None and products["B2"].sale_price is None
    assert products["B2"].origin is None and products["B2"].shown_price == 60000


def test_missing_image_file_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text(rows_to_csv(_rows()), encoding="utf-8")
    assert read_catalog(path)["A1"].image is None
