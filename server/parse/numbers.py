"""Amounts and units: ``3``, ``0,5``, ``hai mươi lăm``, ``nửa``, ``cân rưỡi``, ``5 lạng``.

Vietnamese number words double as ordinary words (``ba`` is also "dad", ``năm``
also "year", ``sau`` also "after"), so :func:`read_amount` only *reads* them; the
parser decides from context whether a reading is a quantity. Units carry a factor
to kilograms where they weigh something, so ``5 lạng`` of a product sold by the kg
is ``0.5`` and ``500g`` is ``0.5`` too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from server.parse.lexicon import Phrases, word_matches
from server.parse.normalise import Token, fold

__all__ = ["Amount", "Unit", "read_amount", "read_unit", "unit_for_name"]


@dataclass(frozen=True, slots=True)
class Amount:
    """A number read from tokens ``[start, end)``; ``words`` if spelled out."""

    value: float
    start: int
    end: int
    words: bool


@dataclass(frozen=True, slots=True)
class Unit:
    """A unit of sale: ``group`` says which units are interchangeable."""

    name: str
    group: str
    kg: float | None = None  # weight units: how many kilograms one of these is


_KG = Unit("kg", "weight", 1.0)
_UNITS: dict[str, Unit] = {}


def _add(group: str, words: str, kg: float | None = None) -> None:
    names = [w.strip() for w in words.split(",")]
    unit = Unit(names[0], group, kg)
    for name in names:
        _UNITS[name] = unit


_add("weight", "kg, kgs, kilo, kilos, kilogram, ký, kí, ky, ki, cân, can, kí lô, ki lo, ký lô", 1.0)
_add("weight", "lạng, lang", 0.1)
_add("weight", "g, gr, gram, gam, grams, gramm", 0.001)
_add("pack", "gói, goi, túi, tui, bịch, bich, bao, bungkus, pack, packs, bag, bags, pak")
_add("box", "hộp, hop, hôp, box, boxes, kotak")
_add("bottle", "chai, lọ, lo, hũ, hu, hủ, bình, binh, bottle, bottles, botol, btl")
_add("fruit", "quả, qua, trái, trai, buah")
_add("bunch", "bó, bo, ikat")
_add("case", "thùng, thung, két, ket, kiện")
_add("piece", "cái, cai, phần, phan, suất, suat, set, combo, pcs, pc, piece, pieces, chiếc, sp")

_UNIT_PHRASES = Phrases(_UNITS)
# "bao nhiêu" starts with "bao" (a sack): not a unit there.
_NOT_AFTER_BAO = frozenset({"nhieu", "nhiu", "lau", "gio"})


def unit_for_name(name: str) -> Unit:
    """The unit a catalog row is sold in; unknown names form their own group."""
    key = name.strip().lower()
    unit = _UNITS.get(key) or _UNITS.get(fold(key))
    return unit if unit is not None else Unit(key, fold(key))


def read_unit(tokens: Sequence[Token], i: int) -> tuple[Unit, int] | None:
    """The unit starting at ``tokens[i]`` and the index after it, if there is one."""
    if i >= len(tokens):
        return None
    token = tokens[i]
    if token.kind == "word" and token.fold == "c" and token.glued:
        return _KG, i + 1  # "2c": buyers' shorthand for cân
    length = _UNIT_PHRASES.match_at(tokens, i)
    if not length:
        return None
    if token.fold == "bao" and i + 1 < len(tokens) and tokens[i + 1].fold in _NOT_AFTER_BAO:
        return None
    name = " ".join(t.low for t in tokens[i : i + length])
    unit = _UNITS.get(name) or _UNITS.get(fold(name)) or _UNITS[tokens[i].fold]
    return unit, i + length


_DIGITS: dict[str, int] = {
    "một": 1, "mốt": 1, "hai": 2, "ba": 3, "bốn": 4, "tư": 4, "năm": 5, "lăm": 5,
    "nhăm": 5, "sáu": 6, "bảy": 7, "bẩy": 7, "tám": 8, "chín": 9,
}  # fmt: skip
_LEAD_ONLY = frozenset({"mốt", "tư", "lăm", "nhăm"})  # only after "mươi"/"mười"
_TEN = ("mười", "muoi")
_TENS = ("mươi", "muoi")
_DOZEN = ("chục", "chuc")
_HALF = ("nửa", "nua")
_AND_A_HALF = ("rưỡi", "ruoi")


_DIGIT_FORMS = tuple((word, fold(word), value) for word, value in _DIGITS.items())
_DIGIT_FOLDS = frozenset(folded for _, folded, _ in _DIGIT_FORMS)


def _digit(token: Token, *, lead: bool) -> int | None:
    if token.fold not in _DIGIT_FOLDS:
        return None
    for word, folded, value in _DIGIT_FORMS:
        if word_matches(token, word, folded):
            return None if lead and word in _LEAD_ONLY else value
    return None


def _is(token: Token, word: tuple[str, str]) -> bool:
    return word_matches(token, word[0], word[1])


def _read_words(tokens: Sequence[Token], i: int) -> tuple[float, int] | None:
    first = tokens[i]
    if _is(first, _HALF):
        return 0.5, i + 1
    if _is(first, _TEN):
        value, j = 10, i + 1
        if j < len(tokens) and (extra := _digit(tokens[j], lead=False)) is not None:
            return value + extra, j + 1
        return value, j
    lead = _digit(first, lead=True)
    if lead is None:
        return None
    j = i + 1
    if j < len(tokens) and (_is(tokens[j], _TENS) or _is(tokens[j], _DOZEN)):
        value, j = lead * 10, j + 1
        if j < len(tokens) and (extra := _digit(tokens[j], lead=False)) is not None:
            return value + extra, j + 1
        return value, j
    return lead, j


def read_amount(tokens: Sequence[Token], i: int) -> Amount | None:
    """Read a number at ``tokens[i]``: digits (``0,5`` = 0.5) or Vietnamese words."""
    token = tokens[i]
    if token.kind == "num":
        value = float(token.fold.lstrip("+").replace(",", "."))
        return Amount(value, i, i + 1, words=False)
    if token.kind != "word":
        return None
    read = _read_words(tokens, i)
    if read is None:
        return None
    return Amount(float(read[0]), i, read[1], words=True)


def read_half(tokens: Sequence[Token], i: int) -> bool:
    """Is ``tokens[i]`` the "and a half" of ``1 cân rưỡi``?"""
    return i < len(tokens) and _is(tokens[i], _AND_A_HALF)
