"""Live comments to intents and order items: ``Parser(catalog).parse(text, pinned=...)``.

The parser is a library first (the order book calls it for every comment, up to a
few hundred a second) and a command second (``chotdon parse``, in :mod:`.cli`).
It is plain Python with no model and no dependency beyond the standard library:
it has to run on a 2-core laptop, offline, and explain itself to a helper.
"""

from __future__ import annotations

from server.parse.matcher import CatalogEntry, CatalogLike
from server.parse.normalise import fold
from server.parse.parser import Evidence, Intent, Item, Parser, ParseResult
from server.parse.phones import find_phones, normalise_phone

__all__ = [
    "CatalogEntry",
    "CatalogLike",
    "Evidence",
    "Intent",
    "Item",
    "ParseResult",
    "Parser",
    "find_phones",
    "fold",
    "normalise_phone",
]
