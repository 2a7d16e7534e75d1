"""chotdon.codes: one spelling for every product code."""

from __future__ import annotations

import pytest

from chotdon.codes import CODE_PATTERN, MAX_CODE_LENGTH, is_valid_code, normalize_code


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("A1", "A1"),
        ("a1", "A1"),
        ("#a1", "A1"),
        (" # b2 ", "B2"),
        ("Ａ１", "A1"),  # full-width, from some phone keyboards
        ("ａ-3_x", "A-3_X"),
        ("", ""),
    ],
)
def test_normalize_code(typed: str, code: str) -> None:
    assert normalize_code(typed) == code


@pytest.mark.parametrize(
    ("code", "valid"),
    [
        ("A1", True),
        ("B-12_X", True),
        ("9", True),
        ("A" * MAX_CODE_LENGTH, True),
        ("A" * (MAX_CODE_LENGTH + 1), False),
        ("", False),
        ("-A1", False),
        ("A 1", False),
        ("a1", False),  # validity is checked on normalised codes
        ("HẠT", False),
    ],
)
def test_is_valid_code(code: str, valid: bool) -> None:
    assert is_valid_code(code) is valid
    assert (CODE_PATTERN.fullmatch(code) is not None) is valid
