"""Facebook connector against a fake Graph API on loopback.

The fake follows the documented shapes (``{"data": [...], "paging":
{"cursors": {"before", "after"}, "next"}}``, errors as ``{"error": {"message",
"type", "code", "error_subcode", "fbtrace_id"}}``) and enforces what the
documents say about reading comments:

- ``live_filter`` defaults to ``filter_low_quality``: short comments (fewer
  than three words, or short order strings) are dropped unless
  ``live_filter=no_filter`` is sent;
- ``filter`` defaults to ``toplevel``: replies are left out unless
  ``filter=stream``;
- ``order`` is ``chronological`` unless ``reverse_chronological`` is asked;
- deleting a comment invalidates the cursors handed out before (error 100,
  no subcode), and an unknown id is error 100 with subcode 33;
- ``{page}/live_videos`` lists the Page's videos, filtered by
  ``broadcast_status``;
- ``/{live-video-id}/live_comments`` on the streaming host is a server-sent
  event stream (``comment_rate`` one of the three documented rates, ``fields``
  asked for), one comment object per event's ``data``; it replays nothing, and
  the test decides when it drops.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime

import httpx
import pytest

from server.connectors import Supervisor, build_connector
from server.connectors.facebook import (
    COMMENT_RATES,
    FIELDS,
    FacebookConnector,
    comment_from_graph,
    sse_data,
)

pytestmark = pytest.mark.anyio

TOKEN = "EAAB-page-token"
VIDEO = "1234567890"
_SHORT_ORDER = re.compile(r"(?i)^\s*(#?[a-z]\d+|chốt\s*\d*|lấy\s*\d*|\d+)\s*$")


def graph_comment(
    n: int,
    *,
    anonymous: bool = False,
    message: str | None = None,
    parent: str | None = None,
    video: str = VIDEO,
) -> dict:
    item = {
        "id": f"{video}_{n}",
        "message": message if message is not None else f"A1 {n}kg nha chị",
        "created_time": f"2025-03-01T12:{n:02d}:00+0000",
    }
    if not anonymous:
        item["from"] = {"id": f"9{n:03d}", "name": f"Khách <b>{n}</b>"}
    if parent:
        item["parent"] = {"id": parent}
    return item


def graph_error(code: int, message: str, subcode: int | None = None) -> dict:
    error = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AbCdEf"}
    if subcode:
        error["error_subcode"] = subcode
    return {"error": error}


def low_quality(message: str) -> bool:
    """What the fake's ``filter_low_quality`` drops: short texts and bare order codes."""
    return len(message.split()) < 3 or bool(_SHORT_ORDER.match(message))


