"""Number formatting shared by the overlay pages (mirrored in JS) and the clip renderer."""

from __future__ import annotations

__all__ = ["format_price", "format_vnd"]


def format_vnd(amount: int) -> str:
    """``100000`` -> ``"100.000 ₫"`` (Vietnamese groups thousands with dots)."""
    sign = "-" if amount < 0 else ""
    return f"{sign}{abs(int(amount)):,}".replace(",", ".") + " ₫"


def format_price(amount: int, unit: str | None = None) -> str:
    """``format_price(100000, "kg")`` -> ``"100.000 ₫/kg"``."""
    text = format_vnd(amount)
    return f"{text}/{unit}" if unit else text
