"""Orders out of chotdon: CSV and XLSX for the spreadsheet, packing slips for the printer.

Headers are Vietnamese because the people who open these files are. The CSV
starts with a BOM so Excel reads it as UTF-8. Nicknames come from strangers on
the internet, so every cell goes through :mod:`chotdon.sheets`: in the CSV,
text a spreadsheet would read as a formula (``=``, ``+``, ``-``, ``@`` first,
even behind spaces or invisible marks) gets a leading apostrophe; in the XLSX
it is a plain string cell, shown as typed. Phone numbers stay text, keeping
their leading zero.

Packing slips are one server-rendered HTML page with every value escaped; its
stylesheet (``/static/slips.css``) lays them out for A4 sheets or for 80 mm
thermal rolls (``?paper=80mm``), chosen by a class on ``<body>``.
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Iterable, Sequence
from typing import Any, Literal

from openpyxl import Workbook
from openpyxl.styles import Font

from chotdon.money import format_vnd
from chotdon.sheets import append_row, safe_cell

__all__ = [
    "BUYER_HEADERS",
    "LINE_HEADERS",
    "STATUS_VI",
    "buyer_rows",
    "line_rows",
    "slips_html",
    "to_csv",
    "to_xlsx",
]

Paper = Literal["a4", "80mm"]
STATUS_VI = {
    "pending": "Chờ xác nhận",
    "confirmed": "Đã xác nhận",
    "paid": "Đã thanh toán",
    "packed": "Đã đóng gói",
    "shipped": "Đã gửi hàng",
    "cancelled": "Đã hủy",
    "waitlist": "Chờ hàng",
}
LINE_HEADERS = (
    "Mã dòng", "Thời gian", "Người mua", "Tài khoản", "Nền tảng", "Số điện thoại",
    "Địa chỉ", "Mã SP", "Tên sản phẩm", "Phân loại", "Đơn vị", "Số lượng", "Đơn giá",
    "Thành tiền", "Trạng thái", "Bom hàng",
)  # fmt: skip
BUYER_HEADERS = (
    "Người mua", "Tài khoản", "Nền tảng", "Số điện thoại", "Địa chỉ", "Ghi chú",
    "Sản phẩm", "Số dòng", "Tổng tiền", "Trạng thái", "Bom hàng",
)  # fmt: skip
TOTAL_LABEL = "Tổng cộng"
Row = list[Any]


def _qty(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _owed(line: dict[str, Any]) -> bool:
    return line["status"] not in ("cancelled", "waitlist")


def line_rows(book: Sequence[dict[str, Any]]) -> list[Row]:
    """One row per order line, then a total row (cancelled and waitlisted lines count 0)."""
    rows: list[Row] = []
    total = 0
    for buyer in book:
        for line in buyer["lines"]:
            amount = line["amount"] if _owed(line) else 0
            total += amount
            rows.append([
                line["id"], line["created_at"], buyer["nickname"], buyer["handle"],
                buyer["platform"], buyer["phone"] or "", buyer["address"], line["code"],
                line["name"], line.get("variant_name") or "", line["unit"], _qty(line["qty"]),
                line["unit_price"], amount,
                STATUS_VI.get(line["status"], line["status"]), "Có" if buyer["bom"] else "",
            ])  # fmt: skip
    rows.sort(key=lambda r: r[0])
    rows.append([TOTAL_LABEL, *[""] * 12, total, "", ""])
    return rows


def buyer_rows(book: Sequence[dict[str, Any]]) -> list[Row]:
    """One row per buyer with what they owe, then a total row."""
    rows: list[Row] = []
    for buyer in book:
        owed = [ln for ln in buyer["lines"] if _owed(ln)]
        summary = "; ".join(f"{ln['code']} {_named(ln)} × {_qty(ln['qty'])}" for ln in owed)
        statuses = sorted({STATUS_VI.get(ln["status"], ln["status"]) for ln in buyer["lines"]})
        rows.append([
            buyer["nickname"], buyer["handle"], buyer["platform"], buyer["phone"] or "",
            buyer["address"], buyer["notes"], summary, len(owed), buyer["total"],
            ", ".join(statuses), "Có" if buyer["bom"] else "",
        ])  # fmt: skip
    rows.append([TOTAL_LABEL, *[""] * 7, sum(b["total"] for b in book), "", ""])
    return rows


def _named(line: dict[str, Any]) -> str:
    """ "Măng khô Bắc Kạn (Túi 500g)": the product, and its variant when the line has one."""
    variant = line.get("variant_name")
    return f"{line['name']} ({variant})" if variant else str(line["name"])


def to_csv(headers: Sequence[str], rows: Iterable[Row]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headers)
    writer.writerows([safe_cell(v) for v in row] for row in rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(sheets: Sequence[tuple[str, Sequence[str], Sequence[Row]]]) -> bytes:
    """A workbook with one sheet per ``(title, headers, rows)``; numbers stay numbers."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, headers, rows in sheets:
        sheet = workbook.create_sheet(title)
        sheet.append(list(headers))
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            append_row(sheet, row)
        sheet.freeze_panes = "A2"
        for column, header in zip(sheet.columns, headers, strict=False):
            width = max([len(str(header))] + [len(str(c.value or "")) for c in column])
            sheet.column_dimensions[column[0].column_letter].width = min(width + 2, 50)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def slips_html(book: Sequence[dict[str, Any]], *, paper: Paper = "a4", title: str = "") -> str:
    """Printable packing slips, one per buyer who owes something; every value escaped."""
    e = html.escape
    slips = [_slip(b) for b in book if any(_owed(ln) for ln in b["lines"])]
    body = "\n".join(slips) or '<p class="empty">Chưa có đơn nào cần đóng gói.</p>'
    other = "80mm" if paper == "a4" else "a4"
    return f"""<!doctype html>
<html lang="vi">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Phiếu đóng gói{" · " + e(title) if title else ""}</title>
<link rel="stylesheet" href="/static/fonts.css">
<link rel="stylesheet" href="/static/slips.css">
<script type="module" src="/static/slips.js"></script>
</head>
<body class="paper-{paper}">
<p class="screen-only">In trang này (Ctrl+P). Khổ giấy: {"A4" if paper == "a4" else "80 mm"}.
<a id="paper-switch" data-paper="{other}" href="?paper={other}">
Đổi sang {"80 mm" if other == "80mm" else "A4"}</a></p>
{body}
</body>
</html>
"""


