"""Accent-aware keyword matching."""

from __future__ import annotations

from server.parse import lexicon as lx
from server.parse.matcher import ProductMatcher
from server.parse.normalise import build_pattern, tokenize
from server.parse.phones import PHONE_PATTERN

_PATTERN = build_pattern(PHONE_PATTERN, ProductMatcher([]).code_pattern)


def _tokens(text: str):
    return tokenize(text, _PATTERN)


def test_unaccented_text_matches_accented_keywords():
    assert lx.CANCEL_WORDS.find(_tokens("huy don")) == [(0, 2)]
    assert lx.CANCEL_WORDS.find(_tokens("hủy đơn")) == [(0, 2)]


def test_wrong_accents_do_not_match():
    assert lx.STRONG_QUESTION.find(_tokens("máy")) == []  # a machine, not "mấy"
    assert lx.STRONG_QUESTION.find(_tokens("may")) == [(0, 1)]


def test_longest_phrase_wins():
    assert lx.STRONG_QUESTION.find(_tokens("bao nhiêu tiền")) == [(0, 2)]


def test_skipped_tokens_neither_start_nor_sit_inside_a_phrase():
    tokens = _tokens("bao nhiêu")
    assert lx.STRONG_QUESTION.find(tokens, {0}) == [(1, 2)]  # "nhiêu" alone still asks


def test_strict_phrases_need_diacritics():
    assert lx.ADDRESS.find(_tokens("Ngõ 5")) == [(0, 1)]
    assert lx.ADDRESS.find(_tokens("Ngô Lan")) == []
    assert lx.ADDRESS.find(_tokens("ngo 5")) == []


def test_symbols_can_be_phrase_words():
    phrases = lx.Phrases(["đ / c"])
    assert phrases.find(_tokens("đ/c 12 Lê Lợi")) == [(0, 3)]


def test_address_abbreviation():
    assert lx.ADDRESS.find(_tokens("đ/c 12 Lê Lợi")) == [(0, 3)]
