"""Product codes: what sellers and buyers type (``#a1``, ``Ａ1``, `` A1 ``) is ``A1``."""

from __future__ import annotations

import re
import unicodedata

__all__ = ["CODE_PATTERN", "MAX_CODE_LENGTH", "is_valid_code", "normalize_code"]

MAX_CODE_LENGTH = 16
# A letter or digit first, then letters, digits, '-' or '_'; short enough to say on air.
CODE_PATTERN = re.compile(rf"^[A-Z0-9][A-Z0-9_-]{{0,{MAX_CODE_LENGTH - 1}}}$")


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