def _slip(buyer: dict[str, Any]) -> str:
    e = html.escape
    owed = [ln for ln in buyer["lines"] if _owed(ln)]
    rows = "\n".join(
        f"<tr><td>{e(ln['code'])}</td><td>{e(_named(ln))}</td>"
        f"<td class=num>{e(str(_qty(ln['qty'])))} {e(ln['unit'])}</td>"
        f"<td class=num>{e(format_vnd(ln['unit_price']))}</td>"
        f"<td class=num>{e(format_vnd(ln['amount']))}</td></tr>"
        for ln in owed
    )
    bom = '<p class="bom">⚠ Bom hàng: xác nhận trước khi gửi</p>' if buyer["bom"] else ""
    notes = f'<p class="notes">Ghi chú: {e(buyer["notes"])}</p>' if buyer["notes"] else ""
    return f"""<section class="slip">
<h2>{e(buyer["nickname"] or buyer["handle"])}</h2>
<p class="who">{e(buyer["platform"])}: {e(buyer["handle"])}</p>
<p class="phone">SĐT: {e(buyer["phone"] or "—")}</p>
<p class="address">Địa chỉ: {e(buyer["address"] or "—")}</p>
{bom}{notes}
<table><thead><tr><th>Mã SP</th><th>Tên sản phẩm</th><th>Số lượng</th><th>Đơn giá</th>
<th>Thành tiền</th></tr></thead>
<tbody>
{rows}
</tbody>
<tfoot><tr><td colspan=4>Tổng cộng</td>
<td class=num>{e(format_vnd(buyer["total"]))}</td></tr></tfoot>
</table>
</section>"""
