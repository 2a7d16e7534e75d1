"""Vietnamese mobile numbers: every common spelling, and nothing that only looks like one."""

from __future__ import annotations

import pytest

from server.parse import find_phones, normalise_phone


@pytest.mark.parametrize(
    "raw",
    [
        "0912345678",
        "0912 345 678",
        "0912.345.678",
        "0912-345-678",
        "+84 912 345 678",
        "+84912345678",
        "84912345678",
        "(+84) 912 345 678",
        "0 9 1 2 3 4 5 6 7 8",
    ],
)
def test_spellings_normalise_to_ten_digits(raw):
    assert normalise_phone(raw) == "0912345678"


@pytest.mark.parametrize("prefix", ["03", "05", "07", "08", "09"])
def test_mobile_prefixes(prefix):
    assert normalise_phone(prefix + "12345678") == prefix + "12345678"


@pytest.mark.parametrize("raw", ["0241234567", "012345678", "09123456789", "1912345678", ""])
def test_landlines_and_wrong_lengths_are_not_mobiles(raw):
    assert normalise_phone(raw) is None


def test_find_phones_gives_spans_in_the_original_text():
    text = "chốt 2 sđt 0988 123 456 nhé"
    [(start, end, phone)] = find_phones(text)
    assert text[start:end] == "0988 123 456"
    assert phone == "0988123456"


def test_find_phones_ignores_longer_digit_runs():
    assert find_phones("mã vận đơn 123409123456789") == []


def test_phone_is_never_a_quantity(parser):
    result = parser.parse("3 0977.555.888", pinned="A1")
    assert [(i.code, i.qty) for i in result.items] == [("A1", 3)]
    assert result.phone == "0977555888"


def test_only_a_phone_is_other_with_the_phone(parser):
    result = parser.parse("+84 912 345 678", pinned="A1")
    assert result.intent == "other"
    assert result.items == ()
    assert result.phone == "0912345678"
