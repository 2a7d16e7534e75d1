from __future__ import annotations

import pytest

from chotdon.money import format_price, format_vnd
from overlays.theme import THEME, css_variables


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (0, "0 ₫"),
        (950, "950 ₫"),
        (100000, "100.000 ₫"),
        (1250000, "1.250.000 ₫"),
        (-5000, "-5.000 ₫"),
    ],
)
def test_vnd_groups_thousands_with_dots(amount: int, text: str) -> None:
    assert format_vnd(amount) == text


def test_price_with_unit() -> None:
    assert format_price(100000, "kg") == "100.000 ₫/kg"
    assert format_price(55000, None) == "55.000 ₫"


def test_theme_becomes_css_variables() -> None:
    css = css_variables()
    assert css.startswith(":root{") and f"--card-bg:{THEME['card_bg']};" in css
