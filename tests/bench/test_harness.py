"""The bench harness: percentiles, the results table, and a tiny B2 run.

No timings are asserted; the figures only have to be real, positive numbers.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from bench import b2_intake
from bench.comments import demo_comments
from bench.common import Figure, Section, format_number, percentile, render_results, render_table


def test_percentile_interpolates_between_ranks() -> None:
    values = [5.0, 1.0, 4.0, 2.0, 3.0]
    assert percentile(values, 0) == 1.0
    assert percentile(values, 50) == 3.0
    assert percentile(values, 100) == 5.0
    assert percentile(values, 25) == 2.0
    assert percentile([1.0, 2.0], 99) == pytest.approx(1.99)
    assert math.isnan(percentile([], 50))
    with pytest.raises(ValueError, match=r"0\.\.100"):
        percentile(values, 101)


def test_figure_ratio_is_project_over_baseline() -> None:
    assert Figure("x", 3.0, "s", 2.0).ratio == 1.5
    assert Figure("x", 3.0, "s").ratio is None
    assert Figure("x", 3.0, "s", 0.0).ratio is None


def test_table_rows_show_value_baseline_ratio_target_and_status() -> None:
    table = render_table(
        [
            Figure("B3 render", 37.5, "s", 34.7, "ffmpeg", "<= 1.15x", True),
            Figure("B2 intake", 1175.0, "comments/s", 94472.0, "raw inserts", ">= 2,000/s", False),
            Figure("B2 parser", 4807.0, "comments/s"),
        ]
    )
    lines = table.splitlines()
    assert lines[0].startswith("| figure | project | baseline | ratio | target | status |")
    assert lines[2] == "| B3 render | 37.5 s | 34.7 s (ffmpeg) | 1.08x | <= 1.15x | met |"
    assert "1,175 comments/s" in lines[3] and "0.01x" in lines[3] and "**missed**" in lines[3]
    assert lines[4] == "| B2 parser | 4,807 comments/s | — | — | — | — |"


def test_results_file_has_the_machine_every_figure_and_the_notes() -> None:
    sections = [
        Section("One", [Figure("a", 1.0, "ms", 2.0, "bare")], ["note one"], 3.0),
        Section("Two", [Figure("b", 0.004, "s")]),
    ]
    text = render_results({"cpu": "Test CPU", "cores": "2"}, sections, "preface")
    assert "- **cpu**: Test CPU" in text and "preface" in text
    assert "| a | 1.00 ms | 2.00 ms (bare) | 0.50x |" in text
    assert "| b | 0.004 s |" in text
    assert "## One (3 s)" in text and "- note one" in text
    assert "## Two" not in text  # no notes, no heading


def test_number_formatting() -> None:
    assert format_number(None) == "—"
    assert format_number(12345.6) == "12,346"
    assert format_number(123.4) == "123"
    assert format_number(12.34) == "12.3"


def test_demo_comments_have_unique_ids_and_fresh_buyers_each_pass() -> None:
    comments = demo_comments(400, "t")
    assert len({c["id"] for c in comments}) == 400
    assert comments[0]["text"] == comments[148]["text"]
    assert comments[0]["user"] != comments[148]["user"]


def test_tiny_b2_run_gives_positive_rates(tmp_path: Path) -> None:
    comments = demo_comments(200, "tiny")
    assert b2_intake.raw_inserts(tmp_path / "raw.db", comments) > 0
    assert b2_intake.intake_in_process(tmp_path / "ingest", comments) > 0
    assert b2_intake.parser_alone(comments) > 0


def test_b1_splits_clients_into_processes_of_at_most_100_with_one_panel_in_ten() -> None:
    from bench.b1_latency import _shares

    assert _shares(1) == [_shares(1)[0]]
    assert (_shares(1)[0].overlays, _shares(1)[0].panels) == (1, 0)
    shares = _shares(200)
    assert len(shares) == 2
    assert sum(s.overlays for s in shares) == 180 and sum(s.panels for s in shares) == 20
    assert [s.commander for s in shares] == [True, False]
    assert all(s.overlays + s.panels <= 100 for s in shares)


def test_b6_runs_base_on_vietnamese_unless_told_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    from bench.b6_longlive import choice

    monkeypatch.delenv("CHOTDON_B6_MODEL", raising=False)
    monkeypatch.delenv("CHOTDON_B6_LANGUAGE", raising=False)
    assert choice() == ("base", "vi")
    monkeypatch.setenv("CHOTDON_B6_MODEL", "tiny.en")
    assert choice() == ("tiny.en", "en")
    monkeypatch.setenv("CHOTDON_B6_LANGUAGE", "vi")
    with pytest.raises(ValueError, match="English-only"):
        choice()
    monkeypatch.setenv("CHOTDON_B6_MODEL", "base")
    monkeypatch.setenv("CHOTDON_B6_LANGUAGE", "id")
    with pytest.raises(ValueError, match="use vi or en"):
        choice()


def test_tiny_b7_run_measures_every_layout_on_one_and_two_workers(
    tmp_path: Path, postgres_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bench import b7_hub

    monkeypatch.setenv("CHOTDON_BENCH_QUICK", "1")
    section = b7_hub.run(tmp_path, postgres_server)
    names = [f.name for f in section.figures]
    for workers in ("1 worker", "2 workers"):
        assert f"B7 2 shops x 2 overlays, {workers}, pin p99" in names
    assert all(f.value > 0 for f in section.figures)
    assert any("comments/s stored" in note for note in section.notes)
