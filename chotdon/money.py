"""Money in đồng: prices as sellers type them, and the price a buyer pays now.

All amounts are whole ``int`` đồng (VND has no minor unit in practice).
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal

from chotdon.limits import MAX_PRICE

__all__ = ["format_price", "format_vnd", "parse_price", "parse_whole", "price_now"]

# 150000 | 150.000 | 150,000 | 1.500.000: groups of three after a first group of 1-3.
_GROUPED = re.compile(r"\d{1,3}(?:(?P<sep>[.,])\d{3})(?:(?P=sep)\d{3})*")
# 150k | 1.5k | 1,5k | 2tr | 1.5tr | 1tr5 (Vietnamese shorthand for thousands/millions).
_SHORT = re.compile(r"(?P<int>\d+)(?:[.,](?P<frac>\d+))?(?P<unit>k|tr)(?P<tail>\d{0,3})")
_MULTIPLIER = {"k": 1_000, "tr": 1_000_000}
_CURRENCY = re.compile(r"(?:đ|₫|vnđ|vnd|đồng|dong)$")
_HINT = "write it as 150000, 150.000, 150,000 or 150k"


def parse_whole(text: str | int) -> int:
    """A non-negative whole number, thousands optionally grouped (``1.000``, ``1,000``)."""
    if isinstance(text, int) and not isinstance(text, bool):
        if text < 0:
            raise ValueError(f"{text} is negative")
        return text
    cleaned = _squash(str(text))
    if not cleaned:
        raise ValueError("a number is required")
    if cleaned.isdigit():
        return int(cleaned)
    if _GROUPED.fullmatch(cleaned):
        return int(re.sub(r"[.,]", "", cleaned))
    if cleaned.startswith("-"):
        raise ValueError(f"'{text}' is negative")
    raise ValueError(f"'{text}' is not a whole number")


def parse_price(text: str | int) -> int:
    """A price in đồng as a seller writes it: ``150.000``, ``150,000``, ``150k``,
    ``150000``, ``150.000đ``, ``1.5tr`` or ``1tr5``.

    ``150.5`` (a decimal without a ``k``/``tr``) is refused rather than guessed:
    it could be 150,5 thousand or a mistyped 150.500.
    """
    source = str(text)
    cleaned = _CURRENCY.sub("", _squash(source).lower())
    if not cleaned:
        raise ValueError("a price is required")
    if cleaned.startswith("-"):
        raise ValueError(f"'{source}' is negative: a price is 0 or more")
    short = _SHORT.fullmatch(cleaned)
    if short:
        amount = _shorthand(short, source)
    else:
        try:
            amount = parse_whole(cleaned)
        except ValueError:
            raise ValueError(f"'{source}' is not a whole number of đồng ({_HINT})") from None
    if amount > MAX_PRICE:
        raise ValueError(f"{amount} is above the limit {MAX_PRICE}")
    return amount


def _squash(text: str) -> str:
    # NFKC turns the no-break spaces spreadsheets put between groups into plain spaces.
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def _shorthand(match: re.Match[str], source: str) -> int:
    if match["frac"] is not None and match["tail"]:
        raise ValueError(f"'{source}' is ambiguous ({_HINT})")
    fraction = match["frac"] or match["tail"] or "0"
    value = Decimal(f"{match['int']}.{fraction}") * _MULTIPLIER[match["unit"]]
    if value != value.to_integral_value():
        raise ValueError(f"'{source}' is not a whole number of đồng ({_HINT})")
    return int(value)


def price_now(price: int, sale_price: int | None) -> int:
    """THE rule for what a buyer pays now: the sale price when it is set and below
    the price, otherwise the price (a sale price at or above it is not a sale)."""
    if sale_price is not None and sale_price < price:
        return sale_price
    return price


def format_vnd(amount: int) -> str:
    """``100000`` -> ``"100.000 ₫"`` (Vietnamese groups thousands with dots)."""
    sign = "-" if amount < 0 else ""
    return f"{sign}{abs(int(amount)):,}".replace(",", ".") + " ₫"


def format_price(amount: int, unit: str | None = None) -> str:
    """``format_price(100000, "kg")`` -> ``"100.000 ₫/kg"``."""
    text = format_vnd(amount)
    return f"{text}/{unit}" if unit else text
