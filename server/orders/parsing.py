"""The order book's view of the comment parser: one cached parser, plain results.

Building the parser's product index costs far more than parsing one comment, so
:class:`ParserCache` keeps one and rebuilds it only when the catalog's names,
units, aliases or codes change (prices and stock do not matter to the parser).

The parser's typed :class:`~server.parse.ParseResult` is kept as a small
:class:`Parsed` record (its items are the parser's own :class:`~server.parse.Item`)
plus a JSON-ready copy of everything it reported (evidence included), which is
what the ``comments.parse`` column stores and the panel shows when a helper asks
"why?". A parser that raises never takes ingestion down: the comment is stored
with intent ``None`` and goes to a human.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from chotdon.catalog import ProductRow, VariantRow
from server.parse import Item, Parser, ParseResult

__all__ = ["INTENTS", "Parsed", "ParserCache", "catalog_key", "to_parsed"]

logger = logging.getLogger(__name__)

INTENTS = ("order", "cancel", "question", "other")
# (code, name, unit, aliases, variants as (key, name, aliases)) per product.
VariantKey = tuple[tuple[str, str, tuple[str, ...]], ...]
CatalogKey = tuple[tuple[str, str, str, tuple[str, ...], VariantKey], ...]


@dataclass(frozen=True, slots=True)
class Parsed:
    """What ingestion needs from one parse, plus the full result as JSON data.

    ``intent`` is None when the parser failed (the comment goes to review).
    """

    intent: str | None
    items: tuple[Item, ...]
    phone: str | None
    confidence: float
    data: dict[str, Any]


def catalog_key(products: Iterable[Mapping[str, Any]]) -> CatalogKey:
    """The part of the catalog the parser depends on, as a comparable value."""
    return tuple(
        sorted(
            (
                str(p["code"]),
                str(p["name"]),
                str(p.get("unit") or ""),
                tuple(str(a) for a in p.get("aliases") or ()),
                tuple(
                    (str(v["key"]), str(v["name"]), tuple(str(a) for a in v.get("aliases") or ()))
                    for v in p.get("variants") or ()
                ),
            )
            for p in products
        )
    )


class ParserCache:
    """Holds one parser for the current catalog; :meth:`parse` never raises."""

    def __init__(self) -> None:
        self._key: CatalogKey | None = None
        self._parser: Parser | None = None
        self.builds = 0

    def refresh(self, products: Iterable[Mapping[str, Any]]) -> Parser:
        """Rebuild the parser if the catalog's names, units or aliases changed."""
        key = catalog_key(products)
        if key == self._key and self._parser is not None:
            return self._parser
        rows = [
            ProductRow(
                code=code,
                name=name,
                price=0,
                unit=unit,
                stock=0,
                aliases=aliases,
                variants=tuple(VariantRow(k, n, 0, 0, a) for k, n, a in own),
            )
            for code, name, unit, aliases, own in key
        ]
        self._parser = Parser(rows)
        self._key = key
        self.builds += 1
        logger.debug("parser rebuilt for %d products", len(rows))
        return self._parser

    def parse(self, text: str, pinned: str | None) -> Parsed:
        parser = self._parser or self.refresh(())
        try:
            return to_parsed(parser.parse(text, pinned=pinned))
        except Exception as exc:  # a parser bug must not lose the comment
            logger.exception("parser failed on a comment; it goes to review")
            return Parsed(None, (), None, 0.0, {"error": f"{type(exc).__name__}: {exc}"})


def to_parsed(result: ParseResult) -> Parsed:
    data = result.to_json(None)
    del data["id"]
    return Parsed(
        intent=result.intent if result.intent in INTENTS else None,
        items=result.items,
        phone=result.phone,
        confidence=float(result.confidence),
        data=data,
    )
