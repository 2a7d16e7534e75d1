"""Facebook connector against a fake Graph API on loopback.

The fake follows the documented shapes: ``{"data": [...], "paging":
{"cursors": {"before", "after"}, "next"}}`` for comments in chronological
order, and ``{"error": {"message", "type", "code", "error_subcode",
"fbtrace_id"}}`` for failures.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from server.connectors import Supervisor, build_connector
from server.connectors.facebook import FIELDS, FacebookConnector, comment_from_graph

pytestmark = pytest.mark.anyio

TOKEN = "EAAB-page-token"
VIDEO = "1234567890"


def graph_comment(n: int, *, anonymous: bool = False, message: str | None = None) -> dict:
    item = {
        "id": f"{VIDEO}_{n}",
        "message": message if message is not None else f"A1 {n}kg",
        "created_time": f"2025-03-01T12:{n:02d}:00+0000",
    }
    if not anonymous:
        item["from"] = {"id": f"9{n:03d}", "name": f"Khách <b>{n}</b>"}
    return item


def graph_error(code: int, message: str, subcode: int | None = None) -> dict:
    error = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AbCdEf"}
    if subcode:
        error["error_subcode"] = subcode
    return {"error": error}


class FakeGraph:
    """Pages a growing list of comments; scripted failures are served first."""

    def __init__(self, comments: list[dict], *, overlap: bool = False) -> None:
        self.comments = comments
        self.overlap = overlap  # misbehave: repeat the previous page's last comment
        self.failures: list[tuple] = []

    def __call__(self, request):
        if self.failures:
            return self.failures.pop(0)
        if request.path != f"/v21.0/{VIDEO}/comments":
            return 400, graph_error(100, "Unsupported get request.", 33)
        if request.query.get("access_token") != TOKEN:
            return 400, graph_error(190, "Invalid OAuth access token.")
        limit = int(request.query.get("limit", "25"))
        after = request.query.get("after")
        start = int(after.removeprefix("cur")) if after else 0
        if self.overlap and start:
            start -= 1
        page = self.comments[start : start + limit]
        if not page:
            return 200, {"data": []}
        end = start + len(page)
        paging: dict = {"cursors": {"before": f"cur{start}", "after": f"cur{end}"}}
        if end < len(self.comments):
            paging["next"] = f"https://graph.example/v21.0/{VIDEO}/comments?after=cur{end}"
        return 200, {"data": page, "paging": paging}


def connector(server, poll_sleep, **kw) -> FacebookConnector:
    return FacebookConnector(
        VIDEO, TOKEN, base_url=server.base_url, page_size=2, sleep=poll_sleep, **kw
    )


def polls_until(after_poll=None, stop_after: int = 3):
    """A poll-interval sleep that runs a hook per poll, then parks the connector."""
    polls: list[float] = []
    parked = asyncio.Event()

    async def sleep(seconds: float) -> None:
        polls.append(seconds)
        if after_poll is not None:
            after_poll(len(polls))
        if len(polls) >= stop_after:
            parked.set()
            await asyncio.Event().wait()  # park: no busy polling once the scenario is over
        await asyncio.sleep(0)

    sleep.parked = parked  # type: ignore[attr-defined]
    return sleep, polls


def supervise(conn, collector, clock) -> Supervisor:
    return Supervisor(
        conn,
        collector.emit,
        on_state=collector.on_state,
        sleep=clock.sleep,
        clock=clock,
        rng=lambda: 1.0,
    )


async def test_reads_backlog_in_pages_then_only_new_comments(fake_server, collector, clock):
    graph = FakeGraph([graph_comment(n) for n in range(1, 6)])
    server = await fake_server(graph)

    def add_more(poll: int) -> None:
        if poll == 1:
            graph.comments += [
                graph_comment(6, anonymous=True),
                graph_comment(7, message=""),  # a sticker: no text
                graph_comment(8),
            ]

    sleep, polls = polls_until(add_more)
    sup = supervise(connector(server, sleep), collector, clock)
    sup.start()
    await collector.wait_for(lambda: len(collector.comments) >= 7)
    await sup.stop()

    ids = [c.id for c in collector.comments]
    assert ids == [f"{VIDEO}_{n}" for n in (1, 2, 3, 4, 5, 6, 8)]
    afters = [r.query.get("after") for r in server.requests]
    assert afters[:5] == [None, "cur2", "cur4", "cur5", "cur7"]
    first = server.requests[0].query
    assert first["fields"] == FIELDS == "id,message,from{id,name},created_time"
    assert first["order"] == "chronological"
    assert first["limit"] == "2"
    c1 = collector.comments[0]
    assert (c1.platform, c1.user, c1.nickname, c1.text) == (
        "facebook",
        "9001",
        "Khách <b>1</b>",
        "A1 1kg",
    )
    assert c1.ts == datetime(2025, 3, 1, 12, 1, tzinfo=UTC)
    assert collector.comments[5].user == f"anon:{VIDEO}_6"
    assert polls[0] == 2.0  # default poll interval
    assert sup.state.comments == 7


async def test_overlapping_pages_do_not_duplicate(fake_server, collector, clock):
    graph = FakeGraph([graph_comment(n) for n in range(1, 6)], overlap=True)
    server = await fake_server(graph)
    sleep, _ = polls_until(stop_after=2)
    sup = supervise(connector(server, sleep), collector, clock)
    sup.start()
    await asyncio.wait_for(sleep.parked.wait(), 5)
    await sup.stop()
    assert len(server.requests) == 5  # four overlapping pages, then one more poll
    assert [c.id for c in collector.comments] == [f"{VIDEO}_{n}" for n in range(1, 6)]


@pytest.mark.parametrize(
    ("reply", "wait"),
    [
        ((400, graph_error(4, "(#4) Application request limit reached"), {"Retry-After": "7"}), 7),
        ((429, None, {}), 60),
        (
            (
                400,
                graph_error(80001, "There have been too many calls to this Page account."),
                {"X-Business-Use-Case-Usage": '{"1": [{"estimated_time_to_regain_access": 2}]}'},
            ),
            120,
        ),
        ((400, graph_error(613, "Calls to this api have exceeded the rate limit.")), 60),
    ],
)
async def test_rate_limit_backs_off_for_the_asked_time_then_recovers(
    fake_server, collector, clock, reply, wait
):
    graph = FakeGraph([graph_comment(n) for n in range(1, 4)])
    graph.failures = [reply]
    server = await fake_server(graph)
    sleep, _ = polls_until(stop_after=1)
    sup = supervise(connector(server, sleep), collector, clock)
    sup.start()
    await collector.wait_for(lambda: len(collector.comments) >= 3)
    await sup.stop()
    assert clock.sleeps == [wait]
    backoff = next(s for s in collector.states if s.status == "backoff")
    assert "rate limit" in backoff.last_error
    assert "live" in collector.statuses[collector.statuses.index("backoff") :]
    assert [c.id for c in collector.comments] == [f"{VIDEO}_{n}" for n in (1, 2, 3)]


async def test_expired_token_fails_with_a_clear_message(fake_server, collector, clock):
    server = await fake_server(FakeGraph([graph_comment(1)]))
    sleep, _ = polls_until()
    conn = FacebookConnector(VIDEO, "stale-token", base_url=server.base_url, sleep=sleep)
    sup = supervise(conn, collector, clock)
    sup.start()
    state = await asyncio.wait_for(sup.wait(), 5)
    assert state.status == "failed"
    assert "Facebook error 190" in state.last_error
    assert "access token is expired or revoked" in state.last_error
    assert "fbtrace_id AbCdEf" in state.last_error
    assert "stale-token" not in state.last_error
    assert clock.sleeps == []  # no retries
    assert len(server.requests) == 1


async def test_unknown_video_is_fatal(fake_server, collector, clock):
    server = await fake_server(FakeGraph([]))
    sleep, _ = polls_until()
    conn = FacebookConnector("999", TOKEN, base_url=server.base_url, sleep=sleep)
    sup = supervise(conn, collector, clock)
    sup.start()
    state = await asyncio.wait_for(sup.wait(), 5)
    assert state.status == "failed"
    assert "Facebook error 100/33" in state.last_error


async def test_server_errors_and_timeouts_are_retried(fake_server, collector, clock):
    graph = FakeGraph([graph_comment(1), graph_comment(2)])
    graph.failures = [
        (500, None),
        (503, graph_error(2, "Service temporarily unavailable")),
        (200, {"data": []}, {}, 0.3),  # slower than the client's timeout
    ]
    server = await fake_server(graph)
    sleep, _ = polls_until(stop_after=1)
    sup = supervise(connector(server, sleep, timeout=0.1), collector, clock)
    sup.start()
    await collector.wait_for(lambda: len(collector.comments) >= 2)
    await sup.stop()
    errors = [s.last_error for s in collector.states if s.status == "backoff"]
    assert errors == [
        "Facebook server error (HTTP 500)",
        "Facebook error 2: Service temporarily unavailable (fbtrace_id AbCdEf)",
        "Facebook: request timed out",
    ]
    assert clock.sleeps == [1, 2, 4]
    assert [c.id for c in collector.comments] == [f"{VIDEO}_1", f"{VIDEO}_2"]


def test_graph_mapping_edge_cases():
    assert comment_from_graph({"id": "1", "message": "  "}) is None
    assert comment_from_graph({"message": "chốt 1"}) is None
    c = comment_from_graph({"id": "7", "message": "chốt 1", "created_time": 1740830400})
    assert c is not None
    assert c.user == "anon:7" and c.nickname == ""
    assert c.ts == datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    bad_time = comment_from_graph({"id": "8", "message": "x", "created_time": "yesterday"})
    assert bad_time is not None and bad_time.ts is None


def test_build_connector_names_missing_facebook_options():
    from server.connectors import ConnectorError

    with pytest.raises(ConnectorError, match="facebook connector needs: access_token"):
        build_connector("facebook", live_video_id=VIDEO)
    with pytest.raises(ConnectorError, match="does not take page_token"):
        build_connector("facebook", live_video_id=VIDEO, page_token="x")
    conn = build_connector("facebook", live_video_id=VIDEO, access_token=TOKEN)
    assert conn.name == "facebook"


async def test_tokens_are_masked_in_httpx_request_logs(fake_server, collector, clock, caplog):
    import logging

    caplog.set_level(logging.INFO, logger="httpx")
    server = await fake_server(FakeGraph([graph_comment(1)]))
    sleep, _ = polls_until(stop_after=1)
    sup = supervise(connector(server, sleep), collector, clock)
    sup.start()
    await collector.wait_for(lambda: len(collector.comments) >= 1)
    await sup.stop()
    logged = caplog.text
    assert "HTTP Request: GET" in logged
    assert "access_token=***" in logged
    assert TOKEN not in logged
