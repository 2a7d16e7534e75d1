"""Product codes: what sellers and buyers type (``#a1``, ``Ａ1``, `` A1 ``) is ``A1``."""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "CODE_PATTERN",
    "MAX_CODE_LENGTH",
    "VARIANT_SEPARATOR",
    "is_valid_code",
    "normalize_code",
    "normalize_variant_key",
    "split_variant_id",
    "variant_id",
]

MAX_CODE_LENGTH = 16
# A letter or digit first, then letters, digits, '-' or '_'; short enough to say on air.
CODE_PATTERN = re.compile(rf"^[A-Z0-9][A-Z0-9_-]{{0,{MAX_CODE_LENGTH - 1}}}$")
# A variant is named by its product's code and its own key: ``B2/XANH``, ``A2/500G``.
# '/' cannot appear in a code or a key, so the pair always splits back unambiguously.
VARIANT_SEPARATOR = "/"


def normalize_code(text: str) -> str:
    """The one spelling of a code: stored, compared and shown upper-case.

    NFKC folds full-width characters from phone keyboards (``Ａ１`` is ``A1``);
    a leading ``#`` is how buyers often write a code in a comment.
    """
    folded = unicodedata.normalize("NFKC", text).strip()
    return folded.lstrip("#").strip().upper()


def is_valid_code(code: str) -> bool:
    """Whether an already normalised code has the allowed shape (see :data:`CODE_PATTERN`)."""
    return CODE_PATTERN.fullmatch(code) is not None


def normalize_variant_key(text: str) -> str:
    """The one spelling of a variant key, shaped like a code: ``"Túi xanh"`` is
    ``TUI-XANH``, ``"đỏ"`` is ``DO``, ``"500g"`` is ``500G``.

    Keys are typed by sellers in Vietnamese, so diacritics are folded away (codes
    are ASCII) and spaces become ``-``; :func:`is_valid_code` then checks the shape.
    """
    folded = unicodedata.normalize("NFKD", normalize_code(text).replace("Đ", "D"))
    bare = "".join(c for c in folded if not unicodedata.combining(c))
    return re.sub(r"\s+", "-", bare)


def variant_id(code: str, key: str | None) -> str:
    """``variant_id("B2", "XANH")`` -> ``"B2/XANH"``; no key -> the product code."""
    return f"{code}{VARIANT_SEPARATOR}{key}" if key else code


def split_variant_id(text: str) -> tuple[str, str | None]:
    """``"b2/xanh"`` -> ``("B2", "XANH")``; ``"B2"`` -> ``("B2", None)``."""
    code, _, key = text.partition(VARIANT_SEPARATOR)
    return normalize_code(code), (normalize_variant_key(key) or None)
