"""Shopee connector against a fake Open Platform on loopback.

The fake recomputes the HMAC-SHA256 signature from the request's own query
parameters and rejects wrong ones (livestream calls must be signed with
``user_id``: a ``shop_id`` signature is rejected), pages each answer with
``offset``/``page_size`` and ``more``/``next_offset``, answers with the documented envelope
``{"error", "message", "request_id", "response": {"next_offset", "list"}}``,
and, like the real endpoint, only returns the comments of the last ten
seconds, so consecutive polls overlap.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from datetime import UTC, datetime

import pytest

from server.connectors import ConnectorError, Supervisor, build_connector
from server.connectors.shopee import PATH, ShopeeConnector, comment_from_shopee, sign

pytestmark = pytest.mark.anyio

PARTNER_ID = 2001234
PARTNER_KEY = "shpk-test-partner-key"
TOKEN = "shopee-access-token"
SHOP_ID = 778899
USER_ID = 4455
SESSION = 5566
T0 = 1_740_830_400  # 2025-03-01 12:00:00 UTC


def envelope(error: str = "", message: str = "", response: dict | None = None) -> dict:
    body: dict = {"error": error, "message": message, "request_id": "req-42"}
    if response is not None:
        body["response"] = response
    return body


class FakeShopee:
    """Comments on a timeline; each request sees the ten seconds before its timestamp."""

    def __init__(self, timeline: list[dict], owner_param: str = "user_id") -> None:
        self.timeline = timeline
        self.owner_param = owner_param
        self.failures: list[tuple] = []
        self.offsets: list[str | None] = []

    def expected_sign(self, q: dict[str, str]) -> str:
        base = f"{q['partner_id']}{PATH}{q['timestamp']}{q['access_token']}{q[self.owner_param]}"
        return hmac.new(PARTNER_KEY.encode(), base.encode(), hashlib.sha256).hexdigest()

    def __call__(self, request):
        q = request.query
        if request.path != PATH:
            return 404, envelope("error_not_found", "Wrong path.")
        missing = [
            k
            for k in ("partner_id", "timestamp", "access_token", "sign", "session_id")
            if k not in q
        ]
        if "shop_id" in q and self.owner_param == "user_id":
            return 403, envelope("error_sign", "Wrong sign.")  # livestream wants user_id
        if missing or self.owner_param not in q:
            return 400, envelope("error_param", f"missing {missing or self.owner_param}")
        if not hmac.compare_digest(q["sign"], self.expected_sign(q)):
            return 403, envelope("error_sign", "Wrong sign.")
        if self.failures:
            return self.failures.pop(0)
        if q["access_token"] != TOKEN:
            return 403, envelope("invalid_acceess_token", "Invalid access_token.")
        self.offsets.append(q.get("offset"))
        now = int(q["timestamp"])
        window = [c for c in self.timeline if now - 10 < c["timestamp"] <= now]
        newest_first = sorted(window, key=lambda c: -c["timestamp"])
        offset, size = int(q.get("offset", "0")), min(int(q.get("page_size", "20")), 100)
        page = newest_first[offset : offset + size]
        more = offset + size < len(newest_first)
        return 200, envelope(
            response={"more": more, "next_offset": offset + len(page), "list": page}
        )


def shopee_comment(n: int, at: int, text: str | None = None) -> dict:
    return {
        "comment_id": 9000 + n,
        "user_id": 100 + n,
        "username": f"buyer_{n}",
        "content": text or f"B2 x{n}",
        "timestamp": T0 + at,
    }


class Timeline:
    """Shopee's clock for the connector (seconds); polls move it on by the interval."""

    def __init__(self) -> None:
        self.now = float(T0)

    def __call__(self) -> float:
        return self.now


def polling(timeline: Timeline, stop_after: int):
    parked = asyncio.Event()
    polls: list[float] = []

    async def sleep(seconds: float) -> None:
        polls.append(seconds)
        timeline.now += seconds
        if len(polls) >= stop_after:
            parked.set()
            await asyncio.Event().wait()
        await asyncio.sleep(0)

    return sleep, parked, polls


