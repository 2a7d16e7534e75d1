from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from assets import FONTS_DIR
from transcribe.captions import (
    Cue,
    build_cues,
    slice_segments,
    to_ass,
    to_srt,
    to_vtt,
    write_captions,
)
from transcribe.types import Segment, Word, segments_from_json

from .conftest import ffmpeg

GOLDEN = Path(__file__).parent / "golden"
SELLER = (
    "Chào cả nhà, hôm nay em bán hạt dẻ Ngân Sơn, một trăm hai mươi nghìn một cân. "
    "Ai lấy thì bình luận mã A1 nhé."
)


def seg(index: int, words: list[tuple[float, float, str]]) -> Segment:
    ws = tuple(Word(s, e, " " + t, 0.9) for s, e, t in words)
    return Segment(index, ws[0].start, ws[-1].end, "".join(w.word for w in ws).strip(), ws)


def spoken(text: str, *, step: float = 0.3, sentence_pause: float = 1.0) -> list[Segment]:
    """Hand-timed words: one every ``step`` s, a pause after each sentence."""
    t, words = 0.0, []
    for w in text.split():
        words.append((round(t, 3), round(t + step - 0.05, 3), w))
        t += step + (sentence_pause if w.endswith(".") else 0)
    return [seg(0, words[:17]), seg(1, words[17:])]


def golden(name: str, text: str) -> None:
    path = GOLDEN / name
    assert text == path.read_text(encoding="utf-8"), f"differs from {path}"


def test_seller_golden_files() -> None:
    cues = build_cues(spoken(SELLER))
    golden("seller.srt", to_srt(cues))
    golden("seller.vtt", to_vtt(cues))
    golden("seller.ass", to_ass(cues))


def test_lines_break_at_phrases_and_keep_words_whole() -> None:
    cues = build_cues(spoken(SELLER))
    assert [c.lines for c in cues] == [
        ("Chào cả nhà, hôm nay", "em bán hạt dẻ Ngân Sơn,"),
        ("một trăm hai mươi", "nghìn một cân."),
        ("Ai lấy thì bình", "luận mã A1 nhé."),
    ]
    words = SELLER.split()
    assert " ".join(" ".join(c.lines) for c in cues).split() == words


def test_pause_ends_a_cue_even_without_punctuation() -> None:
    words = [(0.0, 0.3, "mật"), (0.35, 0.6, "ong"), (2.0, 2.3, "bạc"), (2.35, 2.6, "hà")]
    cues = build_cues([seg(0, words)])
    assert [c.lines for c in cues] == [("mật ong",), ("bạc hà",)]


def test_min_duration_lingers_without_overlapping() -> None:
    words = [(0.0, 0.2, "Dạ."), (0.5, 0.7, "Vâng."), (3.0, 3.2, "Chốt.")]
    cues = build_cues([seg(0, words)])
    assert [(c.start, c.end) for c in cues] == [(0.0, 0.5), (0.5, 1.5), (3.0, 4.0)]


def test_max_duration_splits_slow_speech() -> None:
    numbers = ["một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín", "mười"]
    words = [(i * 1.0, i * 1.0 + 0.5, w) for i, w in enumerate(numbers)]
    cues = build_cues([seg(0, words)], max_duration=3.0)
    assert all(c.end - c.start <= 3.0 for c in cues)
    assert len(cues) >= 3


def test_a_word_longer_than_a_line_stands_alone() -> None:
    long = "https://shopee.vn/hat-de-ngan-son"
    cues = build_cues([seg(0, [(0, 0.5, "xem"), (0.5, 1.5, long), (1.5, 2.0, "nhé")])])
    lines = [line for c in cues for line in c.lines]
    assert long in lines
    assert all(len(line) <= 24 or line == long for line in lines)


