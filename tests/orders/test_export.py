"""Exports opened the way a seller opens them: csv module, openpyxl, and the slip's HTML."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from .conftest import AUTH, HELPER, Api, comment


def _orders(api: Api) -> None:
    api.ingest(
        comment("1", "A1 x2 B2 x1 0977 123 456", user="hoa", nickname="Hoa Mộc Lan"),
        comment("2", "B4 x3", user="evil", nickname='=HYPERLINK("http://x")'),
        comment("3", "A3 x1", user="tuan", nickname="<img src=x onerror=alert(1)>"),
    )
    api.ingest(comment("4", "hủy", user="tuan", nickname="<img src=x onerror=alert(1)>"))


def test_csv_per_line_has_a_bom_vietnamese_headers_and_totals(api: Api) -> None:
    _orders(api)
    response = api.client.get(f"/api/orders/export.csv?scope=all&token={HELPER}")
    assert response.status_code == 200 and response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    header, body, total = rows[0], rows[1:-1], rows[-1]
    for name in ("Mã SP", "Tên sản phẩm", "Số lượng", "Đơn giá", "Thành tiền", "Người mua"):
        assert name in header
    assert "Số điện thoại" in header and "Trạng thái" in header
    col = {name: i for i, name in enumerate(header)}
    first = body[0]
    assert (
        first[col["Người mua"]] == "Hoa Mộc Lan" and first[col["Tên sản phẩm"]] == "Hạt dẻ Ngân Sơn"
    )
    assert (
        first[col["Số điện thoại"]] == "0977123456" and first[col["Trạng thái"]] == "Chờ xác nhận"
    )
    cancelled = next(r for r in body if r[col["Mã SP"]] == "A3")
    assert cancelled[col["Trạng thái"]] == "Đã hủy" and cancelled[col["Thành tiền"]] == "0"
    assert total[0] == "Tổng cộng"
    assert int(total[col["Thành tiền"]]) == 2 * 150000 + 320000 + 3 * 30000
    evil = next(r for r in body if r[col["Tài khoản"]] == "evil")
    assert evil[col["Người mua"]].startswith("'=")  # never a live formula


def test_csv_per_buyer_sums_what_each_buyer_owes(api: Api) -> None:
    _orders(api)
    text = api.client.get("/api/orders/export.csv?by=buyer", headers=AUTH).content.decode(
        "utf-8-sig"
    )
    rows = list(csv.DictReader(io.StringIO(text)))
    hoa = next(r for r in rows if r["Tài khoản"] == "hoa")
    assert hoa["Tổng tiền"] == "620000" and hoa["Số dòng"] == "2"
    assert "Hạt dẻ Ngân Sơn × 2" in hoa["Sản phẩm"]
    assert all(r["Tài khoản"] != "tuan" for r in rows)  # only a cancelled line: nothing open


def test_xlsx_has_both_sheets_with_numbers_and_no_formulas(api: Api) -> None:
    _orders(api)
    response = api.client.get(f"/api/orders/export.xlsx?token={HELPER}")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["Theo người mua", "Theo dòng"]
    buyers = [[c.value for c in row] for row in book["Theo người mua"].iter_rows()]
    assert buyers[0][0] == "Người mua" and buyers[0][8] == "Tổng tiền"
    assert buyers[-1][0] == "Tổng cộng" and buyers[-1][8] == 620000 + 90000
    lines = book["Theo dòng"]
    assert [c.value for c in lines[1]][7:9] == ["Mã SP", "Tên sản phẩm"]
    assert all(cell.data_type != "f" for row in lines.iter_rows() for cell in row)


def test_packing_slips_escape_everything_and_offer_both_papers(api: Api) -> None:
    api.ingest(comment("1", "B1 x1", user="x", nickname="<script>alert(1)</script>"))
    response = api.client.get(f"/api/orders/slips?token={HELPER}&paper=80mm")
    page = response.text
    assert response.status_code == 200 and "text/html" in response.headers["content-type"]
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'class="paper-80mm"' in page and "/static/slips.css" in page
    assert "Chè Shan tuyết cổ thụ" in page and "220.000 ₫" in page
    assert api.client.get("/api/orders/slips").status_code == 401
    assert api.client.get("/static/slips.css").status_code == 200


FORMULAS = ["=1+1", "\u200b=1+1", " =1+1", "\u202e@SUM(1)", "\ufeff-2+3"]


def _hidden_orders(api: Api) -> None:
    api.ingest(*[
        comment(str(i), "B1 x1", user=f"u{i}", nickname=nick) for i, nick in enumerate(FORMULAS)
    ])  # fmt: skip


def test_csv_quotes_formulas_behind_spaces_and_invisible_marks(api: Api) -> None:
    _hidden_orders(api)
    for by in ("line", "buyer"):
        text = api.client.get(f"/api/orders/export.csv?by={by}", headers=AUTH).content
        rows = list(csv.DictReader(io.StringIO(text.decode("utf-8-sig"))))
        names = {r["Tài khoản"]: r["Người mua"] for r in rows if r["Tài khoản"]}
        assert names == {f"u{i}": "'" + nick for i, nick in enumerate(FORMULAS)}, by


def test_xlsx_keeps_such_nicknames_as_text_without_an_apostrophe(api: Api) -> None:
    _hidden_orders(api)
    response = api.client.get("/api/orders/export.xlsx", headers=AUTH)
    book = load_workbook(io.BytesIO(response.content))
    for sheet in book.worksheets:
        assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
        header = [c.value for c in sheet[1]]
        column = header.index("Người mua")
        nicknames = {row[column].value for row in sheet.iter_rows(min_row=2)}
        assert set(FORMULAS) <= nicknames, sheet.title
        cells = [c for row in sheet.iter_rows(min_row=2) for c in row if c.value in FORMULAS]
        assert cells and all(cell.data_type == "s" for cell in cells)
