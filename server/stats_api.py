"""Live numbers and the after-live report: ``/api/sessions/{id}/stats`` and ``/report/{id}``.

The numbers come from :func:`chotdon.stats.session_stats` over the session's event
log, so they agree with what ``chotdon clips`` reads; what the log does not hold
(who commented, the review queue, earlier sessions' buyers, helpers' decisions)
comes from the database. The report page is a static shell like the panel: it
reads the helper token from its URL fragment and fetches everything over REST,
charts included, which the server draws (:mod:`server.report`).
"""

from __future__ import annotations

import json
import logging
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Literal, TypeVar

from fastapi import APIRouter
from fastapi.responses import FileResponse, Response
from sqlalchemy import Connection, Engine, distinct, func, select

from chotdon.eventlog import parse_time
from chotdon.stats import SessionStats, StatsCounter
from overlays import STATIC_DIR

from . import report
from .context import AppContext, Helper, HelperLink
from .db import (
    comments,
    customers,
    events,
    live_sessions,
    order_lines,
    review_decisions,
    utcnow_iso,
)
from .errors import NotFound

__all__ = ["router"]

logger = logging.getLogger(__name__)
router = APIRouter()
T = TypeVar("T")

Lang = Literal["vi", "en", "id"]
MAX_LISTED = 200  # questions and decisions listed in the report
CACHED_SESSIONS = 8
# Per database: session id -> (last event id counted, its counter). Fed only in the
# database writer thread (see _read), so a counter is never fed twice at once.
_counters: weakref.WeakKeyDictionary[Engine, OrderedDict[int, tuple[int, StatsCounter]]] = (
    weakref.WeakKeyDictionary()
)


@router.get("/api/sessions/{session_id}/stats")
async def session_numbers(ctx: Helper, session_id: int) -> dict[str, Any]:
    return await _read(ctx, lambda conn: _numbers(ctx, conn, session_id)[0])


@router.get("/api/sessions/{session_id}/report")
async def session_report(ctx: Helper, session_id: int) -> dict[str, Any]:
    return await _read(ctx, lambda conn: _report(ctx, conn, session_id))


@router.get("/api/sessions/{session_id}/report/{chart}.svg")
async def report_chart(
    ctx: Helper, session_id: int, chart: Literal["timeline", "products"], lang: Lang = "vi"
) -> Response:
    data = await _read(ctx, lambda conn: _report(ctx, conn, session_id))
    svg = report.chart_svg(chart, data, report.translator(lang))
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "no-store"})


@router.get("/api/sessions/{session_id}/report.{kind}")
async def report_download(
    ctx: HelperLink, session_id: int, kind: Literal["png", "pdf"], lang: Lang = "vi"
) -> Response:
    data = await _read(ctx, lambda conn: _report(ctx, conn, session_id))
    body = report.report_file(data, report.translator(lang), kind)
    name = f"bao-cao-phien-{session_id}.{kind}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
    return Response(
        body, media_type="image/png" if kind == "png" else "application/pdf", headers=headers
    )


@router.get("/report/{session_id}", include_in_schema=False)
def report_page(session_id: int) -> FileResponse:
    # The shell holds nothing secret: the data behind it needs the helper token.
    return FileResponse(
        STATIC_DIR / "report.html", media_type="text/html", headers={"Cache-Control": "no-cache"}
    )


# -- gathering ------------------------------------------------------------------------


async def _read(ctx: AppContext, work: Callable[[Connection], T]) -> T:
    """Run ``work`` on a read connection in the writer thread, off the event loop.

    The writer thread, not any worker thread: one at a time, so a session's cached
    counter is never fed by two requests at once.
    """

    def job() -> T:
        with ctx.engine.connect() as conn:
            return work(conn)

    return await ctx.live.writer.run(job)


def _session_row(conn: Connection, session_id: int) -> Any:
    row = conn.execute(select(live_sessions).where(live_sessions.c.id == session_id)).first()
    if row is None:
        raise NotFound(f"no live session {session_id}", field="session")
    return row