class FakeGraph:
    """Comments per video, served in pages; scripted failures are served first."""

    def __init__(self, comments: list[dict], *, overlap: bool = False) -> None:
        self.videos: dict[str, list[dict]] = {VIDEO: comments}
        self.live: list[dict] = [
            {"id": VIDEO, "status": "LIVE", "creation_time": "2025-03-01T11:59:00+0000"}
        ]
        self.overlap = overlap  # misbehave: repeat the previous page's last comment
        self.failures: list[tuple] = []
        self.generation = 0  # deleting a comment invalidates older cursors
        self.streams: list[asyncio.Queue] = []  # open live_comments connections
        self.opened = asyncio.Event()  # set when a stream connects; tests clear it

    @property
    def comments(self) -> list[dict]:
        return self.videos[VIDEO]

    @comments.setter
    def comments(self, value: list[dict]) -> None:
        self.videos[VIDEO] = value

    def delete(self, comment_id: str) -> None:
        for items in self.videos.values():
            items[:] = [c for c in items if c["id"] != comment_id]
        self.generation += 1

    def post(self, comment: dict, *, streamed: bool = True) -> None:
        """A new comment; an open stream pushes it unless it is ``streamed=False``."""
        self.comments.append(comment)
        if streamed:
            self.push(comment)

    def push(self, comment: dict) -> None:
        for queue in self.streams:
            queue.put_nowait(comment)

    def drop(self) -> None:
        """Every open stream ends, as a dropped connection does."""
        for queue in self.streams:
            queue.put_nowait(None)
        self.streams = []

    def __call__(self, request):
        if self.failures:
            return self.failures.pop(0)
        if request.query.get("access_token") != TOKEN:
            return 400, graph_error(190, "Invalid OAuth access token.")
        if request.path.endswith("/live_comments"):
            return self.live_comments(request)
        if request.path == "/v21.0/me/live_videos":
            return self.live_videos(request.query)
        video = request.path.removeprefix("/v21.0/").removesuffix("/comments")
        if not request.path.endswith("/comments") or video not in self.videos:
            return 400, graph_error(100, "Unsupported get request.", 33)
        return self.page(self.visible(video, request.query), request.query)

    def live_comments(self, request):
        video = request.path.strip("/").removesuffix("/live_comments")
        if video not in self.videos or request.path.startswith("/v"):
            return 400, graph_error(100, "Unsupported get request.", 33)
        rate = request.query.get("comment_rate")
        if rate not in COMMENT_RATES:
            return 400, graph_error(100, f"(#100) Invalid comment_rate {rate!r}")
        fields = request.query.get("fields", "")
        queue: asyncio.Queue = asyncio.Queue()
        self.streams.append(queue)
        self.opened.set()

        async def events():
            yield b": ok\n\n"  # a keep-alive comment line
            while (comment := await queue.get()) is not None:
                data = {k: v for k, v in comment.items() if k == "id" or k in fields}
                yield f"data: {json.dumps(data)}\n\n".encode()

        return 200, events()

    def live_videos(self, query: dict[str, str]):
        wanted = json.loads(query.get("broadcast_status", "[]")) or None
        data = [v for v in self.live if wanted is None or v["status"] in wanted]
        return 200, {"data": data}

    def visible(self, video: str, query: dict[str, str]) -> list[dict]:
        items = list(self.videos[video])
        if query.get("live_filter", "filter_low_quality") != "no_filter":
            items = [c for c in items if not low_quality(c["message"])]
        if query.get("filter", "toplevel") != "stream":
            items = [c for c in items if "parent" not in c]
        if query.get("order", "chronological") == "reverse_chronological":
            items.reverse()
        return items

    def page(self, items: list[dict], query: dict[str, str]):
        limit = int(query.get("limit", "25"))
        after = query.get("after")
        start = 0
        if after:
            generation, _, index = after.partition(":")
            if generation != f"g{self.generation}":
                return 400, graph_error(100, "(#100) The after cursor is no longer valid.")
            start = int(index)
        if self.overlap and start:
            start -= 1
        page = items[start : start + limit]
        if not page:
            return 200, {"data": []}
        end = start + len(page)
        cursor = f"g{self.generation}:{end}"
        paging: dict = {"cursors": {"before": f"g{self.generation}:{start}", "after": cursor}}
        if end < len(items):
            paging["next"] = f"https://graph.example/v21.0/{VIDEO}/comments?after={cursor}"
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


async def test_reads_backlog_newest_first_then_only_new_comments(fake_server, collector, clock):
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
    await asyncio.wait_for(sleep.parked.wait(), 5)
    await sup.stop()

    ids = [c.id for c in collector.comments]
    assert ids == [f"{VIDEO}_{n}" for n in (1, 2, 3, 4, 5, 6, 8)]  # oldest first
    afters = [r.query.get("after") for r in server.requests]
    # poll 1 pages back through the backlog; poll 2 stops at the first page with a
    # comment already seen; poll 3 reads one page of nothing new
    assert afters == [None, "g0:2", "g0:4", None, "g0:2", None]
    first = server.requests[0].query
    assert first["fields"] == FIELDS == "id,message,from{id,name},created_time"
    assert first["live_filter"] == "no_filter"
    assert first["filter"] == "stream"
    assert first["order"] == "reverse_chronological"
    assert first["limit"] == "2"
    c1 = collector.comments[0]
    assert (c1.platform, c1.user, c1.nickname, c1.text) == (
        "facebook",
        "9001",
        "Khách <b>1</b>",
        "A1 1kg nha chị",
    )
    assert c1.ts == datetime(2025, 3, 1, 12, 1, tzinfo=UTC)
    assert collector.comments[5].user == f"anon:{VIDEO}_6"
    assert polls[0] == 2.0  # default poll interval
    assert sup.state.comments == 7
    assert sup.state.gaps == 0 and sup.state.risk == "ok"


async def test_short_order_comments_are_not_filtered_out(fake_server, collector, clock):
    shorts = [graph_comment(1, message="A1"), graph_comment(2, message="chốt 2")]
    graph = FakeGraph([*shorts, graph_comment(3, message="lấy 1 cân nha chị")])
    server = await fake_server(graph)
    async with httpx.AsyncClient() as client:  # the fake really filters by default
        plain = await client.get(
            f"{server.base_url}/v21.0/{VIDEO}/comments", params={"access_token": TOKEN}
        )
    assert [c["id"] for c in plain.json()["data"]] == [f"{VIDEO}_3"]

    sleep, _ = polls_until(stop_after=1)
    sup = supervise(connector(server, sleep), collector, clock)
    sup.start()
    await asyncio.wait_for(sleep.parked.wait(), 5)
    await sup.stop()
    assert [c.text for c in collector.comments] == ["A1", "chốt 2", "lấy 1 cân nha chị"]


