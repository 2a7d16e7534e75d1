"""Folding keeps every character traceable to the original text."""

from __future__ import annotations

import unicodedata

from server.parse.matcher import ProductMatcher
from server.parse.normalise import MAX_CHARS, build_pattern, fold, fold_char, fold_map, tokenize
from server.parse.phones import PHONE_PATTERN


def _pattern():
    return build_pattern(PHONE_PATTERN, ProductMatcher([]).code_pattern)


def test_fold_strips_marks_lowercases_and_maps_d():
    assert fold("Hạt Dẻ ĐỒNG") == "hat de dong"
    assert fold_char("\u0301") == ""  # a lone combining acute accent


def test_fold_handles_decomposed_input_like_composed():
    composed = "Chốt hộp mật ong"
    decomposed = unicodedata.normalize("NFD", composed)
    assert decomposed != composed
    assert fold(decomposed) == fold(composed) == "chot hop mat ong"


def test_fold_map_spans_cover_trailing_combining_marks():
    text = unicodedata.normalize("NFD", "mật ong")
    folded = fold_map(text)
    start = folded.text.index("mat")
    begin, end = folded.span(start, start + 3)
    assert text[begin:end] == unicodedata.normalize("NFD", "mật")


def test_fold_map_of_compatibility_characters():
    folded = fold_map("２ｋｇ")  # full-width digits and letters, typed on some keyboards
    assert folded.text == "2kg"
    assert folded.span(0, 3) == (0, 3)


def test_tokens_keep_original_spans_and_accents():
    text = "Chốt A3x2, 0912.345.678 ❤️"
    tokens = tokenize(text, _pattern())
    kinds = [(t.kind, text[t.start : t.end]) for t in tokens]
    assert kinds[:5] == [
        ("word", "Chốt"),
        ("code", "A3"),  # code-shaped even with an empty catalog
        ("word", "x"),
        ("num", "2"),
        ("sym", ","),
    ]
    assert ("phone", "0912.345.678") in kinds
    first = tokens[0]
    assert first.low == "chốt" and first.fold == "chot" and first.accented
    assert tokens[2].glued and not first.glued and not tokens[1].accented


def test_plus_sign_joins_a_number_only_at_a_word_start():
    text = "+1 và A2 x3 + 4"
    folds = [t.fold for t in tokenize(text, _pattern())]
    assert folds[0] == "+1"
    assert "+" in folds and "4" in folds


def test_tokenize_reads_no_further_than_max_chars():
    text = "a " * MAX_CHARS
    tokens = tokenize(text, _pattern())
    assert tokens and tokens[-1].end <= MAX_CHARS
