"""Folding Vietnamese text for matching, without losing where each piece came from.

Buyers type the same word as ``hạt dẻ``, ``HẠT DẺ``, ``hat de`` or in decomposed
Unicode (NFD, common on some Android keyboards). Matching happens on a *folded*
copy: compatibility-decomposed, lower-cased, combining marks dropped, ``đ`` -> ``d``.
Every folded character remembers the index of the original character it came
from, so a match on the folded copy maps back to a span of the ORIGINAL text for
the panel to highlight.

Folding throws information away (``cảm`` and ``cam`` both become ``cam``), so each
:class:`Token` also keeps ``low``: the original slice, NFC and lower-cased, with its
diacritics. Keyword and product matching use ``low`` when the buyer typed
diacritics and ``fold`` when they did not (see :mod:`server.parse.lexicon`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

__all__ = ["MAX_CHARS", "Folded", "Token", "TokenKind", "fold", "fold_char", "fold_map", "tokenize"]

# Ingestion caps comments at 2000 characters; the parser reads no further
# (spans stay valid: they simply never point past it).
MAX_CHARS = 2000

TokenKind = Literal["phone", "code", "num", "word", "sym"]


@lru_cache(maxsize=4096)
def fold_char(char: str) -> str:
    """Fold one character; combining marks fold to ``""``, some characters to several."""
    if char in "đĐ":
        return "d"
    decomposed = unicodedata.normalize("NFKD", char.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def fold(text: str) -> str:
    """Fold a whole string (no position map): ``"Hạt Dẻ"`` -> ``"hat de"``."""
    return "".join(fold_char(c) for c in text)


@dataclass(frozen=True, slots=True)
class Folded:
    """A folded string and, for each of its characters, the original index it came from."""

    original: str
    text: str
    origin: tuple[int, ...]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Map a folded ``[start, end)`` span to the original text (``end`` exclusive)."""
        if start >= end:
            pos = self.origin[start] if start < len(self.origin) else len(self.original)
            return pos, pos
        first = self.origin[start]
        last = self.origin[end - 1] + 1
        # Trailing combining marks fold to nothing but belong to the last letter.
        while last < len(self.original) and fold_char(self.original[last]) == "":
            last += 1
        return first, last


def fold_map(text: str) -> Folded:
    """Fold ``text`` keeping, for every folded character, its original index."""
    out: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        folded = fold_char(char)
        out.append(folded)
        origin.extend([index] * len(folded))
    return Folded(text, "".join(out), tuple(origin))


@dataclass(frozen=True, slots=True)
class Token:
    """One token: its kind, folded form, lower-case original form and original span."""

    kind: TokenKind
    fold: str
    low: str
    start: int
    end: int
    glued: bool  # no space between this token and the previous one
    accented: bool  # the buyer typed diacritics (or đ) in this token

    @property
    def is_word(self) -> bool:
        return self.kind == "word"


# "+1" is a quantity, "A2 x3 + B1" a separator: a plus sign joins the number only when
# it starts a word.
_BASE_PATTERN = (
    r"(?P<num>(?:(?<![0-9a-z])\+)?[0-9]+(?:[.,][0-9]+)?)|(?P<word>[a-z]+)|(?P<sym>\n|\S)"
)


def build_pattern(phone: str, code: str | None) -> re.Pattern[str]:
    """The tokenizer's regex: phones first (never quantities), then codes, then the rest."""
    parts = [f"(?P<phone>{phone})"]
    if code:
        parts.append(f"(?P<code>{code})")
    parts.append(_BASE_PATTERN)
    return re.compile("|".join(parts))


def tokenize(text: str, pattern: re.Pattern[str]) -> list[Token]:
    """Split ``text`` (first :data:`MAX_CHARS` characters) into tokens with original spans."""
    folded = fold_map(text[:MAX_CHARS])
    tokens: list[Token] = []
    previous_end = -1
    for match in pattern.finditer(folded.text):
        kind = match.lastgroup
        if kind is None:  # pragma: no cover - every alternative is named
            continue
        start, end = folded.span(match.start(), match.end())
        low = unicodedata.normalize("NFC", text[start:end]).lower()
        tokens.append(
            Token(
                kind=kind,  # type: ignore[arg-type]
                fold=match.group(),
                low=low,
                start=start,
                end=end,
                glued=match.start() == previous_end,
                accented=low != match.group(),
            )
        )
        previous_end = match.end()
    return tokens
