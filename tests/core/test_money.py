"""chotdon.money: prices as sellers write them and the price a buyer pays now."""

from __future__ import annotations

import pytest

from chotdon.limits import MAX_PRICE
from chotdon.money import format_price, format_vnd, parse_price, parse_whole, price_now


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("150000", 150000),
        ("150.000", 150000),
        ("150,000", 150000),
        ("1.500.000", 1500000),
        ("150 000", 150000),
        ("150\u00a0000", 150000),  # the no-break space spreadsheets group with
        ("150k", 150000),
        ("150K", 150000),
        ("1.5k", 1500),
        ("1,5k", 1500),
        ("2tr", 2000000),
        ("1.5tr", 1500000),
        ("1tr5", 1500000),
        ("1tr250", 1250000),
        ("150.000đ", 150000),
        ("45.000 ₫", 45000),
        ("0", 0),
        (150000, 150000),
    ],
)
def test_parse_price(text: str | int, amount: int) -> None:
    assert parse_price(text) == amount


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "a price is required"),
        ("12a", "'12a' is not a whole number of đồng"),
        ("150.5", "not a whole number of đồng"),  # 150,5 thousand or a mistyped 150.500?
        ("1.500,000", "not a whole number"),
        ("1.0001k", "not a whole number"),
        ("1.5tr5", "ambiguous"),
        ("-5000", "negative"),
        (str(MAX_PRICE + 1), f"above the limit {MAX_PRICE}"),
    ],
)
def test_parse_price_refuses_with_a_clear_message(text: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        parse_price(text)


def test_parse_whole_allows_grouping_but_no_fractions() -> None:
    assert parse_whole("1.000") == parse_whole("1,000") == parse_whole(1000) == 1000
    for bad in ("1.5", "1k", "", "-1"):
        with pytest.raises(ValueError):
            parse_whole(bad)


@pytest.mark.parametrize(
    ("price", "sale", "now"),
    [(180000, 150000, 150000), (180000, None, 180000), (180000, 180000, 180000),
     (180000, 200000, 180000), (180000, 0, 0)],
)  # fmt: skip
def test_price_now_is_the_sale_price_only_when_lower(
    price: int, sale: int | None, now: int
) -> None:
    assert price_now(price, sale) == now


def test_formatting_groups_thousands_with_dots() -> None:
    assert format_vnd(1250000) == "1.250.000 ₫"
    assert format_vnd(-5000) == "-5.000 ₫"
    assert format_price(100000, "kg") == "100.000 ₫/kg"
    assert parse_price(format_vnd(1250000)) == 1250000
