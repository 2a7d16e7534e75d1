"""Vietnamese mobile numbers in free text.

A number is recognised by shape before anything else reads the digits, so the
``0977`` of ``"chốt 3 0977 555 888"`` can never become a quantity. The shape is a
``0`` or a ``84``/``+84`` country prefix followed by nine digits, each optionally
preceded by spaces, dots or dashes (buyers write ``0912.345.678``, ``0912-345-678``,
``+84 912 345 678`` and even ``0 9 1 2 …``). Only numbers whose second digit is a
mobile prefix (03x, 05x, 07x, 08x, 09x) are returned; other ten-digit runs are still
consumed so they are not read as quantities either.
"""

from __future__ import annotations

import re

from server.parse.normalise import fold, fold_map

__all__ = ["PHONE_PATTERN", "find_phones", "normalise_phone"]

# Works on folded text (lower-case ASCII digits). Separators: spaces, dots, dashes.
PHONE_PATTERN = r"(?<![0-9])(?:\(?\+84\)?|84|0)(?:[ .\-]{0,2}[0-9]){9}(?![0-9])"

_PHONE_RE = re.compile(PHONE_PATTERN)
_MOBILE_PREFIXES = frozenset("35789")


def normalise_phone(raw: str) -> str | None:
    """``"+84 912 345 678"`` -> ``"0912345678"``; ``None`` if it is not a VN mobile."""
    digits = "".join(c for c in fold(raw) if c.isascii() and c.isdigit())
    if len(digits) == 11 and digits.startswith("84"):
        digits = "0" + digits[2:]
    if len(digits) != 10 or digits[0] != "0" or digits[1] not in _MOBILE_PREFIXES:
        return None
    return digits


def find_phones(text: str) -> list[tuple[int, int, str]]:
    """Every mobile number in ``text`` as ``(start, end, "0xxxxxxxxx")``, spans in ``text``."""
    folded = fold_map(text)
    found = []
    for match in _PHONE_RE.finditer(folded.text):
        phone = normalise_phone(match.group())
        if phone is not None:
            start, end = folded.span(match.start(), match.end())
            found.append((start, end, phone))
    return found
