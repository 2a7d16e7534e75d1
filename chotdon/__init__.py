"""chotdon's domain core: the business rules every part of the product shares.

No web framework, no database: ``server/``, ``studio/``, ``transcribe/`` and
``overlays/`` import from here, never the other way round (enforced by
``tests/test_architecture.py``).

- :mod:`chotdon.codes`: product codes (``#a1`` is ``A1``).
- :mod:`chotdon.money`: prices as sellers write them, and the price a buyer pays now.
- :mod:`chotdon.limits`: the caps on quantities, prices and stock.
- :mod:`chotdon.catalog`: the catalog file format (CSV and XLSX), read and written.
- :mod:`chotdon.eventlog`: the session event log (event types, JSONL).
"""

from __future__ import annotations

from chotdon.codes import normalize_code
from chotdon.money import parse_price, price_now

__all__ = ["normalize_code", "parse_price", "price_now"]