def make(server, timeline, sleep, **kw) -> ShopeeConnector:
    if "shop_id" not in kw:
        kw.setdefault("user_id", USER_ID)
    return ShopeeConnector(
        PARTNER_ID,
        kw.pop("partner_key", PARTNER_KEY),
        kw.pop("access_token", TOKEN),
        SESSION,
        base_url=server.base_url,
        sleep=sleep,
        clock=timeline,
        **kw,
    )


def supervise(conn, collector, clock) -> Supervisor:
    return Supervisor(
        conn,
        collector.emit,
        on_state=collector.on_state,
        sleep=clock.sleep,
        clock=clock,
        rng=lambda: 1.0,
    )


async def test_overlapping_windows_give_every_comment_once_in_order(fake_server, collector, clock):
    # comments every 2 s for 20 s; polls every 3 s see 10 s windows
    fake = FakeShopee([shopee_comment(n, at=2 * n) for n in range(1, 11)])
    server = await fake_server(fake)
    timeline = Timeline()
    sleep, parked, polls = polling(timeline, stop_after=8)
    sup = supervise(make(server, timeline, sleep), collector, clock)
    sup.start()
    await asyncio.wait_for(parked.wait(), 5)
    await sup.stop()

    assert [c.id for c in collector.comments] == [str(9000 + n) for n in range(1, 11)]
    first = collector.comments[0]
    assert (first.platform, first.user, first.nickname, first.text) == (
        "shopee",
        "101",
        "buyer_1",
        "B2 x1",
    )
    assert first.ts == datetime(2025, 3, 1, 12, 0, 2, tzinfo=UTC)
    assert polls == [3.0] * 8  # default poll interval
    assert set(fake.offsets) == {"0"}  # every poll starts at the top of its answer
    q = server.requests[0].query
    assert q["session_id"] == str(SESSION) and q["user_id"] == str(USER_ID)
    assert "shop_id" not in q and q["page_size"] == "100"
    assert q["partner_id"] == str(PARTNER_ID) and q["timestamp"] == str(T0)
    assert q["sign"] == sign(PARTNER_KEY, PARTNER_ID, PATH, T0, TOKEN, str(USER_ID))
    assert sup.state.gaps == 0


async def test_shop_id_signing_is_rejected_with_a_clear_message(fake_server, collector, clock):
    server = await fake_server(FakeShopee([shopee_comment(1, at=0)]))
    timeline = Timeline()
    sleep, _, _ = polling(timeline, stop_after=1)
    sup = supervise(make(server, timeline, sleep, shop_id=SHOP_ID), collector, clock)
    sup.start()
    state = await asyncio.wait_for(sup.wait(), 5)
    assert state.status == "failed" and "error_sign" in state.last_error
    assert "signed with user_id" in state.last_error and "clock" in state.last_error


async def test_pages_of_one_answer_are_read_and_offsets_not_carried(fake_server, collector, clock):
    fake = FakeShopee([shopee_comment(n, at=n) for n in range(1, 6)])
    server = await fake_server(fake)
    timeline = Timeline()
    timeline.now += 5
    sleep, parked, _ = polling(timeline, stop_after=2)
    sup = supervise(make(server, timeline, sleep, page_size=2), collector, clock)
    sup.start()
    await asyncio.wait_for(parked.wait(), 5)
    await sup.stop()
    assert [c.id for c in collector.comments] == [str(9000 + n) for n in range(1, 6)]
    assert fake.offsets[:4] == ["0", "2", "4", "0"]  # the next poll starts again at 0


async def test_a_pause_longer_than_the_window_is_a_gap(fake_server, collector, clock):
    fake = FakeShopee([shopee_comment(1, at=0)])
    server = await fake_server(fake)
    timeline = Timeline()

    sleep, parked, polls = polling(timeline, stop_after=2)

    async def sleep_with_outage(seconds: float) -> None:
        if not polls:
            timeline.now += 30  # the network was down for half a minute after poll 1
        await sleep(seconds)

    sup = supervise(make(server, timeline, sleep_with_outage), collector, clock)
    sup.start()
    await asyncio.wait_for(parked.wait(), 5)
    state = sup.state
    await sup.stop()
    assert state.gaps == 1 and "keeps only the last 10 s" in state.last_gap
    assert state.risk == "warn"


