"""The helpers' answers in the review queue, kept as labelled examples.

Every confirm, edit and reject of a comment is one row of ``review_decisions``:
the comment's text, the product on screen when it was parsed, the parse as stored,
and what the helper said it was. Written in the same transaction as the action,
so a decision exists exactly when its action happened.

:func:`export_labelled` turns the rows into the JSONL format of
``chotdon parse --eval`` (docs/parser.md), so a shop can measure the parser on its
own buyers' words. :func:`alias_suggestions` reads the edits for words the parser
did not understand but a helper resolved to a product ("cho e 2 túi hạt rẻ" edited
to A1): those are offered to the catalog as aliases, never added by themselves.
:func:`rank_review_queue` scores the review queue with a model of the shop's own
decisions (``server.parse.ranker``), most likely real orders first.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Connection, func, insert, select

from chotdon.codes import normalize_code
from server.db import review_decisions, store_schema, utcnow_iso
from server.parse.ranker import Example, Ranker, example_from_parse

__all__ = [
    "Action",
    "AliasSuggestion",
    "alias_suggestions",
    "export_labelled",
    "queue_ranker",
    "rank_review_queue",
    "record_decision",
]

logger = logging.getLogger(__name__)

Action = Literal["confirm", "edit", "reject"]
_PINNED_NOTE = re.compile(r"^(\S+) on screen$")
_WORD = re.compile(r"\w+")
_MAX_ALIAS_WORDS = 3
_TRIVIAL = frozenset("0123456789")
# Said around a product's name, never part of it: "lấy miến dong nhé shop".
_PARTICLES = frozenset(
    [
        "nhé",
        "nhe",
        "nha",
        "nhá",
        "ạ",
        "ak",
        "ơi",
        "oi",
        "luôn",
        "với",
        "vs",
        "shop",
        "sh",
        "ad",
        "đi",
        "thôi",
        "nữa",
        "e",
        "em",
        "a",
        "anh",
        "c",
        "chị",
        "mình",
        "mk",
        "mik",
        "tui",
        "tôi",
        "cho",
        "ck",
        "cko",
        "lấy",
        "lay",
        "chốt",
        "chot",
        "mua",
        "nào",
    ]
)


def _parse_of(row: Any) -> dict[str, Any]:
    try:
        data = json.loads(row.parse) if row.parse else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _pinned_of(parse: Mapping[str, Any]) -> str | None:
    """The code on screen, when the parser used it (its ``pinned`` evidence says so)."""
    for evidence in parse.get("evidence") or ():
        if isinstance(evidence, Mapping) and evidence.get("kind") == "pinned":
            match = _PINNED_NOTE.match(str(evidence.get("note", "")))
            if match:
                return match.group(1)
    return None


def _item_key(items: Iterable[Mapping[str, Any]]) -> list[tuple[str, float | None]]:
    return sorted(
        (str(i.get("code", "")).upper(), None if i.get("qty") is None else float(i["qty"]))
        for i in items
    )


def record_decision(
    conn: Connection,
    comment: Any,
    *,
    rejected: bool = False,
    intent: str | None = None,
    items: Sequence[tuple[str, float | None]] | None = None,
    session_id: int | None = None,
) -> Action:
    """Store one helper's answer to ``comment`` (a ``comments`` row) in the caller's
    transaction; returns whether it confirmed, edited or rejected the parse."""
    parse = _parse_of(comment)
    parsed_items = [i for i in parse.get("items") or () if isinstance(i, Mapping)]
    answer_intent = "other" if rejected else (intent or comment.intent or "other")
    answer_items = (
        []
        if rejected
        else (
            [{"code": normalize_code(c), "qty": q} for c, q in items]
            if items is not None
            else [{"code": i.get("code"), "qty": i.get("qty")} for i in parsed_items]
        )
    )
    action: Action
    if rejected:
        action = "reject"
    elif answer_intent != comment.intent or _item_key(answer_items) != _item_key(parsed_items):
        action = "edit"
    else:
        action = "confirm"
    conn.execute(
        insert(review_decisions).values(
            comment_id=comment.id,
            session_id=session_id,
            action=action,
            text=comment.text or "",
            pinned=_pinned_of(parse),
            parse=json.dumps(parse, ensure_ascii=False, separators=(",", ":")),
            intent=answer_intent,
            items=json.dumps(answer_items, ensure_ascii=False),
            decided_at=utcnow_iso(),
        )
    )
    logger.debug("review decision on comment %s: %s", comment.id, action)
    return action


def _qty_json(qty: Any) -> int | float | None:
    if qty is None:
        return None
    value = float(qty)
    return int(value) if value.is_integer() else value


def export_labelled(conn: Connection, session_id: int | None = None) -> list[dict[str, Any]]:
    """Every decision (the latest per comment) as a ``chotdon parse --eval`` line.

    A reject says only "not what the parser read"; it is labelled ``other`` with no
    items, which is right for precision and says nothing about questions."""
    query = select(review_decisions).order_by(review_decisions.c.id)
    if session_id is not None:
        query = query.where(review_decisions.c.session_id == session_id)
    latest: dict[int, Any] = {}
    for row in conn.execute(query):
        latest[row.comment_id] = row
    lines = []
    for row in latest.values():
        parse = json.loads(row.parse or "{}")
        items = json.loads(row.items or "[]")
        lines.append(
            {
                "id": f"D{row.id}",
                "text": row.text,
                "pinned": row.pinned,
                "source": f"review decision ({row.action}) on comment {row.comment_id}",
                "expect": {
                    "intent": row.intent,
                    "items": [
                        {"code": i["code"], "qty": _qty_json(i.get("qty"))}
                        for i in items
                        if row.intent == "order"
                    ],
                    "phone": parse.get("phone"),
                },
            }
        )
    return lines


@dataclass(frozen=True, slots=True)
class AliasSuggestion:
    """Words helpers resolved to ``code`` that the catalog does not list yet."""

    code: str
    alias: str
    count: int  # how many edits taught it
    example: str

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "alias": self.alias,
            "count": self.count,
            "example": self.example,
        }


def _unread_runs(text: str, parse: Mapping[str, Any]) -> list[str]:
    """Runs of words no evidence span covers, less the particles around them."""
    covered = [
        (int(e.get("start", 0)), int(e.get("end", 0)))
        for e in parse.get("evidence") or ()
        if isinstance(e, Mapping) and e.get("end", 0) > e.get("start", 0)
    ]
    runs: list[list[str]] = [[]]
    for match in _WORD.finditer(text):
        word = match.group()
        if any(s <= match.start() < e for s, e in covered) or set(word) <= _TRIVIAL:
            if runs[-1]:
                runs.append([])
            continue
        runs[-1].append(word.lower())
    trimmed = []
    for run in runs:
        while run and run[-1] in _PARTICLES:
            run.pop()
        while run and run[0] in _PARTICLES:
            run.pop(0)
        if run and len(run) <= _MAX_ALIAS_WORDS:
            trimmed.append(" ".join(run))
    return trimmed


def alias_suggestions(
    conn: Connection, known_aliases: Mapping[str, Iterable[str]]
) -> list[AliasSuggestion]:
    """Aliases to offer the catalog, most taught first.

    An edit teaches an alias when the helper's items add a product the parser did not
    find and the comment has exactly one run of words the parser could not read: that
    run most likely named the product. ``known_aliases`` maps each code to its name
    and aliases, which are never suggested again."""
    known = {
        code.upper(): {a.strip().lower() for a in aliases}
        for code, aliases in known_aliases.items()
    }
    counts: Counter[tuple[str, str]] = Counter()
    examples: dict[tuple[str, str], str] = {}
    rows = conn.execute(select(review_decisions).where(review_decisions.c.action == "edit"))
    for row in rows:
        parse = json.loads(row.parse or "{}")
        found = {str(i.get("code", "")).upper() for i in parse.get("items") or ()}
        added = {str(i["code"]).upper() for i in json.loads(row.items or "[]")} - found
        runs = _unread_runs(row.text, parse)
        if row.intent != "order" or len(added) != 1 or len(runs) != 1:
            continue
        code, alias = added.pop(), runs[0]
        if code not in known or alias in known[code]:
            continue
        counts[(code, alias)] += 1
        examples.setdefault((code, alias), row.text)
    return [
        AliasSuggestion(code, alias, n, examples[(code, alias)])
        for (code, alias), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    ]


# The newest decisions a model learns from: a long-lived shop's taste drifts, and
# training time grows with the count.
_TRAIN_ON = 5000
# Per database: (decisions the model was trained on, the model or None).
_models: dict[str, tuple[int, Ranker | None]] = {}


def _retrain_due(count: int, trained_on: int | None) -> bool:
    # Retraining on every answer would cost a fit per click; a few new ones can wait.
    return trained_on is None or count >= trained_on + max(5, trained_on // 20)


def queue_ranker(conn: Connection) -> Ranker | None:
    """The shop's review-queue model, retrained as its decisions grow; ``None``
    until there are enough of both kinds (real orders and not) to learn from."""
    # One model per store: the URL, and on PostgreSQL the shop's schema (server.shops).
    key = f"{conn.engine.url}#{store_schema(conn) or ''}"
    count = conn.execute(select(func.count()).select_from(review_decisions)).scalar_one()
    cached = _models.get(key)
    if not _retrain_due(count, cached[0] if cached else None):
        return cached[1] if cached else None
    rows = conn.execute(
        select(review_decisions.c.comment_id, review_decisions.c.text,
               review_decisions.c.parse, review_decisions.c.intent)
        .order_by(review_decisions.c.id.desc())
        .limit(_TRAIN_ON)
    ).all()  # fmt: skip
    latest: dict[int, Any] = {}
    for row in rows:  # newest first: the first answer seen per comment is its last
        latest.setdefault(row.comment_id, row)
    examples = [example_from_parse(r.text, _parse_of(r)) for r in latest.values()]
    labels = [r.intent == "order" for r in latest.values()]
    start = cached[1] if cached else None
    model = Ranker.train(examples, labels, start=start, iterations=60 if start else 300)
    _models[key] = (count, model)
    return model


def _queued_example(row: Mapping[str, Any]) -> Example:
    parse = {k: row.get(k) for k in ("intent", "confidence", "items", "phone")}
    return example_from_parse(str(row.get("text") or ""), parse)


def rank_review_queue(conn: Connection, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` (review-queue listing rows) with a ``score``, the chance each is a real
    order by the shop's model, most likely first; without a model every score is
    ``None`` and the order is kept."""
    model = queue_ranker(conn)
    if model is None:
        return [{**row, "score": None} for row in rows]
    scores = model.score([_queued_example(row) for row in rows])
    scored = [{**row, "score": round(float(s), 3)} for row, s in zip(rows, scores, strict=True)]
    return sorted(scored, key=lambda row: -row["score"])  # stable: newest first on ties
