"""The order book: live comments in, orders, buyers, review queue and exports out.

The running app's :class:`OrderService` is ``ctx.orders`` (built with the app's
context); its ``ingest(comments)`` is what every connector and the ingestion
routes call.
The routes live in :mod:`server.orders.api` (``router``); the pure database
work in :mod:`.book` (stock and order lines) and :mod:`.ingest` (a batch of
comments), the read side in :mod:`.queries`, and files out in :mod:`.export`.
"""

from __future__ import annotations

from server.orders.book import STATUSES, Changes, mask_nickname, units
from server.orders.ingest import Stored, store_batch
from server.orders.parsing import Parsed, ParserCache
from server.orders.service import ItemIn, OrderService

__all__ = [
    "STATUSES",
    "Changes",
    "ItemIn",
    "OrderService",
    "Parsed",
    "ParserCache",
    "Stored",
    "mask_nickname",
    "store_batch",
    "units",
]