def test_segments_without_words_get_spread_times() -> None:
    cues = build_cues([Segment(0, 10.0, 12.0, "Hàng về rồi cả nhà ơi")])
    assert cues[0].start == 10.0 and cues[-1].end == pytest.approx(12.0)
    assert [w.word for c in cues for w in c.words] == ["Hàng", "về", "rồi", "cả", "nhà", "ơi"]


def test_vtt_escapes_markup_and_ass_escapes_overrides() -> None:
    cues = [Cue(0.0, 1.0, ("<3 giá {rẻ} & ngon",), ())]
    assert "&lt;3 giá {rẻ} &amp; ngon" in to_vtt(cues)
    assert "<3 giá (rẻ) & ngon" in to_ass(cues)


def test_karaoke_durations_cover_the_cue() -> None:
    cues = build_cues(spoken(SELLER))
    for cue, line in zip(cues, to_ass(cues).splitlines()[-len(cues) :], strict=True):
        ks = [int(k) for k in re.findall(r"\\k(\d+)", line)]
        assert len(ks) == len(cue.words)
        assert sum(ks) == round(cue.end * 100) - round(cue.start * 100)
    plain = to_ass(cues, karaoke=False)
    assert r"\k" not in plain and r"Chào cả nhà, hôm nay\Nem bán" in plain


def test_slice_segments_shifts_and_clamps() -> None:
    clip = slice_segments(spoken(SELLER), 2.0, 5.0)
    words = [w for s in clip for w in s.words]
    assert words[0].word.strip() == "hạt" and words[0].start == pytest.approx(0.1)
    assert all(0 <= w.start <= w.end <= 3.0 for w in words)
    assert [s.id for s in clip] == list(range(len(clip)))
    assert slice_segments(spoken(SELLER), 100, 110) == []
    no_words = [Segment(0, 10.0, 14.0, "bốn giây")]
    assert slice_segments(no_words, 11.0, 20.0) == [Segment(0, 0.0, 3.0, "bốn giây")]


def test_write_captions_all_formats(tmp_path: Path) -> None:
    segments = spoken(SELLER)
    for fmt in ("srt", "vtt", "ass", "json"):
        path = write_captions(segments, tmp_path / f"out.{fmt}", fmt, max_chars=30)
        assert path.read_text(encoding="utf-8")
    data = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert segments_from_json(data["segments"]) == segments
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "out.ass",
        "out.json",
        "out.srt",
        "out.vtt",
    ]
    with pytest.raises(ValueError, match="unknown caption format"):
        write_captions(segments, tmp_path / "x.txt", "txt")  # type: ignore[arg-type]
    assert not (tmp_path / "x.txt").exists()