async def test_replies_are_read_too(fake_server, collector, clock):
    graph = FakeGraph(
        [
            graph_comment(1, message="còn hạt dẻ không chị"),
            graph_comment(2, message="chốt 2 cân nhé", parent=f"{VIDEO}_1"),
        ]
    )
    server = await fake_server(graph)
    sleep, _ = polls_until(stop_after=1)
    sup = supervise(connector(server, sleep), collector, clock)
    sup.start()
    await asyncio.wait_for(sleep.parked.wait(), 5)
    await sup.stop()
    assert [c.id for c in collector.comments] == [f"{VIDEO}_1", f"{VIDEO}_2"]


async def test_no_cursor_is_kept_between_polls(fake_server, collector, clock):
    graph = FakeGraph([graph_comment(n) for n in range(1, 6)])
    server = await fake_server(graph)

    def moderate(poll: int) -> None:
        if poll == 1:  # a moderator deletes a comment: every older cursor goes invalid
            graph.delete(f"{VIDEO}_3")
            graph.comments += [graph_comment(6), graph_comment(7)]

    sleep, _ = polls_until(moderate, stop_after=2)
    sup = supervise(connector(server, sleep), collector, clock)
    sup.start()
    await asyncio.wait_for(sleep.parked.wait(), 5)
    await sup.stop()
    assert [c.id for c in collector.comments] == [f"{VIDEO}_{n}" for n in range(1, 8)]
    assert "backoff" not in collector.statuses
    stale = [r for r in server.requests[3:] if r.query.get("after", "g1").startswith("g0")]
    assert stale == []


async def test_error_100_is_fatal_only_with_subcode_33(fake_server, collector, clock):
    graph = FakeGraph([graph_comment(1)])
    graph.failures = [(400, graph_error(100, "(#100) Invalid parameter"))]
    server = await fake_server(graph)
    sleep, _ = polls_until(stop_after=1)
    sup = supervise(connector(server, sleep), collector, clock)
    sup.start()
    await collector.wait_for(lambda: len(collector.comments) >= 1)
    await sup.stop()
    backoff = next(s for s in collector.states if s.status == "backoff")
    assert backoff.last_error.startswith("Facebook error 100: (#100) Invalid parameter")
    assert "failed" not in collector.statuses


async def test_finds_the_pages_live_video_and_the_next_one(fake_server, collector, clock):
    graph = FakeGraph([graph_comment(1)])
    graph.live = [
        {"id": "777", "status": "LIVE_STOPPED", "creation_time": "2025-02-01T10:00:00+0000"}
    ]
    second = "2222222222"
    server = await fake_server(graph)

    def next_live(poll: int) -> None:
        if poll == 1:
            graph.videos[second] = [graph_comment(1, video=second, message="chốt 1 hũ mật ong")]
            graph.live.append(
                {"id": second, "status": "LIVE", "creation_time": "2025-03-01T14:00:00+0000"}
            )

    def go_live() -> None:
        graph.live.append(
            {"id": VIDEO, "status": "LIVE", "creation_time": "2025-03-01T11:59:00+0000"}
        )

    sleep, _ = polls_until(next_live, stop_after=2)
    conn = FacebookConnector(
        access_token=TOKEN, base_url=server.base_url, sleep=sleep, rediscover_every=0
    )

    async def backoff_sleep(seconds: float) -> None:
        go_live()  # the seller goes live while the connector waits
        await clock.sleep(seconds)

    sup = Supervisor(
        conn, collector.emit, on_state=collector.on_state, sleep=backoff_sleep, rng=lambda: 1.0
    )
    sup.start()
    await asyncio.wait_for(sleep.parked.wait(), 5)
    await sup.stop()
    backoff = next(s for s in collector.states if s.status == "backoff")
    assert backoff.last_error == "the Facebook Page has no live video right now"
    assert [c.id for c in collector.comments] == [f"{VIDEO}_1", f"{second}_1"]
    lookups = [r for r in server.requests if r.path.endswith("/live_videos")]
    assert lookups[0].query["broadcast_status"] == '["LIVE"]'
    assert conn.live_video_id == second


async def test_more_new_comments_than_max_pages_is_a_gap(fake_server, collector, clock):
    graph = FakeGraph([graph_comment(n) for n in range(1, 11)])
    server = await fake_server(graph)
    sleep, _ = polls_until(stop_after=1)
    sup = supervise(connector(server, sleep, max_pages=2), collector, clock)
    sup.start()
    await asyncio.wait_for(sleep.parked.wait(), 5)
    state = sup.state
    await sup.stop()
    assert [c.id for c in collector.comments] == [f"{VIDEO}_{n}" for n in (7, 8, 9, 10)]
    assert state.gaps == 1 and "oldest of them were not read" in state.last_gap
    assert state.risk == "warn" and state.risk_reasons == ("gap",)


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


