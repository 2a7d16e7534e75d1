"""Variants in the catalog file: one row per variant, read and written back the same."""

from __future__ import annotations

import pytest

from assets import DEMO_DIR
from chotdon.catalog import (
    CatalogError,
    ProductRow,
    VariantRow,
    parse_catalog_bytes,
    read_catalog,
    rows_to_csv,
    rows_to_xlsx,
)
from chotdon.codes import normalize_variant_key, split_variant_id, variant_id

HEADER = "code,name,price,unit,stock,aliases,sale_price,variant\n"
BAGS = (
    HEADER
    + "B2,Túi thổ cẩm,200000,cái,0,túi thổ cẩm,,\n"
    + "b2,Túi xanh,,,4,xanh|túi xanh,,Xanh\n"
    + "B2,Túi vàng,210.000,,2,vàng|túi vàng,190k,vàng\n"
    + "A1,Hạt dẻ,180000,kg,9,dẻ,150000,\n"
)


def test_variant_rows_attach_to_their_product() -> None:
    rows = parse_catalog_bytes(BAGS.encode(), filename="c.csv")
    assert [r.code for r in rows] == ["B2", "A1"]
    bag = rows[0]
    assert bag.variants == (
        VariantRow("XANH", "Túi xanh", 200000, 4, ("xanh", "túi xanh"), None),
        VariantRow("VANG", "Túi vàng", 210000, 2, ("vàng", "túi vàng"), 190000),
    )
    assert bag.variant("vàng") is bag.variants[1]
    assert bag.variants[1].price_now == 190000
    assert rows[1].variants == ()


def test_an_empty_variant_price_takes_the_products_price_and_sale() -> None:
    body = HEADER + "A1,Hạt dẻ,180000,kg,9,,150000,\nA1,Túi 500g,,,3,500g,,500g\n"
    (row,) = parse_catalog_bytes(body.encode(), filename="c.csv")
    assert (row.variants[0].price, row.variants[0].sale_price) == (180000, 150000)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_variants_read_back_identically(suffix: str) -> None:
    rows = parse_catalog_bytes(BAGS.encode(), filename="c.csv")
    rows += read_catalog(DEMO_DIR / "catalog.csv")[5:6]  # B3 and its packs
    data = rows_to_csv(rows).encode() if suffix == ".csv" else rows_to_xlsx(rows)
    assert parse_catalog_bytes(data, filename=f"out{suffix}") == rows


def test_the_writer_puts_one_row_per_variant_with_its_key() -> None:
    rows = parse_catalog_bytes(BAGS.encode(), filename="c.csv")
    lines = rows_to_csv(rows).splitlines()
    assert lines[0].endswith(",variant")
    assert lines[2] == "B2,Túi xanh,200000,,4,xanh|túi xanh,,,,,XANH"


def test_the_demo_catalog_sells_bamboo_shoots_in_two_packs() -> None:
    shoots = read_catalog(DEMO_DIR / "catalog.csv")[5]
    assert shoots.code == "B3"
    assert [(v.key, v.price_now, v.stock) for v in shoots.variants] == [
        ("500G", 150000, 15),
        ("1KG", 280000, 15),
    ]


@pytest.mark.parametrize(
    ("body", "row", "column", "words"),
    [
        ("A1,Túi xanh,,,1,,,xanh\n", 2, "code", "before a row for the product A1"),
        ("A1,x,1000,kg,1,,,\nA1,y,,,1,,,xanh\nA1,z,,,1,,,XANH\n", 4, "variant", "duplicate"),
        ("A1,x,1000,kg,1,,,\nA1,y,,,1,,,x/y\n", 3, "variant", "invalid variant"),
        ("A1,x,1000,kg,1,,,\nA1,y,,,,,,xanh\n", 3, "stock", "required"),
        ("A1,x,1000,kg,1,,,\nA1,y,12a,,1,,,xanh\n", 3, "price", "not a whole number"),
        ("A1,x,1000,kg,1,,,\nA1,y,500,,1,,600,xanh\n", 3, "sale_price", "below the price"),
        ("A1,x,1000,kg,1,,,\nA1,y,,gói,1,,,xanh\n", 3, "unit", "the product's"),
    ],
)
def test_bad_variant_rows_name_the_row_and_column(
    body: str, row: int, column: str, words: str
) -> None:
    with pytest.raises(CatalogError) as info:
        parse_catalog_bytes((HEADER + body).encode(), filename="bad.csv")
    assert (info.value.row, info.value.column) == (row, column)
    assert words in str(info.value)


def test_variant_keys_are_spelt_like_codes() -> None:
    assert normalize_variant_key(" Túi xanh ") == "TUI-XANH"
    assert normalize_variant_key("đỏ") == "DO"
    assert variant_id("B2", "XANH") == "B2/XANH"
    assert variant_id("B2", None) == "B2"
    assert split_variant_id("#b2/xanh") == ("B2", "XANH")


def test_a_row_without_variants_is_unchanged() -> None:
    row = ProductRow("A1", "Hạt dẻ", 1, "kg", 1)
    assert row.variants == () and row.variant("xanh") is None
