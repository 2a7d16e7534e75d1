"""``server.parse.evaluate`` and ``chotdon parse --eval``: figures for any labelled file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from server.cli import main
from server.parse import Parser
from server.parse.evaluate import LabelError, hydrate, read_labelled, score, text_sha256


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def _row(rid: str, text: str, intent: str, items=(), phone=None, pinned="A1") -> dict:
    expect = {"intent": intent, "items": [{"code": c, "qty": q} for c, q in items], "phone": phone}
    return {"id": rid, "text": text, "pinned": pinned, "expect": expect}


ROWS = [
    _row("1", "chốt 3", "order", [("A1", 3)]),
    _row("2", "A1 2kg 0912 345 678", "order", [("A1", 2)], "0912345678"),
    _row("3", "chè bao nhiêu tiền", "question"),
    _row("4", "chốt 2", "order", [("A1", 3)]),  # wrong label on purpose: a miss
    _row("5", "hủy đơn", "cancel"),
]


def test_score_counts_items_intents_and_phones(parser: Parser) -> None:
    figures = score(parser, ROWS)
    assert figures.comments == 5
    assert (figures.items_ordered, figures.items_labelled) == (3, 3)
    assert figures.precision == pytest.approx(2 / 3) and figures.recall == pytest.approx(2 / 3)
    assert figures.intent == 1.0 and figures.phone == 1.0
    assert figures.called_orders == 3 and figures.wrong_auto_accepted == 1
    assert figures.confusion["question"]["question"] == 1


def test_a_non_order_accepted_as_one_is_counted(parser: Parser) -> None:
    figures = score(parser, [_row("x", "A1 x2", "other")])
    assert figures.non_orders_auto_accepted == 1 and figures.precision == 0.0


def test_read_labelled_names_the_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": 1, "text": "a", "expect": {"intent": "order"}}\n{"id": 2}\n')
    with pytest.raises(LabelError, match="line 2: 'expect'"):
        read_labelled(path)
    path.write_text('{"id": 1, "text": "a", "expect": {"intent": "buy"}}\n')
    with pytest.raises(LabelError, match=r"line 1: 'expect\.intent'"):
        read_labelled(path)


def test_hydrate_fills_text_from_a_source_and_checks_the_hash(tmp_path: Path) -> None:
    source = tmp_path / "source.jsonl"
    source.write_text('{"text": "Pin trâu, 5 sao"}\nplain line\n', "utf-8")
    ref = {"line": 1, "sha256": text_sha256("Pin trâu, 5 sao")}
    rows = [{"id": "r", "ref": ref, "expect": {"intent": "other", "items": []}}]
    assert hydrate(rows, source)[0]["text"] == "Pin trâu, 5 sao"
    wrong = [{**rows[0], "ref": {"line": 2, "sha256": ref["sha256"]}}]
    with pytest.raises(LabelError, match="line 2 of"):
        hydrate(wrong, source)
    with pytest.raises(LabelError, match="ref line 9"):
        hydrate([{**rows[0], "ref": {"line": 9, "sha256": "x"}}], source)


def test_cli_eval_prints_the_figures(tmp_path: Path, demo_catalog_path: Path) -> None:
    path = _write(tmp_path / "set.jsonl", ROWS)
    result = CliRunner().invoke(
        main, ["parse", "--catalog", str(demo_catalog_path), "--eval", str(path)]
    )
    assert result.exit_code == 0, result.output
    assert "order-item precision     0.667" in result.output
    assert "intent accuracy          1.000" in result.output
    assert "wrong orders accepted    1" in result.output
    as_json = CliRunner().invoke(
        main, ["parse", "--catalog", str(demo_catalog_path), "--eval", str(path), "--json"]
    )
    assert json.loads(as_json.output)["recall"] == pytest.approx(2 / 3)


def test_cli_eval_on_refs_needs_the_source(tmp_path: Path, demo_catalog_path: Path) -> None:
    rows = [{"id": "r", "ref": {"line": 1, "sha256": text_sha256("chốt 2")}, "pinned": "A1",
             "expect": {"intent": "order", "items": [{"code": "A1", "qty": 2}]}}]  # fmt: skip
    path = _write(tmp_path / "refs.jsonl", rows)
    args = ["parse", "--catalog", str(demo_catalog_path), "--eval", str(path)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1 and "pass --source" in result.output
    source = tmp_path / "src.txt"
    source.write_text("chốt 2\n", "utf-8")
    result = CliRunner().invoke(main, [*args, "--source", str(source)])
    assert result.exit_code == 0 and "order-item recall        1.000" in result.output


def test_cli_parse_without_catalog_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["parse"], input="")
    assert result.exit_code == 2 and "--catalog" in result.output


def test_the_stored_real_sets_are_labels_only() -> None:
    """Their source has no licence to redistribute: no text may slip into the repo."""
    for name, size in (("real_reviews.jsonl", 106), ("real_reviews_holdout.jsonl", 116)):
        rows = read_labelled(Path(__file__).resolve().parents[1] / "data" / name)
        assert len(rows) == size
        assert all("text" not in r and len(r["ref"]["sha256"]) == 64 for r in rows)
        assert all(r["source"] == "UIT-ViSD4SA data/dev.jsonl" for r in rows)
