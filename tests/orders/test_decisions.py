"""Review decisions are stored as labelled examples; edits teach aliases to the catalog."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import select

from assets import DEMO_DIR
from server.app import create_app
from server.cli import main
from server.db import open_database, review_decisions
from server.orders.decisions import export_labelled

from .conftest import Api, comment, make_settings


def _strict(tmp_path: Path):
    return make_settings(tmp_path / "data", order_confidence=1.0)


def _decide_three(api: Api) -> tuple[int, int, int]:
    api.pin("A1")
    first, second, third = api.ingest(
        comment("1", "chốt 3"),
        comment("2", "cho e 2 túi dong riềng", user="hoa"),
        comment("3", "chốt 1", user="minh"),
    )
    api.post(f"/api/comments/{first['comment_id']}/confirm", {})
    edited = {"intent": "order", "items": [{"code": "A2", "qty": 2}]}
    api.post(f"/api/comments/{second['comment_id']}/confirm", edited)
    api.post(f"/api/comments/{third['comment_id']}/reject")
    return first["comment_id"], second["comment_id"], third["comment_id"]


def test_confirm_edit_and_reject_are_stored_and_exported(tmp_path: Path, database_url: str) -> None:
    with TestClient(create_app(_strict(tmp_path))) as client:
        ids = _decide_three(Api(client))
    engine = open_database(tmp_path / "data" / "chotdon.db", database_url)
    with engine.connect() as conn:
        rows = conn.execute(select(review_decisions).order_by(review_decisions.c.id)).all()
        lines = export_labelled(conn)
    engine.dispose()
    assert [(r.comment_id, r.action) for r in rows] == list(
        zip(ids, ["confirm", "edit", "reject"], strict=True)
    )
    assert rows[0].pinned == "A1" and json.loads(rows[0].parse)["items"] == [
        {"code": "A1", "qty": 3}
    ]
    by_text = {line["text"]: line["expect"] for line in lines}
    assert by_text["chốt 3"] == {
        "intent": "order",
        "items": [{"code": "A1", "qty": 3}],
        "phone": None,
    }
    assert by_text["cho e 2 túi dong riềng"]["items"] == [{"code": "A2", "qty": 2}]
    assert by_text["chốt 1"] == {"intent": "other", "items": [], "phone": None}


def test_a_failed_confirm_stores_no_decision(tmp_path: Path, database_url: str) -> None:
    with TestClient(create_app(_strict(tmp_path))) as client:
        api = Api(client)
        [ack] = api.ingest(comment("1", "hmm"))
        api.post(
            f"/api/comments/{ack['comment_id']}/confirm", {"intent": "order", "items": []}, 422
        )
    engine = open_database(tmp_path / "data" / "chotdon.db", database_url)
    with engine.connect() as conn:
        assert conn.execute(select(review_decisions)).all() == []
    engine.dispose()


def test_an_edit_offers_the_unread_words_as_an_alias(tmp_path: Path) -> None:
    with TestClient(create_app(_strict(tmp_path))) as client:
        api = Api(client)
        _decide_three(api)
        suggestions = api.get("/api/parser/alias-suggestions")
    assert suggestions == [
        {"code": "A2", "alias": "dong riềng", "count": 1, "example": "cho e 2 túi dong riềng"}
    ]


def test_export_decisions_command(tmp_path: Path, database_url: str) -> None:
    with TestClient(create_app(_strict(tmp_path))) as client:
        _decide_three(Api(client))
    data = str(tmp_path / "data")
    result = CliRunner().invoke(main, ["parse", "--export-decisions", "--data", data])
    assert result.exit_code == 0, result.output
    lines = [json.loads(x) for x in result.stdout.splitlines()]
    assert len(lines) == 3 and "3 decision(s) exported" in result.stderr
    exported = tmp_path / "decisions.jsonl"
    exported.write_text(result.stdout, "utf-8")
    scored = CliRunner().invoke(
        main, ["parse", "--catalog", str(DEMO_DIR / "catalog.csv"), "--eval", str(exported)]
    )
    assert scored.exit_code == 0 and "3 comments" in scored.output
    if database_url:  # PostgreSQL: the database is on the server, not in a folder
        return
    missing = CliRunner().invoke(main, ["parse", "--export-decisions", "--data", str(tmp_path)])
    assert missing.exit_code == 1 and "no database there" in missing.output


def test_the_review_queue_is_ranked_by_the_shops_decisions(tmp_path: Path) -> None:
    orders = [f"chốt {n} nhé" for n in range(1, 11)] + [f"e lấy {n} túi" for n in range(1, 11)]
    jokes = [f"haha {n}" for n in range(1, 11)] + [f"chốt {n} đùa thôi" for n in range(1, 11)]
    with TestClient(create_app(_strict(tmp_path))) as client:
        api = Api(client)
        api.pin("A1")
        [early] = api.ingest(comment("early", "chốt 3 nhé", user="first"))
        # too few decisions: no model, no score, newest first as before
        assert [c["score"] for c in api.get("/api/comments?status=review")] == [None]
        texts = orders + jokes
        acks = api.ingest(*(comment(f"d{i}", t, user=f"u{i}") for i, t in enumerate(texts)))
        for text, ack in zip(texts, acks, strict=True):
            verb = "confirm" if text in orders else "reject"
            api.post(f"/api/comments/{ack['comment_id']}/{verb}", {} if verb == "confirm" else None)
        [joke, order] = api.ingest(
            comment("j", "haha 77", user="x"), comment("o", "e lấy 7 túi", user="y")
        )
        queue = api.get("/api/comments?status=review")
        plain = api.get("/api/comments")  # other listings are not ranked
    assert [c["id"] for c in queue] == [
        order["comment_id"],
        early["comment_id"],
        joke["comment_id"],
    ]
    scores = [c["score"] for c in queue]
    assert scores == sorted(scores, reverse=True) and scores[0] > 0.5 > scores[-1]
    assert "score" not in plain[0] and plain[0]["id"] == order["comment_id"]
