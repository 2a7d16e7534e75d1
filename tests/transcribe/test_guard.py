from __future__ import annotations

import itertools
import logging

import pytest

from transcribe.guard import (
    GuardOptions,
    Scored,
    compression_ratio,
    drop_reason,
    filter_segments,
    interpolate_words,
    longest_repeat,
)
from transcribe.types import Segment, Word

OPTS = GuardOptions()


def segment(text: str, start: float = 0.0, end: float = 3.0) -> Segment:
    parts = text.split()
    step = (end - start) / max(len(parts), 1)
    words = tuple(
        Word(start + i * step, start + (i + 1) * step, " " + w, 0.9) for i, w in enumerate(parts)
    )
    return Segment(0, start, end, text, words)


def test_real_selling_talk_is_kept() -> None:
    text = "Mua đi mua đi cả nhà, hạt dẻ Ngân Sơn một trăm hai mươi nghìn một cân."
    assert drop_reason(Scored(segment(text), -0.4, 0.1), OPTS) is None


@pytest.mark.parametrize(
    "text",
    [
        "cả nhà ơi " * 6,
        "chốt đơn chốt đơn chốt đơn chốt đơn chốt đơn",
        "một trăm nghìn " * 8,
    ],
)
def test_repetition_loops_are_dropped(text: str) -> None:
    assert drop_reason(Scored(segment(text), -0.2, 0.0), OPTS) == "repetition loop"


def test_loop_detection_helpers() -> None:
    assert longest_repeat(["a", "b", "a", "b", "a", "b", "c"]) == 3
    assert longest_repeat(["a", "b", "c", "d"]) == 1
    assert longest_repeat([]) == 0
    assert compression_ratio("hạt dẻ " * 20) > 2.4 > compression_ratio("Chào cả nhà, hôm nay")


def test_hallucination_over_silence_is_dropped() -> None:
    seg = segment("Cảm ơn các bạn đã xem video")
    assert drop_reason(Scored(seg, -1.3, 0.8), OPTS) == "unsure text over silence"
    assert drop_reason(Scored(seg, -1.3, 0.2), OPTS) is None  # unsure but speech: keep
    assert drop_reason(Scored(seg, -0.3, 0.9), OPTS) is None  # sure of itself: keep


def test_known_hallucination_and_wordless_segments_are_dropped() -> None:
    spam = segment("Hãy subscribe cho kênh Ghiền Mì Gõ để không bỏ lỡ")
    assert drop_reason(Scored(spam), OPTS) == "known hallucination"
    assert drop_reason(Scored(Segment(0, 0, 1, "xin chào")), OPTS) == "no words"
    assert drop_reason(Scored(Segment(0, 0, 1, "  ")), OPTS) == "empty text"


def test_filter_segments_logs_drops_and_can_be_disabled(caplog: pytest.LogCaptureFixture) -> None:
    items = [Scored(segment("chốt đơn " * 6)), Scored(segment("hạt dẻ ngon", 3, 5))]
    with caplog.at_level(logging.INFO, logger="transcribe.guard"):
        kept = list(filter_segments(items, OPTS))
    assert [s.text for s in kept] == ["hạt dẻ ngon"]
    assert "repetition loop" in caplog.text
    assert len(list(filter_segments(items, GuardOptions(enabled=False)))) == 2


def w(start: float, end: float, text: str) -> Word:
    return Word(start, end, text, 0.5)


def test_zero_length_price_gets_time_between_neighbours() -> None:
    words = [w(0.0, 0.4, " giá"), w(1.0, 1.0, " 120.000"), w(1.6, 2.0, " đồng")]
    fixed = interpolate_words(words, 0.0, 2.0)
    assert fixed[1].start == pytest.approx(0.4) and fixed[1].end == pytest.approx(1.6)
    assert fixed[0] == words[0] and fixed[2] == words[2]


def test_a_run_of_bad_words_shares_the_gap_by_length() -> None:
    words = [w(0.0, 0.5, "a"), w(0.0, 0.0, "bb"), w(9.0, 1.0, "cccc"), w(2.0, 2.5, "d")]
    fixed = interpolate_words(words, 0.0, 2.5)
    assert fixed[1].start == pytest.approx(0.5)
    assert fixed[1].end - fixed[1].start < fixed[2].end - fixed[2].start
    assert fixed[2].end == pytest.approx(2.0)


def test_no_room_borrows_the_neighbours_span() -> None:
    words = [w(0.0, 1.0, "a"), w(1.0, 1.0, "b"), w(1.0, 2.0, "c")]
    fixed = interpolate_words(words, 0.0, 2.0)
    assert all(x.end > x.start for x in fixed)
    assert fixed[0].start == 0.0 and fixed[-1].end == pytest.approx(2.0)


def test_bad_words_at_the_edges_use_the_segment_bounds() -> None:
    fixed = interpolate_words([w(0, 0, "x"), w(1.0, 1.5, "y"), w(3, 2, "z")], 0.5, 2.0)
    assert fixed[0].start == 0.5 and fixed[0].end == pytest.approx(1.0)
    assert fixed[-1].start == pytest.approx(1.5) and fixed[-1].end == pytest.approx(2.0)


def test_interpolated_words_are_ordered_and_inside_the_segment() -> None:
    words = [w(0.3, 0.2, "a"), w(5.0, 6.0, "b"), w(0.1, 0.4, "c"), w(float("nan"), 1, "d")]
    fixed = interpolate_words(words, 0.0, 4.0)
    assert all(0.0 <= x.start <= x.end <= 4.0 for x in fixed)
    assert all(a.end <= b.start for a, b in itertools.pairwise(fixed))
