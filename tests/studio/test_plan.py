"""studio.plan: choosing clips from product windows or from speech alone."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from assets import DEMO_DIR
from studio.catalog import read_catalog
from studio.errors import StudioError
from studio.events import ProductWindow
from studio.plan import (
    ClipPlan,
    candidate_regions,
    plan_from_transcript,
    plan_from_windows,
    read_plan,
    selling_phrases,
    slug,
    write_plan,
)
from transcribe.types import Segment

PRODUCTS = read_catalog(DEMO_DIR / "catalog.csv")


def _speech(start: float, end: float, texts: list[str], every: float = 6.0) -> list[Segment]:
    """Sentences of ~5 s every ``every`` seconds from start to end, cycling ``texts``."""
    segments, t, i = [], start, 0
    while t + 5 <= end:
        segments.append(Segment(i, t, t + 5.0, texts[i % len(texts)]))
        t, i = t + every, i + 1
    return segments


def test_slug_is_ascii_and_drops_tone_marks() -> None:
    assert slug("Hạt dẻ Ngân Sơn") == "hat-de-ngan-son"
    assert slug("Đường phèn Đồng Hỷ!") == "duong-phen-dong-hy"


def test_one_clip_per_window_inside_it_on_sentence_edges() -> None:
    segments = _speech(0, 200, ["Chào cả nhà.", "Hạt dẻ Ngân Sơn giá chỉ 150 nghìn, chốt đơn nhé!"])
    windows = [
        ProductWindow("A1", 10, 70, orders=(30.0, 35.0)),
        ProductWindow("A2", 70, 130),
        ProductWindow("A3", 130, 190, comments=(140.0,)),
    ]
    plans = plan_from_windows(windows, PRODUCTS, segments, min_len=15, max_len=40)
    assert [p.code for p in plans] == ["A1", "A2", "A3"]
    starts = {s.start for s in segments}
    ends = {s.end for s in segments}
    for plan, window in zip(plans, windows, strict=True):
        assert window.start <= plan.start < plan.end <= window.end
        assert 15 <= plan.duration <= 40
        assert plan.start in starts and plan.end in ends
    assert plans[0].file == "01-a1-hat-de-ngan-son.mp4"
    assert plans[0].title == "Hạt dẻ Ngân Sơn – 150.000 ₫/kg"
    assert plans[0].score > plans[1].score  # orders came in for A1


def test_orders_pull_the_clip_towards_them() -> None:
    segments = _speech(0, 300, ["Sản phẩm hôm nay."])
    window = ProductWindow("A2", 0, 300, orders=(200.0, 205.0, 210.0))
    (plan,) = plan_from_windows([window], PRODUCTS, segments, min_len=15, max_len=30)
    assert plan.end + 30 >= 170 and plan.start <= 210


def test_candidate_regions_sit_where_the_orders_are_inside_each_window() -> None:
    windows = [
        ProductWindow("A1", 0, 600, orders=(400.0, 405.0, 410.0), comments=(100.0, 101.0)),
        ProductWindow("A2", 600, 610),  # too short for a clip: nothing to transcribe
        ProductWindow("A3", 610, 1200),  # no orders, no comments: its start
    ]
    regions = candidate_regions(windows, min_len=15, max_len=60, margin=20)
    assert regions == [(350.0, 450.0), (610.0, 690.0)]
    assert sum(b - a for a, b in regions) < 0.2 * 1200


def test_the_plan_stays_inside_the_transcribed_regions() -> None:
    window = ProductWindow("A2", 0, 600, orders=(400.0, 405.0))
    regions = candidate_regions([window], min_len=15, max_len=30, margin=20)
    (lo, hi) = regions[0]
    segments = _speech(lo, hi, ["Miến dong Na Rì, chốt đơn nhé."])  # only the region was heard
    (plan,) = plan_from_windows(
        [window], PRODUCTS, segments, min_len=15, max_len=30, regions=regions
    )
    assert lo <= plan.start < plan.end <= hi
    assert plan.start in {s.start for s in segments} and plan.end in {s.end for s in segments}
    # A window that no region touches gives no clip rather than a clip of silence.
    assert plan_from_windows([window], PRODUCTS, segments, min_len=15, max_len=30, regions=[]) == []


def test_max_keeps_the_best_scored_numbered_in_time_order() -> None:
    windows = [
        ProductWindow("A1", 0, 60),
        ProductWindow("A2", 60, 120, orders=(70.0, 80.0, 90.0)),
        ProductWindow("A3", 120, 180, orders=(130.0,)),
    ]
    plans = plan_from_windows(windows, PRODUCTS, [], min_len=15, max_len=30, max_clips=2)
    assert [p.code for p in plans] == ["A2", "A3"]
    assert [p.file[:3] for p in plans] == ["01-", "02-"]


def test_windows_shorter_than_min_len_are_skipped() -> None:
    windows = [ProductWindow("A1", 0, 10), ProductWindow("A2", 10, 40)]
    plans = plan_from_windows(windows, PRODUCTS, [], min_len=15, max_len=60)
    assert [(p.code, p.start, p.end) for p in plans] == [("A2", 10, 40)]


def test_transcript_only_plan_finds_product_talk() -> None:
    chatter = _speech(0, 60, ["Trời hôm nay đẹp quá."])
    pitch = [
        Segment(100, 70.0, 76.0, "Mật ong bạc hà Mèo Vạc đây cả nhà."),
        Segment(101, 77.0, 83.0, "Giá chỉ 320 nghìn một chai."),
        Segment(102, 84.0, 90.0, "Chốt đơn nhanh, tặng kèm freeship."),
    ]
    loudness = np.full(200, -20.0, dtype=np.float32)
    plans = plan_from_transcript(chatter + pitch, PRODUCTS, loudness, 100.0, min_len=15, max_len=30)
    assert plans and plans[0].code == "B2"
    assert plans[0].start <= 70.0 and plans[0].end >= 83.0
    assert "Mật ong bạc hà" in plans[0].title


PITCHES = {
    "vi": ["Giá chỉ 150 nghìn thôi.", "Chốt đơn nhanh, tặng kèm freeship."],
    "id": ["Harga cuma 50 ribu saja.", "Gratis ongkir, langsung checkout ya."],
    "en": ["The price is only fifty dollars.", "Free shipping, buy two and save more."],
}


@pytest.mark.parametrize("language", ["vi", "id", "en"])
def test_transcript_only_plan_hears_the_selling_phrases_of_its_language(language: str) -> None:
    loudness = np.full(200, -20.0, dtype=np.float32)
    for spoken, pitch in PITCHES.items():
        segments = _speech(0, 60, ["Hmm."]) + _speech(70, 100, pitch)
        plans = plan_from_transcript(
            segments, {}, loudness, 100.0, min_len=15, max_len=30, language=language
        )
        if spoken == language:
            assert max(plans, key=lambda p: p.score).start >= 70.0, plans
        else:
            assert plans == [], (spoken, plans)  # another language's pitch is chatter


def test_window_plan_prefers_the_stretch_with_selling_phrases_in_its_language() -> None:
    window = ProductWindow("ZZ", 0, 120)  # no catalog entry: only the phrases count
    chatter, pitch = ["Okay then, let us see."], PITCHES["id"]
    segments = _speech(0, 60, chatter) + _speech(60, 120, pitch)
    kwargs = {"min_len": 15.0, "max_len": 30.0}
    (indonesian,) = plan_from_windows([window], {}, segments, **kwargs, language="id")
    (english,) = plan_from_windows([window], {}, segments, **kwargs, language="en")
    assert indonesian.start >= 60.0
    assert indonesian.score > english.score


def test_selling_phrases_refuse_an_unknown_language() -> None:
    assert "harga" in selling_phrases("id") and "price" in selling_phrases("en")
    with pytest.raises(StudioError, match="'fr'"):
        selling_phrases("fr")


def test_plan_round_trips_and_edits_are_validated(tmp_path: Path) -> None:
    path = tmp_path / "clips.json"
    plans = [ClipPlan("01-a1.mp4", "A1", 1.5, 20.0, 0.5, "Hạt dẻ")]
    write_plan(path, plans, {"recording": "live.mp4"})
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["recording"] == "live.mp4"
    assert set(data["clips"][0]) == {"file", "code", "start", "end", "score", "title"}
    assert read_plan(path) == plans

    data["clips"][0]["end"] = 1.0
    path.write_text(json.dumps(data))
    with pytest.raises(StudioError, match=r"clip 1: needs 0 <= start < end"):
        read_plan(path)
    data["clips"][0].update(end=500.0)
    path.write_text(json.dumps(data))
    with pytest.raises(StudioError, match="after the recording"):
        read_plan(path, duration=100)
    data["clips"][0].update(end=20.0, file="../escape.mp4")
    path.write_text(json.dumps(data))
    with pytest.raises(StudioError, match="plain name"):
        read_plan(path)
    path.write_text("{broken")
    with pytest.raises(StudioError, match="not valid JSON"):
        read_plan(path)
