"""Cells for spreadsheets that strangers' text ends up in: never a live formula.

Every export (catalog, orders, buyers) writes through this module. Names and
nicknames come from sellers' files and from people commenting on a live, so a
cell such as ``=HYPERLINK("http://…?x="&A1,"Xem")`` must reach the spreadsheet
as text, however it is dressed up: spreadsheet programs skip leading spaces and
invisible format characters (zero-width spaces, BOMs, bidi marks) before they
decide that a cell is a formula, so the check does too.

- CSV has no cell types, so :func:`safe_cell` puts one ``'`` in front of such
  text (the convention Excel and LibreOffice show as "this is text").
  :func:`unquote_cell` removes exactly that apostrophe again, which makes a
  written-then-read CSV give back the original text: the writer also quotes
  text that already *looks* quoted (``'=x`` is written ``''=x``), so the reader
  never confuses a seller's own apostrophe with ours.
- XLSX has cell types, so :func:`append_row` stores text as a string cell: no
  apostrophe is added and the value reads back exactly as it was written.

Numbers stay numbers in both formats (a negative ``int`` is a number, not a
formula; only text is ever quoted).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import Any

__all__ = [
    "FORMULA_TRIGGERS",
    "append_row",
    "needs_quote",
    "safe_cell",
    "unquote_cell",
]

FORMULA_TRIGGERS: frozenset[str] = frozenset("=+-@")
# A tab or carriage return as the very first character is itself a trigger (it
# can shift a cell or start a DDE payload in some importers), not just padding.
_CONTROL_TRIGGERS: frozenset[str] = frozenset("\t\r")
_QUOTE = "'"


def _is_invisible(char: str) -> bool:
    # Whitespace (incl. no-break and ideographic spaces) and format characters
    # (category Cf: U+200B..U+200F, U+202A..U+202E, U+2060..U+2069, U+FEFF, U+00AD …).
    return char.isspace() or unicodedata.category(char) == "Cf"


def _visible_start(text: str) -> str:
    for index, char in enumerate(text):
        if not _is_invisible(char):
            return text[index:]
    return ""


def needs_quote(text: str) -> bool:
    """Whether a spreadsheet could take ``text`` for a formula, or it looks already quoted."""
    if text[:1] in _CONTROL_TRIGGERS:
        return True
    visible = _visible_start(text)
    if visible[:1] in FORMULA_TRIGGERS:
        return True
    # "'=x" must become "''=x" so that unquote_cell's one-apostrophe rule is exact.
    return visible[:1] == _QUOTE and needs_quote(visible[1:])


def safe_cell(value: Any) -> Any:
    """A CSV cell value: text that could be a formula gets a leading ``'``; the rest unchanged."""
    if isinstance(value, str) and needs_quote(value):
        return _QUOTE + value
    return value


def unquote_cell(text: str) -> str:
    """Undo :func:`safe_cell` on text read from a CSV: ``unquote_cell(safe_cell(s)) == s``."""
    if text.startswith(_QUOTE) and needs_quote(text[1:]):
        return text[1:]
    return text


def append_row(sheet: Any, values: Iterable[Any]) -> None:
    """Append ``values`` to an openpyxl worksheet with every ``str`` stored as a string cell.

    openpyxl makes any text starting with ``=`` a formula on assignment; forcing the
    type back to ``"s"`` writes it as an inline string, so the cell shows the text
    as typed (no apostrophe) and nothing is evaluated.
    """
    sheet.append(list(values))
    for cell in sheet[sheet.max_row]:
        if isinstance(cell.value, str):
            cell.data_type = "s"