async def test_wrong_partner_key_is_rejected_and_fails(fake_server, collector, clock):
    server = await fake_server(FakeShopee([shopee_comment(1, at=0)]))
    timeline = Timeline()
    sleep, _, _ = polling(timeline, stop_after=1)
    sup = supervise(make(server, timeline, sleep, partner_key="not-the-key"), collector, clock)
    sup.start()
    state = await asyncio.wait_for(sup.wait(), 5)
    assert state.status == "failed"
    assert "error_sign" in state.last_error
    assert "partner id and key" in state.last_error
    assert collector.comments == []


async def test_invalid_token_fails_with_a_clear_message(fake_server, collector, clock):
    server = await fake_server(FakeShopee([shopee_comment(1, at=0)]))
    timeline = Timeline()
    sleep, _, _ = polling(timeline, stop_after=1)
    sup = supervise(make(server, timeline, sleep, access_token="expired"), collector, clock)
    sup.start()
    state = await asyncio.wait_for(sup.wait(), 5)
    assert state.status == "failed"
    assert state.last_error.startswith("Shopee error invalid_acceess_token: Invalid access_token.")
    assert "request_id req-42" in state.last_error
    assert "authorise the shop again" in state.last_error.lower()
    assert clock.sleeps == []


@pytest.mark.parametrize(
    ("reply", "wait"),
    [
        ((200, envelope("error_too_many_request", "Too many requests.")), 30),
        ((429, envelope("error_too_many_request", "Slow down."), {"Retry-After": "12"}), 12),
    ],
)
async def test_rate_limit_backs_off_then_recovers(fake_server, collector, clock, reply, wait):
    fake = FakeShopee([shopee_comment(1, at=0), shopee_comment(2, at=0)])
    fake.failures = [reply, (502, None)]
    server = await fake_server(fake)
    timeline = Timeline()
    sleep, parked, _ = polling(timeline, stop_after=1)
    sup = supervise(make(server, timeline, sleep), collector, clock)
    sup.start()
    await asyncio.wait_for(parked.wait(), 5)
    await sup.stop()
    assert clock.sleeps == [wait, 2]  # the asked wait, then plain backoff for the 502
    errors = [s.last_error for s in collector.states if s.status == "backoff"]
    assert "rate limited" in errors[0]
    assert errors[1] == "Shopee error HTTP 502"
    assert [c.id for c in collector.comments] == ["9001", "9002"]


async def test_memory_of_seen_ids_is_bounded(fake_server, collector, clock):
    fake = FakeShopee([shopee_comment(n, at=0) for n in range(1, 6)])
    server = await fake_server(fake)
    timeline = Timeline()
    sleep, parked, _ = polling(timeline, stop_after=1)
    conn = make(server, timeline, sleep, remember=3)
    sup = supervise(conn, collector, clock)
    sup.start()
    await asyncio.wait_for(parked.wait(), 5)
    await sup.stop()
    assert len(conn._seen) == 3
    assert len(collector.comments) == 5


def test_mapping_is_tolerant_of_alternative_field_names():
    c = comment_from_shopee(
        {
            "comment_id": "77",
            "buyer_id": 5,
            "nickname": "Hà",
            "comment_content": "chốt 1",
            "create_time": 1_740_830_400_000,  # milliseconds
        }
    )
    assert c is not None
    assert (c.id, c.user, c.nickname, c.text) == ("77", "5", "Hà", "chốt 1")
    assert c.ts == datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    assert comment_from_shopee({"comment_id": 1, "content": ""}) is None
    anon = comment_from_shopee({"comment_id": 2, "content": "hi"})
    assert anon is not None and anon.user == "anon:2" and anon.ts is None


def test_owner_id_must_be_unambiguous():
    with pytest.raises(ConnectorError, match="needs user_id"):
        ShopeeConnector(PARTNER_ID, PARTNER_KEY, TOKEN, SESSION)
    conn = ShopeeConnector(PARTNER_ID, PARTNER_KEY, TOKEN, SESSION, shop_id=1, user_id=2)
    assert conn.params()["user_id"] == 2 and "shop_id" not in conn.params()
    conn = ShopeeConnector(
        PARTNER_ID, PARTNER_KEY, TOKEN, SESSION, shop_id=1, user_id=2, id_param="shop_id"
    )
    assert conn.params()["shop_id"] == 1
    with pytest.raises(ConnectorError, match="shopee connector needs: partner_key"):
        build_connector("shopee", partner_id=1, access_token="t", session_id=1, shop_id=1)
