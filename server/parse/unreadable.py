"""Numbers where a quantity should be that the parser must not guess at.

``A1 x99999999999999999999`` and ``A1 x٢`` used to become confident orders of 1:
the number was too big to be a quantity, or written in digits the parser does not
read (Arabic-Indic ``٢``, Devanagari ``२``...), so it was skipped and the product
alone made the order. A helper reads these instead: :func:`unreadable_quantity`
finds them and the parser caps the comment's confidence below any auto-accept
threshold. Fullwidth digits (``２``) are not in this set: text normalisation
reads them as ASCII.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from chotdon.limits import MAX_QTY
from server.parse import lexicon as lx
from server.parse.normalise import Token

__all__ = ["REVIEW_CAP", "unreadable_quantity"]

REVIEW_CAP = 0.5  # below every auto-accept threshold a seller would set


def unreadable_quantity(tokens: Sequence[Token]) -> tuple[int, str] | None:
    """The first such number: (token index, why), else ``None``."""
    for i, token in enumerate(tokens):
        if token.kind != "num" and _foreign_digits(token.low):
            return i, "digits the parser does not read: a helper checks the quantity"
        if token.kind == "num" and _quantity_place(tokens, i) and _too_big(token.fold):
            return i, f"quantity of {MAX_QTY} or more: a helper checks it"
    return None


def _foreign_digits(text: str) -> bool:
    return any(ch.isdecimal() and not unicodedata.normalize("NFKC", ch).isascii() for ch in text)


def _quantity_place(tokens: Sequence[Token], i: int) -> bool:
    """Right after ``x``/``sl``/``qty`` or a product code: where a quantity goes."""
    if i == 0:
        return False
    previous = tokens[i - 1]
    return previous in lx.MULTIPLIERS or previous.kind == "code"


def _too_big(digits: str) -> bool:
    whole = digits.split(".")[0].split(",")[0]
    # Length first: int() of thousands of digits is refused (and slow) by design.
    # MAX_QTY itself too: the parser reads quantities below it, so 1000 was skipped as well.
    return whole.isdigit() and (len(whole) > 9 or int(whole) >= MAX_QTY)
