"""The caps the whole product agrees on; each has exactly one value, here."""

from __future__ import annotations

__all__ = ["MAX_ALIASES", "MAX_PRICE", "MAX_QTY", "MAX_STOCK"]

# One order line holds at most this many units of a product. The comment parser already
# stops reading a number as a quantity here (a bigger number in a comment is a price, a
# year or a phone fragment), so a larger line can only be a typo in the panel, and one
# typo must not reserve a whole stock at once. The old 10,000 on the confirm/edit routes
# allowed lines that intake itself would never accept.
MAX_QTY = 1_000

# One billion đồng: anything above is a typo, not the price of something sold on a live.
MAX_PRICE = 1_000_000_000

# Units in stock for one product.
MAX_STOCK = 1_000_000

# Aliases kept per product (more only slows the comment matcher down).
MAX_ALIASES = 50
