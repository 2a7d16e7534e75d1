"""Scoring the parser against labelled comments: the ``chotdon parse --eval`` figures.

A labelled file is JSON lines, one comment each (the format is defined in
docs/parser.md)::

    {"id": "L001", "text": "chốt 3", "pinned": "A1",
     "expect": {"intent": "order", "items": [{"code": "A1", "qty": 3}], "phone": null}}

An order item is right when its code and quantity both match. Precision counts
over the items the parser ordered (a question read as an order costs precision),
recall over the items the labels order. A *wrong auto-accept* is an order the
parser was sure of (confidence at or above the order book's threshold) whose
items are not exactly the labelled ones: the failure that ships a parcel.

Some sources may not be redistributed. Their lines carry no ``text`` but a
``ref`` (``{"line": 12, "sha256": "..."}``) into a local copy of the source;
:func:`hydrate` fills the text in and checks the hash, so the labels can live in
the repository while the text stays where its licence allows.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from server.parse.parser import Parser, ParseResult

__all__ = [
    "INTENTS",
    "LabelError",
    "Scores",
    "hydrate",
    "read_labelled",
    "score",
    "text_sha256",
]

INTENTS = ("order", "cancel", "question", "other")
DEFAULT_THRESHOLD = 0.8  # the order book's default auto-accept confidence


class LabelError(ValueError):
    """A labelled line that cannot be scored; the message names the line and field."""


@dataclass(frozen=True, slots=True)
class Scores:
    """The figures for one labelled set."""

    comments: int
    precision: float
    recall: float
    intent: float
    phone: float
    items_ordered: int
    items_labelled: int
    called_orders: int  # comments the parser read as orders
    orders_to_review: int  # ... of which below the threshold
    wrong_auto_accepted: int
    non_orders_auto_accepted: int  # labelled not-an-order, accepted as one
    confusion: dict[str, dict[str, int]]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def text_sha256(text: str) -> str:
    """The hash a ``ref`` line carries: of the NFC form, so NFD copies still match."""
    return hashlib.sha256(unicodedata.normalize("NFC", text).encode("utf-8")).hexdigest()


def _check_row(row: Any, number: int) -> dict[str, Any]:
    if not isinstance(row, dict):
        raise LabelError(f"line {number}: expected a JSON object")
    expect = row.get("expect")
    if not isinstance(expect, dict):
        raise LabelError(f"line {number}: 'expect' is missing or not an object")
    if expect.get("intent") not in INTENTS:
        raise LabelError(f"line {number}: 'expect.intent' must be one of {', '.join(INTENTS)}")
    items = expect.get("items", [])
    if not isinstance(items, list) or not all(
        isinstance(i, dict) and isinstance(i.get("code"), str) for i in items
    ):
        raise LabelError(f"line {number}: 'expect.items' must be a list of {{code, qty}}")
    if not isinstance(row.get("text"), str) and not isinstance(row.get("ref"), dict):
        raise LabelError(f"line {number}: needs a string 'text' (or a 'ref' to a source)")
    return row


def read_labelled(path: Path) -> list[dict[str, Any]]:
    """Read a labelled JSONL file; raises :class:`LabelError` naming the bad line."""
    rows = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as err:
                raise LabelError(f"line {number}: not valid JSON ({err})") from None
            rows.append(_check_row(record, number))
    return rows


def _source_text(line: str) -> str:
    try:
        record = json.loads(line)
    except ValueError:
        return line.rstrip("\n")
    if isinstance(record, dict) and isinstance(record.get("text"), str):
        return record["text"]
    return line.rstrip("\n")


def hydrate(rows: Sequence[dict[str, Any]], source: Path) -> list[dict[str, Any]]:
    """Fill in the ``text`` of ``ref`` rows from a local copy of their source file."""
    lines = source.read_text(encoding="utf-8").splitlines()
    out = []
    for row in rows:
        ref = row.get("ref")
        if "text" in row or not isinstance(ref, dict):
            out.append(row)
            continue
        index = ref.get("line")
        if not isinstance(index, int) or not 1 <= index <= len(lines):
            raise LabelError(f"{row.get('id')}: ref line {index!r} is not in {source}")
        text = _source_text(lines[index - 1])
        if text_sha256(text) != ref.get("sha256"):
            raise LabelError(f"{row.get('id')}: line {index} of {source} is not the labelled text")
        out.append({**row, "text": text})
    return out


def _expected(expect: dict[str, Any]) -> Counter[tuple[str, float | None]]:
    if expect["intent"] != "order":
        return Counter()
    return Counter(
        (str(i["code"]).upper(), None if i.get("qty") is None else float(i["qty"]))
        for i in expect.get("items", [])
    )


def _got(result: ParseResult) -> Counter[tuple[str, float | None]]:
    if result.intent != "order":
        return Counter()
    return Counter((i.code, i.qty) for i in result.items)


def score(
    parser: Parser, rows: Iterable[dict[str, Any]], threshold: float = DEFAULT_THRESHOLD
) -> Scores:
    """Parse every labelled row and compare with its ``expect``."""
    hits = ordered = wanted = intents = phones = total = 0
    called = review = wrong_auto = non_order_auto = 0
    confusion: dict[str, dict[str, int]] = {a: dict.fromkeys(INTENTS, 0) for a in INTENTS}
    for row in rows:
        expect = row["expect"]
        result = parser.parse(row["text"], pinned=row.get("pinned"))
        got, want = _got(result), _expected(expect)
        total += 1
        hits += sum((got & want).values())
        ordered += sum(got.values())
        wanted += sum(want.values())
        intents += result.intent == expect["intent"]
        phones += result.phone == expect.get("phone")
        confusion[expect["intent"]][result.intent] += 1
        if result.intent == "order":
            called += 1
            sure = result.confidence >= threshold
            review += not sure
            wrong_auto += sure and got != want
            non_order_auto += sure and expect["intent"] != "order"
    return Scores(
        comments=total,
        precision=hits / ordered if ordered else 1.0,
        recall=hits / wanted if wanted else 1.0,
        intent=intents / total if total else 1.0,
        phone=phones / total if total else 1.0,
        items_ordered=ordered,
        items_labelled=wanted,
        called_orders=called,
        orders_to_review=review,
        wrong_auto_accepted=wrong_auto,
        non_orders_auto_accepted=non_order_auto,
        confusion=confusion,
    )