words_st = st.lists(
    st.tuples(
        st.floats(0.05, 2.0),
        st.floats(0.0, 1.5),
        st.text("abcđêôơưạảãáàệ,.", min_size=1, max_size=12).filter(str.strip),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(words_st)
def test_cue_invariants(items: list[tuple[float, float, str]]) -> None:
    t, words = 0.0, []
    for length, gap, text in items:
        words.append((t, t + length, text.strip()))
        t += length + gap
    cues = build_cues([seg(0, words)])
    for cue in cues:
        assert 1 <= len(cue.lines) <= 2
        assert all(len(line) <= 24 or " " not in line for line in cue.lines)
        assert cue.end - cue.start <= 7.0 + 1e-9
    assert all(a.end <= b.start for a, b in itertools.pairwise(cues))
    assert [w.word for c in cues for w in c.words] == [w[2] for w in words]


def test_ass_renders_inside_the_safe_area(tmp_path: Path) -> None:
    # Wide capitals, two full lines: the hardest case for the margins and font size.
    cue = Cue(0.0, 2.0, ("ĐƯỜNG MẬT ONG BẠC HÀ NHÉ", "HẠT DẺ NGÂN SƠN GIÁ RẺ!"), ())
    ass = tmp_path / "safe.ass"
    ass.write_text(to_ass([cue], karaoke=False), encoding="utf-8")
    frame = tmp_path / "frame.png"
    vf = f"ass={ass}:fontsdir={FONTS_DIR}"
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "color=c=black:s=1080x1920:d=1",
        "-vf",
        vf,
        "-frames:v",
        "1",
        str(frame),
    )
    pixels = np.asarray(Image.open(frame).convert("L"))
    ys, xs = np.nonzero(pixels > 40)
    assert len(xs) > 1000, "no text was drawn"
    assert xs.min() >= 60 and xs.max() < 1020, (xs.min(), xs.max())
    assert ys.min() >= 267 and ys.max() < 1653, (ys.min(), ys.max())


# Tokens exactly as faster-whisper gives them: a leading space starts a word,
# anything else continues the word before it.
PRICE_TOKENS = [
    [" Hạt", " dẻ", " Ngân", " Sơn", " giá", " 100", ".000", " đ", " một", " cân", ","],
    [" chốt", " đơn", " nhé", "."],
    [" The", " honey", " is", " $60", ",000", ",", " order", " now", "!"],
]


def tokens_said(groups: list[list[str]], step: float = 0.25) -> list[Segment]:
    segments, t = [], 0.0
    for index, tokens in enumerate(groups):
        words = []
        for token in tokens:
            # Punctuation tokens are short, as in faster-whisper's output.
            length = 0.05 if not token[:1].isspace() and not token[1:2].isalnum() else step
            words.append(Word(round(t, 3), round(t + length - 0.02, 3), token, 0.9))
            t += length
        text = "".join(w.word for w in words).strip()
        segments.append(Segment(index, words[0].start, words[-1].end, text, tuple(words)))
        t += 1.0
    return segments


def test_prices_golden_files() -> None:
    cues = build_cues(tokens_said(PRICE_TOKENS))
    golden("prices.srt", to_srt(cues))
    golden("prices.vtt", to_vtt(cues))
    golden("prices.ass", to_ass(cues))


def test_numbers_and_punctuation_stay_on_their_word() -> None:
    cues = build_cues(tokens_said(PRICE_TOKENS))
    lines = [line for c in cues for line in c.lines]
    text = " ".join(lines)
    assert "100.000 đ" in text and "$60,000," in text and "cân," in text
    assert not any(re.search(r"(^|\s)[.,!?]", line) for line in lines), lines
    assert [w.word for c in cues for w in c.words][:8] == [
        "Hạt", "dẻ", "Ngân", "Sơn", "giá", "100.000", "đ", "một",
    ]  # fmt: skip


def test_a_joined_word_keeps_one_karaoke_step() -> None:
    cues = build_cues(tokens_said(PRICE_TOKENS))
    for cue, line in zip(cues, to_ass(cues).splitlines()[-len(cues) :], strict=True):
        assert len(re.findall(r"\\k\d+", line)) == len(cue.words)
    assert r"{\k" in to_ass(cues) and "$60,000," in to_ass(cues)


def test_bare_hand_written_words_are_not_glued() -> None:
    words = (Word(0.0, 0.4, "giá", 1.0), Word(0.4, 0.8, "rẻ", 1.0), Word(0.8, 1.2, "lắm", 1.0))
    cues = build_cues([Segment(0, 0.0, 1.2, "giá rẻ lắm", words)])
    assert cues[0].lines == ("giá rẻ lắm",)


def test_a_slice_keeps_a_number_whole() -> None:
    segment = tokens_said([[" giá", " 150", ",000", " nhé"]], step=1.0)[0]
    [inside] = slice_segments([segment], 0.9, 5.0)
    assert [w.word for w in inside.words] == [" 150", ",000", " nhé"]
    assert inside.text == "150,000 nhé"
    # The edge falls inside ",000" (2.0-2.98 s), past the middle of the whole
    # "150,000": both tokens go, rather than leaving ",000" without its "150".
    assert slice_segments([segment], 2.2, 5.0)[0].text == "nhé"
