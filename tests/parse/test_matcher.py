"""Products by code, by name or alias, accent-aware and forgiving of small typos."""

from __future__ import annotations

import pytest

from server.parse import CatalogEntry
from server.parse.matcher import ProductMatcher, edit_distance
from server.parse.normalise import build_pattern, tokenize
from server.parse.phones import PHONE_PATTERN

ENTRIES = [
    CatalogEntry("A1", "Hạt dẻ Ngân Sơn", "kg", ("hạt dẻ", "dẻ")),
    CatalogEntry("B2", "Mật ong bạc hà", "chai", ("mật ong", "mật")),
    CatalogEntry("B4", "Cam sành Hàm Yên", "kg", ("cam", "cam sành")),
    CatalogEntry("MIEN", "Miến dong Na Rì", "gói", ("miến dong",)),
    CatalogEntry("101", "Gạo nếp", "kg", ()),
]


@pytest.fixture(scope="module")
def matcher() -> ProductMatcher:
    return ProductMatcher(ENTRIES)


def _find(matcher: ProductMatcher, text: str) -> list[tuple[str | None, str, str]]:
    tokens = tokenize(text, build_pattern(PHONE_PATTERN, matcher.code_pattern))
    found = matcher.find(tokens, set())
    return [(m.code, m.how, text[tokens[m.start].start : tokens[m.end - 1].end]) for m in found]


@pytest.mark.parametrize("text", ["A1", "a1", "#A1", "mã A1", "A1x2", "a1 x 2", "2a1", "A1 2kg"])
def test_codes_in_any_spelling(matcher, text):
    codes = [(code, how) for code, how, _ in _find(matcher, text)]
    assert codes == [("A1", "code")]


def test_letter_only_and_digit_only_codes_need_a_prefix(matcher):
    assert _find(matcher, "mien dong 2 goi")[0][0] == "MIEN"  # by its alias, not its code
    assert [c for c, _, _ in _find(matcher, "#MIEN 2")] == ["MIEN"]
    assert [c for c, _, _ in _find(matcher, "mã 101")] == ["101"]
    assert _find(matcher, "lấy 101 cái") == []


def test_unknown_code_shapes_are_reported_as_unknown(matcher):
    assert _find(matcher, "B7 x1") == [(None, "unknown", "B7")]
    assert _find(matcher, "x2 k5 h8") == []


def test_longest_name_wins(matcher):
    assert _find(matcher, "1 chai mật ong bạc hà") == [("B2", "alias", "mật ong bạc hà")]


def test_names_match_without_diacritics(matcher):
    assert _find(matcher, "2 can hat de") == [("A1", "alias", "hat de")]


def test_one_word_alias_needs_the_right_accents(matcher):
    assert _find(matcher, "cảm ơn shop") == []  # "cảm" is not "cam" (oranges)
    assert _find(matcher, "mắt đẹp") == []  # "mắt" (eyes) is not "mật" (honey)
    assert _find(matcher, "5 cân cam") == [("B4", "alias", "cam")]


def test_several_words_may_differ_in_accents(matcher):
    assert _find(matcher, "hạt dẽ") == [("A1", "accent", "hạt dẽ")]


@pytest.mark.parametrize(
    ("text", "code"), [("mat ongg", "B2"), ("matong", "B2"), ("hat dee", "A1")]
)
def test_small_typos_match_fuzzily(matcher, text, code):
    [(found, how, _)] = _find(matcher, text)
    assert (found, how) == (code, "fuzzy")


def test_short_words_are_never_fuzzy(matcher):
    assert _find(matcher, "mat") == [("B2", "alias", "mat")]
    assert _find(matcher, "cao") == []


def test_blocked_tokens_are_skipped(matcher):
    tokens = tokenize("cam on", build_pattern(PHONE_PATTERN, matcher.code_pattern))
    assert matcher.find(tokens, {0, 1}) == []


@pytest.mark.parametrize(
    ("a", "b", "limit", "distance"),
    [
        ("matong", "matong", 1, 0),
        ("matongg", "matong", 1, 1),
        ("mietdong", "miendong", 2, 1),
        ("hatde", "hadte", 1, 1),  # a swap counts once
        ("abc", "xyz", 1, 2),  # capped at limit + 1
        ("", "abcd", 2, 3),
    ],
)
def test_edit_distance(a, b, limit, distance):
    assert edit_distance(a, b, limit) == distance


def test_first_words_of_a_name_match_unless_shared():
    matcher = ProductMatcher(
        [
            CatalogEntry("B1", "Chè Shan tuyết cổ thụ", "hộp", ()),
            CatalogEntry("T1", "Thịt trâu gác bếp", "kg", ()),
            CatalogEntry("T2", "Thịt trâu khô", "kg", ()),
        ]
    )
    assert _find(matcher, "1 hộp chè shan tuyết") == [("B1", "alias", "chè shan tuyết")]
    assert _find(matcher, "thịt trâu gác") == [("T1", "alias", "thịt trâu gác")]
    assert _find(matcher, "2 cân thịt trâu") == []  # both products start that way


def test_name_prefixes_are_not_fuzzy(matcher):
    # "mật ong bao" is one letter from the prefix "mật ong bạc", but "bao" starts "bao nhiêu".
    assert _find(matcher, "mật ong bao nhiêu") == [("B2", "alias", "mật ong")]