def _numbers(
    ctx: AppContext, conn: Connection, session_id: int
) -> tuple[dict[str, Any], SessionStats]:
    row = _session_row(conn, session_id)
    # A running session reaches "now", read from the clock the event log is written with.
    until = None if row.stopped_at else parse_time(utcnow_iso())
    stats = _counted(ctx.engine, conn, session_id).result(until)
    body = stats.to_json()
    for product in body["products"]:
        known = ctx.live.products.get(product["code"]) or {}
        product["name"] = known.get("name", product["code"])
        product["unit"] = known.get("unit", "")
    body.update(
        session={
            "id": row.id,
            "title": row.title,
            "started_at": row.started_at,
            "stopped_at": row.stopped_at,
        },
        running=row.stopped_at is None,
        review_queue=_count(
            conn, comments.c.id, comments.c.session_id == session_id, comments.c.status == "review"
        ),
        commenters=_count(conn, comments.c.customer_id, comments.c.session_id == session_id),
        commenters_ordered=_commenters_ordered(conn, session_id),
    )
    return body, stats


def _counted(engine: Engine, conn: Connection, session_id: int) -> StatsCounter:
    """The session's counter, fed with the log entries written since it last counted."""
    cache = _counters.setdefault(engine, OrderedDict())
    last_id, counter = cache.pop(session_id, (0, StatsCounter()))
    query = (
        select(events.c.id, events.c.t, events.c.type, events.c.data)
        .where(events.c.session_id == session_id, events.c.id > last_id)
        .order_by(events.c.id)
    )
    for event_id, t, type_, data in conn.execute(query):
        counter.feed([{"t": t, "type": type_, **json.loads(data)}])
        last_id = event_id
    cache[session_id] = (last_id, counter)
    while len(cache) > CACHED_SESSIONS:
        cache.popitem(last=False)  # the least recently asked for
    return counter


def _count(conn: Connection, column: Any, *where: Any) -> int:
    return int(conn.scalar(select(func.count(distinct(column))).where(*where)) or 0)


def _buyers_query(session_id: int) -> Any:
    return select(order_lines.c.customer_id).where(
        order_lines.c.session_id == session_id, order_lines.c.status != "cancelled"
    )


def _commenters_ordered(conn: Connection, session_id: int) -> int:
    return _count(
        conn,
        comments.c.customer_id,
        comments.c.session_id == session_id,
        comments.c.customer_id.in_(_buyers_query(session_id)),
    )


def _report(ctx: AppContext, conn: Connection, session_id: int) -> dict[str, Any]:
    body, _ = _numbers(ctx, conn, session_id)
    body["buyers"] = _buyers(conn, session_id)
    body["questions_list"] = _questions(conn, session_id)
    body["decisions"] = _decisions(conn, session_id)
    return body


def _buyers(conn: Connection, session_id: int) -> dict[str, int]:
    """Buyers of this session, and how many had ordered in an earlier one."""
    buyers = set(conn.scalars(_buyers_query(session_id).distinct()))
    earlier = select(order_lines.c.customer_id).where(
        order_lines.c.session_id < session_id,
        order_lines.c.status != "cancelled",
        order_lines.c.customer_id.in_(sorted(buyers)),
    )
    returning = set(conn.scalars(earlier.distinct()))
    return {"total": len(buyers), "new": len(buyers - returning), "returning": len(returning)}


def _questions(conn: Connection, session_id: int) -> list[dict[str, Any]]:
    query = (
        select(comments.c.received_at, comments.c.nickname, comments.c.text)
        .where(comments.c.session_id == session_id, comments.c.intent == "question")
        .order_by(comments.c.id)
        .limit(MAX_LISTED)
    )
    return [
        {"t": r.received_at, "nickname": r.nickname, "text": r.text} for r in conn.execute(query)
    ]


def _decisions(conn: Connection, session_id: int) -> dict[str, Any]:
    query = (
        select(
            review_decisions.c.decided_at, review_decisions.c.action, review_decisions.c.text,
            review_decisions.c.intent, review_decisions.c["items"], customers.c.nickname,
        )
        .join(comments, comments.c.id == review_decisions.c.comment_id)
        .join(customers, customers.c.id == comments.c.customer_id)
        .where(review_decisions.c.session_id == session_id)
        .order_by(review_decisions.c.id)
    )  # fmt: skip
    counts = {"confirm": 0, "edit": 0, "reject": 0}
    items: list[dict[str, Any]] = []
    for r in conn.execute(query):
        counts[r.action] = counts.get(r.action, 0) + 1
        if len(items) < MAX_LISTED:
            items.append(
                {
                    "t": r.decided_at,
                    "action": r.action,
                    "nickname": r.nickname,
                    "text": r.text,
                    "intent": r.intent,
                    "items": json.loads(r.items or "[]"),
                }
            )
    return {"counts": counts, "items": items}