async def test_stream_with_polling_filling_its_gaps(fake_server, collector, clock):
    graph = FakeGraph([graph_comment(1), graph_comment(2)])
    server = await fake_server(graph)
    sleep, polls = polls_until(stop_after=2)
    conn = connector(server, sleep, stream=True, stream_base_url=server.base_url)
    sup = supervise(conn, collector, clock)
    sup.start()

    def ids() -> list[str]:
        return [c.id for c in collector.comments]

    await asyncio.wait_for(graph.opened.wait(), 5)
    await collector.wait_for(lambda: len(ids()) == 2)  # the backlog, polled once connected
    graph.opened.clear()
    graph.post(graph_comment(3, message="A1"))  # short: streamed like any other
    await collector.wait_for(lambda: len(ids()) == 3)
    # the stream drops; comments posted meanwhile reach no stream
    graph.drop()
    graph.post(graph_comment(4), streamed=False)
    graph.post(graph_comment(5, message="chốt 2"), streamed=False)
    await asyncio.wait_for(graph.opened.wait(), 5)  # reconnected; the poll fills the gap
    await collector.wait_for(lambda: len(ids()) == 5)
    assert ids() == [f"{VIDEO}_{n}" for n in range(1, 6)]
    graph.push(graph_comment(5, message="chốt 2"))  # a repeat must not count twice
    graph.post(graph_comment(6))
    await collector.wait_for(lambda: len(ids()) == 6)
    graph.drop()
    await asyncio.wait_for(sleep.parked.wait(), 5)
    state = sup.state
    await sup.stop()

    assert ids() == [f"{VIDEO}_{n}" for n in range(1, 7)]  # each once, in order
    edges = [r.path.rsplit("/", 1)[-1] for r in server.requests]
    runs = [e for i, e in enumerate(edges) if i == 0 or edges[i - 1] != e]
    assert runs == ["live_comments", "comments", "live_comments", "comments"]
    assert edges.count("comments") == 3  # the gap poll pages back to comment 3, seen
    stream = next(r for r in server.requests if r.path.endswith("live_comments"))
    assert stream.path == f"/{VIDEO}/live_comments"  # the streaming host takes no version
    assert stream.query == {
        "access_token": TOKEN,
        "comment_rate": "ten_per_second",
        "fields": FIELDS,
    }
    gap_poll = server.requests[-1].query
    assert gap_poll["live_filter"] == "no_filter" and gap_poll["filter"] == "stream"
    c3 = collector.comments[2]
    assert (c3.user, c3.nickname, c3.text) == ("9003", "Khách <b>3</b>", "A1")
    assert c3.ts == datetime(2025, 3, 1, 12, 3, tzinfo=UTC)
    assert conn.stream_drops == 2 and polls == [2.0, 2.0]
    assert state.status == "live" and state.gaps == 0 and state.comments == 6


async def test_a_refused_stream_is_a_graph_error(fake_server, collector, clock):
    graph = FakeGraph([graph_comment(1)])
    server = await fake_server(graph)
    sleep, _ = polls_until(stop_after=1)
    conn = connector(
        server, sleep, stream=True, stream_base_url=server.base_url + "/v21.0"
    )  # a wrong stream address: Graph answers error 100/33 as JSON
    sup = supervise(conn, collector, clock)
    sup.start()
    state = await asyncio.wait_for(sup.wait(), 5)
    assert state.status == "failed" and "does not exist" in state.last_error
    assert collector.comments == []


async def test_polling_carries_on_when_the_stream_cannot_connect(fake_server, collector, clock):
    graph = FakeGraph([graph_comment(1)])
    server = await fake_server(graph)

    def add(poll: int) -> None:
        graph.post(graph_comment(poll + 1))

    sleep, polls = polls_until(add, stop_after=2)
    idle = await fake_server(lambda request: (200, None))
    closed_url = idle.base_url
    await idle.close()  # nothing listens there any more: connecting is refused
    conn = connector(server, sleep, stream=True, stream_base_url=closed_url)
    sup = supervise(conn, collector, clock)
    sup.start()
    await asyncio.wait_for(sleep.parked.wait(), 5)
    await sup.stop()
    assert [c.id for c in collector.comments] == [f"{VIDEO}_{n}" for n in (1, 2)]
    assert polls == [2.0, 2.0] and conn.stream_drops == 2


def test_comment_rate_must_be_a_documented_one():
    with pytest.raises(Exception, match="comment_rate must be one of"):
        FacebookConnector(VIDEO, TOKEN, stream=True, comment_rate="fast")


async def test_sse_parsing_joins_data_lines_and_skips_keepalives():
    body = b': hi\n\ndata: {"a":\ndata: 1}\n\nevent: x\ndata: 2\n\ndata: 3'
    response = httpx.Response(200, content=body)
    assert [d async for d in sse_data(response)] == ['{"a":\n1}', "2"]
