"""Finding catalog products in a comment: by code, by name or alias, forgiving typos.

Codes are matched by the tokenizer's regex (built here), so ``A3x2``, ``#a3`` and
``2a3`` split cleanly. Codes that mix letters and digits match anywhere; codes that
are all letters or all digits could be ordinary words or quantities, so they need
``#`` or ``mã`` in front. Code-shaped tokens that are not in the catalog (``B7``)
are still reported, as unknown, so the comment goes to a human.

Names and aliases match on whole tokens, longest first. One-word aliases must
agree on diacritics when the buyer typed any (``cảm ơn`` is not ``cam`` = oranges);
longer ones may differ in accents only. A small edit distance catches typos in
names of five letters or more (the first two letters must agree: it keeps the
search small and typos there are rare); such matches lower the confidence.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, TypeVar

from chotdon.codes import normalize_code
from server.parse.lexicon import word_matches
from server.parse.normalise import Token, fold, tokenize

__all__ = [
    "CatalogEntry",
    "CatalogLike",
    "Mention",
    "ProductMatcher",
    "VariantHit",
    "VariantIndex",
    "VariantLike",
    "edit_distance",
]

MatchHow = Literal["code", "alias", "accent", "fuzzy", "unknown", "variant"]

# Letters that start code-shaped tokens worth flagging when not in the catalog;
# others (x2, k5, h8, g7…) are multipliers, money, hours or grams.
_UNKNOWN_CODE = r"(?<![a-z0-9])#?[abcdf][0-9]{1,2}(?![0-9])"
_FUZZY_MIN_LEN = 5
_CACHE_LIMIT = 4096


class VariantLike(Protocol):
    """What the parser needs from a variant (``chotdon.catalog.VariantRow`` fits)."""

    @property
    def key(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def aliases(self) -> tuple[str, ...]: ...


class CatalogLike(Protocol):
    """What the parser needs from a catalog row (``chotdon.catalog.ProductRow`` fits)."""

    @property
    def code(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def unit(self) -> str: ...
    @property
    def aliases(self) -> tuple[str, ...]: ...


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """A product as the parser sees it."""

    code: str
    name: str
    unit: str = ""
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Mention:
    """A product found in tokens ``[start, end)``; ``code`` is None when not in the catalog."""

    code: str | None
    start: int
    end: int
    how: MatchHow
    distance: int = 0
    variant: str | None = None  # the variant's key ("XANH"), when one was named


@dataclass(frozen=True, slots=True)
class _Phrase:
    code: str
    low: tuple[str, ...]
    folded: tuple[str, ...]
    compact: str


def _phrase(code: str, low: tuple[str, ...]) -> _Phrase:
    folded = tuple(fold(w) for w in low)
    return _Phrase(code, low, folded, "".join(folded))


def edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance, or ``limit + 1`` as soon as it must exceed it."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            best = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                best = min(best, previous2[j - 2] + 1)
            current[j] = best
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return min(previous[-1], limit + 1)


def _code_pattern(codes: Iterable[str]) -> str:
    bare: list[str] = []
    guarded: list[str] = []
    for code in sorted({c.lower() for c in codes}, key=len, reverse=True):
        has_alpha = any(c.isalpha() for c in code)
        has_digit = any(c.isdigit() for c in code)
        (bare if has_alpha and has_digit else guarded).append(re.escape(code))
    parts = []
    if bare:
        parts.append(rf"(?<![a-z])#?(?:{'|'.join(bare)})(?![0-9])")
    if guarded:
        parts.append(rf"(?:#|(?<=ma ))(?:{'|'.join(guarded)})(?![0-9a-z])")
    parts.append(_UNKNOWN_CODE)
    return "|".join(parts)


class ProductMatcher:
    """Indexes a catalog once; :meth:`find` then runs per comment."""

    def __init__(self, catalog: Iterable[CatalogLike]) -> None:
        self.codes: dict[str, str] = {}
        self._index: dict[str, list[_Phrase]] = {}
        self._by_initial: dict[str, list[_Phrase]] = {}
        self._fuzzy_cache: dict[str, tuple[str, int] | None] = {}
        entries = list(catalog)
        for entry in entries:
            code = normalize_code(entry.code)
            self.codes[code.lower()] = code
            for text in (entry.name, *entry.aliases):
                self._add_phrase(code, text)
        self._add_name_prefixes(entries)
        for options in self._index.values():
            options.sort(key=lambda p: len(p.folded), reverse=True)
        self.code_pattern = _code_pattern(self.codes)

    def _add_name_prefixes(self, entries: list[CatalogLike]) -> None:
        """Buyers shorten names ("chè shan tuyết" for "Chè Shan tuyết cổ thụ"): the
        first two or more words of a name count too, unless two products share them
        or they already are a phrase."""
        known = {p.folded for options in self._index.values() for p in options}
        owners: dict[tuple[str, ...], set[str]] = {}
        prefixes: dict[tuple[str, ...], _Phrase] = {}
        for entry in entries:
            code = normalize_code(entry.code)
            low = tuple(re.findall(r"\w+", entry.name.lower()))
            for size in range(2, len(low)):
                phrase = _phrase(code, low[:size])
                owners.setdefault(phrase.folded, set()).add(code)
                prefixes.setdefault(phrase.folded, phrase)
        for folded, phrase in prefixes.items():
            if folded not in known and len(owners[folded]) == 1:
                self._register(phrase, fuzzy=False)  # "mật ong bao" is not "mật ong bạc"

    def _add_phrase(self, code: str, text: str) -> None:
        low = tuple(re.findall(r"\w+", text.lower()))
        if low:
            self._register(_phrase(code, low))

    def _register(self, phrase: _Phrase, *, fuzzy: bool = True) -> None:
        self._index.setdefault(phrase.folded[0], []).append(phrase)
        if fuzzy and len(phrase.compact) >= _FUZZY_MIN_LEN:
            self._by_initial.setdefault(phrase.compact[:2], []).append(phrase)

    def find(self, tokens: Sequence[Token], blocked: set[int]) -> list[Mention]:
        """Products mentioned in ``tokens``, left to right, skipping ``blocked`` indexes."""
        return _scan(tokens, blocked, self._mention_at)

    def _mention_at(self, tokens: Sequence[Token], i: int, blocked: set[int]) -> Mention | None:
        token = tokens[i]
        if token.kind == "code":
            code = self.codes.get(token.fold.lstrip("#"))
            return Mention(code, i, i + 1, "code" if code else "unknown")
        if token.kind != "word":
            return None
        exact = self._exact_at(tokens, i, blocked)
        # A longer typo'd name beats a shorter exact alias: "mat ongg" is "mật ong"
        # misspelt, not "mật" followed by a stray word.
        longest = 1 if exact is None else exact.end - exact.start + 1
        fuzzy = self._fuzzy_at(tokens, i, blocked, min_size=longest)
        return fuzzy or exact

    def _exact_at(self, tokens: Sequence[Token], i: int, blocked: set[int]) -> Mention | None:
        for phrase in self._index.get(tokens[i].fold, ()):
            end = i + len(phrase.folded)
            window = tokens[i:end]
            if end > len(tokens) or any(k in blocked for k in range(i, end)):
                continue
            if any(
                t.kind != "word" or t.fold != f for t, f in zip(window, phrase.folded, strict=True)
            ):
                continue
            strict = all(
                word_matches(t, low, f)
                for t, low, f in zip(window, phrase.low, phrase.folded, strict=True)
            )
            if strict:
                return Mention(phrase.code, i, end, "alias")
            if len(window) > 1:
                return Mention(phrase.code, i, end, "accent")
        return None

    def _fuzzy_at(
        self, tokens: Sequence[Token], i: int, blocked: set[int], min_size: int
    ) -> Mention | None:
        for size in range(3, min_size - 1, -1):
            window = tokens[i : i + size]
            if len(window) < size or any(
                t.kind != "word" or (i + k) in blocked for k, t in enumerate(window)
            ):
                continue
            compact = "".join(t.fold for t in window)
            if len(compact) < _FUZZY_MIN_LEN:
                continue
            hit = self._fuzzy_lookup(compact)
            if hit is not None:
                return Mention(hit[0], i, i + size, "fuzzy", hit[1])
        return None

    def _fuzzy_lookup(self, compact: str) -> tuple[str, int] | None:
        if compact in self._fuzzy_cache:
            return self._fuzzy_cache[compact]
        best: tuple[str, int] | None = None
        for phrase in self._by_initial.get(compact[:2], ()):
            limit = 1 if len(phrase.compact) <= 8 else 2
            distance = edit_distance(compact, phrase.compact, limit)
            if distance <= limit and (best is None or distance < best[1]):
                best = (phrase.code, distance)
        if len(self._fuzzy_cache) >= _CACHE_LIMIT:
            self._fuzzy_cache.clear()
        self._fuzzy_cache[compact] = best
        return best


@dataclass(frozen=True, slots=True)
class VariantHit:
    """A variant name or alias in tokens ``[start, end)``: the (code, key) pairs it names."""

    start: int
    end: int
    owners: tuple[tuple[str, str], ...]


class VariantIndex:
    """Variant names and aliases ("túi xanh", "xanh", "hộp 500g", "500g"), longest first.

    Phrases are tokenized like comments (``500g`` is the number 500 then ``g``), and
    words agree on diacritics when the buyer typed any (``vang`` may be ``vàng``, but
    ``vàng`` is never ``văng``). One phrase may name variants of several products
    ("xanh"); the parser picks the product from the comment or the pinned one.
    """

    def __init__(self, catalog: Iterable[CatalogLike], pattern: re.Pattern[str]) -> None:
        found: dict[tuple[str, ...], tuple[tuple[Token, ...], list[tuple[str, str]]]] = {}
        for entry in catalog:
            code = normalize_code(entry.code)
            for variant in getattr(entry, "variants", ()):
                for text in (variant.name, *variant.aliases):
                    words = tuple(tokenize(text, pattern))
                    if not words or any(t.kind == "sym" for t in words):
                        continue
                    _, owners = found.setdefault(tuple(t.fold for t in words), (words, []))
                    if (code, variant.key) not in owners:
                        owners.append((code, variant.key))
        self._index: dict[str, list[tuple[tuple[Token, ...], tuple[tuple[str, str], ...]]]] = {}
        for words, owners in found.values():
            self._index.setdefault(words[0].fold, []).append((words, tuple(owners)))
        for options in self._index.values():
            options.sort(key=lambda o: len(o[0]), reverse=True)

    def __bool__(self) -> bool:
        return bool(self._index)

    def find(self, tokens: Sequence[Token], blocked: set[int]) -> list[VariantHit]:
        """Variant phrases in ``tokens``, left to right, avoiding ``blocked`` indexes."""
        return _scan(tokens, blocked, self._hit_at)

    def _hit_at(self, tokens: Sequence[Token], i: int, blocked: set[int]) -> VariantHit | None:
        for words, owners in self._index.get(tokens[i].fold, ()):
            end = i + len(words)
            if end > len(tokens) or any(k in blocked for k in range(i, end)):
                continue
            if all(_same_word(t, w) for t, w in zip(tokens[i:end], words, strict=True)):
                return VariantHit(i, end, owners)
        return None


def _same_word(token: Token, word: Token) -> bool:
    if token.kind == "word" and word.kind == "word":
        return word_matches(token, word.low, word.fold)
    return token.kind == word.kind and token.fold == word.fold


class _Spanned(Protocol):
    @property
    def end(self) -> int: ...


_Hit = TypeVar("_Hit", bound=_Spanned)


def _scan(
    tokens: Sequence[Token],
    blocked: set[int],
    at: Callable[[Sequence[Token], int, set[int]], _Hit | None],
) -> list[_Hit]:
    """Longest-first hits left to right: a hit's tokens are not looked at again."""
    hits: list[_Hit] = []
    i = 0
    while i < len(tokens):
        hit = None if i in blocked else at(tokens, i, blocked)
        if hit is None:
            i += 1
            continue
        hits.append(hit)
        i = hit.end
    return hits
