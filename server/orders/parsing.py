"""The order book's view of the comment parser: one cached parser, plain results.

Building the parser's product index costs far more than parsing one comment, so
:class:`ParserCache` keeps one and rebuilds it only when the catalog's names,
units, aliases or codes change (prices and stock do not matter to the parser).

The parser's result is turned into a small :class:`Parsed` record plus a
JSON-ready copy of everything it reported (evidence included), which is what the
``comments.parse`` column stores and the panel shows when a helper asks "why?".
A parser that raises never takes ingestion down: the comment is stored with
intent ``None`` and goes to a human.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from chotdon.catalog import ProductRow, VariantRow
from chotdon.codes import normalize_code, normalize_variant_key

__all__ = ["INTENTS", "Item", "Parsed", "ParserCache", "catalog_key"]

logger = logging.getLogger(__name__)

INTENTS = ("order", "cancel", "question", "other")
# (code, name, unit, aliases, variants as (key, name, aliases)) per product.
VariantKey = tuple[tuple[str, str, tuple[str, ...]], ...]
CatalogKey = tuple[tuple[str, str, str, tuple[str, ...], VariantKey], ...]


@dataclass(frozen=True, slots=True)
class Item:
    """One product asked for: ``code`` None when not in the catalog, ``qty`` None = all."""

    code: str | None
    qty: float | None
    variant: str | None = None


@dataclass(frozen=True, slots=True)
class Parsed:
    """What ingestion needs from one parse, plus the full result as JSON data."""

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
        self._parser: Any = None
        self.builds = 0

    def refresh(self, products: Iterable[Mapping[str, Any]]) -> None:
        """Rebuild the parser if the catalog's names, units or aliases changed."""
        key = catalog_key(products)
        if key == self._key and self._parser is not None:
            return
        from server.parse import Parser  # the parser package loads on first use

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

    def parse(self, text: str, pinned: str | None) -> Parsed:
        if self._parser is None:
            self.refresh(())
        try:
            result = self._parser.parse(text, pinned=pinned)
            return to_parsed(result)
        except Exception as exc:  # a parser bug must not lose the comment
            logger.exception("parser failed on a comment; it goes to review")
            return Parsed(None, (), None, 0.0, {"error": f"{type(exc).__name__}: {exc}"})


def to_parsed(result: Any) -> Parsed:
    if callable(getattr(result, "to_json", None)):  # the parser's own output shape
        data = result.to_json(None)
        data.pop("id", None)
    else:
        data = _jsonable(result)
    if not isinstance(data, dict):
        data = {"result": data}
    intent = _field(result, "intent")
    intent = intent if intent in INTENTS else None
    items = tuple(
        Item(_code(_field(i, "code")), _qty(_field(i, "qty")), _variant(_field(i, "variant")))
        for i in _field(result, "items") or ()
    )
    phone = _field(result, "phone")
    confidence = _field(result, "confidence")
    return Parsed(
        intent=intent,
        items=items,
        phone=str(phone) if phone else None,
        confidence=float(confidence) if isinstance(confidence, int | float) else 0.0,
        data=data,
    )


def _field(obj: Any, name: str) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def _code(value: Any) -> str | None:
    return normalize_code(str(value)) or None if value else None


def _variant(value: Any) -> str | None:
    return normalize_variant_key(value) or None if isinstance(value, str) else None


def _qty(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _jsonable(value: Any) -> Any:
    """Dataclasses, pydantic models, named tuples and mappings as plain JSON data."""
    if hasattr(value, "model_dump"):
        return _jsonable(value.model_dump())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if hasattr(value, "_asdict"):
        return _jsonable(value._asdict())
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)
