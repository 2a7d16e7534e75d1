"""Amounts in digits and Vietnamese words; units and their weights."""

from __future__ import annotations

import pytest

from server.parse.matcher import ProductMatcher
from server.parse.normalise import build_pattern, tokenize
from server.parse.numbers import read_amount, read_half, read_unit, unit_for_name
from server.parse.phones import PHONE_PATTERN

_PATTERN = build_pattern(PHONE_PATTERN, ProductMatcher([]).code_pattern)


def _amount(text: str) -> float | None:
    tokens = tokenize(text, _PATTERN)
    amount = read_amount(tokens, 0)
    return None if amount is None else amount.value


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("3", 3),
        ("0,5", 0.5),
        ("1.5", 1.5),
        ("+2", 2),
        ("một", 1),
        ("mot", 1),
        ("bốn", 4),
        ("năm", 5),
        ("mười", 10),
        ("mười lăm", 15),
        ("muoi lam", 15),
        ("mười hai", 12),
        ("hai mươi", 20),
        ("hai mươi tư", 24),
        ("hai mươi mốt", 21),
        ("ba mươi lăm", 35),
        ("hai chục", 20),
        ("nửa", 0.5),
        ("nua", 0.5),
    ],
)
def test_read_amount(text, value):
    assert _amount(text) == value


@pytest.mark.parametrize("text", ["lăm", "tư", "mốt", "hello", "?"])
def test_words_that_only_follow_tens_are_not_amounts_alone(text):
    assert _amount(text) is None


@pytest.mark.parametrize(
    ("text", "name", "kg"),
    [
        ("kg", "kg", 1.0),
        ("cân", "kg", 1.0),
        ("ký", "kg", 1.0),
        ("kí lô", "kg", 1.0),
        ("lạng", "lạng", 0.1),
        ("gram", "g", 0.001),
        ("gói", "gói", None),
        ("chai", "chai", None),
    ],
)
def test_read_unit(text, name, kg):
    tokens = tokenize(text, _PATTERN)
    read = read_unit(tokens, 0)
    assert read is not None
    unit, end = read
    assert (unit.name, unit.kg, end) == (name, kg, len(tokens))


def test_accented_lookalike_is_not_a_unit():
    tokens = tokenize("cần", _PATTERN)  # "need", not "cân"
    assert read_unit(tokens, 0) is None


def test_bao_nhieu_is_not_a_sack():
    tokens = tokenize("bao nhiêu", _PATTERN)
    assert read_unit(tokens, 0) is None


def test_glued_c_is_shorthand_for_can():
    tokens = tokenize("2c", _PATTERN)
    assert read_unit(tokens, 1) is not None
    assert read_unit(tokenize("2 c", _PATTERN), 1) is None


def test_read_half():
    tokens = tokenize("cân rưỡi", _PATTERN)
    assert read_half(tokens, 1)
    assert not read_half(tokens, 0)
    assert not read_half(tokens, 2)


def test_unit_for_catalog_names():
    assert unit_for_name("kg").kg == 1.0
    assert unit_for_name("Hộp").group == unit_for_name("box").group
    assert unit_for_name("chai").group == unit_for_name("botol").group
    odd = unit_for_name("thanh")  # not a known unit: its own group
    assert odd.group == "thanh" and odd.kg is None
