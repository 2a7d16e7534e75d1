"""Shopee connector against a fake Open Platform on loopback.

The fake recomputes the HMAC-SHA256 signature from the request's own query
parameters and rejects wrong ones (livestream calls must be signed with
``user_id``: a ``shop_id`` signature is rejected), pages each answer with
``offset``/``page_size`` and ``more``/``next_offset``, answers with the documented envelope
``{"error", "message", "request_id", "response": {"next_offset", "list"}}``,
and, like the real endpoint, only returns the comments of the last ten
seconds, so consecutive polls overlap.

Tokens as the authorisation docs describe them: an access token lives four
hours (``expire_in`` 14400) and an expired one is answered with
``invalid_acceess_token`` (Shopee's spelling); ``POST /api/v2/auth/access_token/get``
(signed with ``partner_id + path + timestamp`` only, the refresh token in the
JSON body) hands out a new access token and a new refresh token, and the old
refresh token cannot be used again. Every answer carries a ``Date`` header, and
a request stamped more than five minutes off it is refused (``error_sign``).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from server.connectors import ConnectorError, Supervisor, build_connector
from server.connectors.shopee import (
    PATH,
    REFRESH_PATH,
    ShopeeConnector,
    comment_from_shopee,
    sign,
)

pytestmark = pytest.mark.anyio

PARTNER_ID = 2001234
PARTNER_KEY = "shpk-test-partner-key"
TOKEN = "shopee-access-token"
SHOP_ID = 778899
USER_ID = 4455
SESSION = 5566
T0 = 1_740_830_400  # 2025-03-01 12:00:00 UTC
REFRESH = "shopee-refresh-token"
LIFETIME = 4 * 3600


def envelope(error: str = "", message: str = "", response: dict | None = None) -> dict:
    body: dict = {"error": error, "message": message, "request_id": "req-42"}
    if response is not None:
        body["response"] = response
    return body


class FakeShopee:
    """Comments on a timeline; each request sees the ten seconds before its timestamp."""

    def __init__(
        self, timeline: list[dict], owner_param: str = "user_id", token_expires: int | None = None
    ) -> None:
        self.timeline = timeline
        self.owner_param = owner_param
        self.failures: list[tuple] = []
        self.offsets: list[str | None] = []
        self.lifetime = LIFETIME  # of the tokens it hands out; tests shorten it
        self.tokens = {TOKEN: token_expires or T0 + LIFETIME}  # access token -> expiry
        self.refresh_tokens = {REFRESH}
        self.refresh_bodies: list[dict] = []
        self.rejected: list[str] = []  # access tokens refused as expired
        self.now = float(T0)  # Shopee's own clock, sent in Date; moved by the test
        self.served: list[int] = []  # timestamps of the comment reads answered

    def expected_sign(self, q: dict[str, str], path: str = PATH) -> str:
        base = f"{q['partner_id']}{path}{q['timestamp']}"
        if path == PATH:
            base += f"{q['access_token']}{q[self.owner_param]}"
        return hmac.new(PARTNER_KEY.encode(), base.encode(), hashlib.sha256).hexdigest()

    def __call__(self, request):
        reply = self.answer(request)
        date = format_datetime(datetime.fromtimestamp(self.now, UTC), usegmt=True)
        return reply[0], reply[1], {"Date": date, **(reply[2] if len(reply) > 2 else {})}

    def answer(self, request):
        q = request.query
        if request.path == REFRESH_PATH and request.method == "POST":
            return self.refresh(request)
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
        if not self.signed(q, PATH):
            return 403, envelope("error_sign", "Wrong sign.")
        if self.failures:
            return self.failures.pop(0)
        now = int(q["timestamp"])
        if q["access_token"] not in self.tokens:
            return 403, envelope("invalid_acceess_token", "Invalid access_token.")
        if now >= self.tokens[q["access_token"]]:
            self.rejected.append(q["access_token"])
            return 403, envelope("invalid_acceess_token", "Invalid access_token.")
        self.offsets.append(q.get("offset"))
        self.served.append(now)
        window = [c for c in self.timeline if now - 10 < c["timestamp"] <= now]
        newest_first = sorted(window, key=lambda c: -c["timestamp"])
        offset, size = int(q.get("offset", "0")), min(int(q.get("page_size", "20")), 100)
        page = newest_first[offset : offset + size]
        more = offset + size < len(newest_first)
        return 200, envelope(
            response={"more": more, "next_offset": offset + len(page), "list": page}
        )

    def signed(self, q: dict[str, str], path: str) -> bool:
        if abs(int(q["timestamp"]) - self.now) > 300:  # the five minutes Shopee allows
            return False
        return hmac.compare_digest(q["sign"], self.expected_sign(q, path))

    def refresh(self, request):
        q, body = request.query, request.json()
        if "access_token" in q or not {"partner_id", "timestamp", "sign"} <= set(q):
            return 400, envelope("error_param", "public calls take no access_token")
        if not self.signed(q, REFRESH_PATH):
            return 403, envelope("error_sign", "Wrong sign.")
        self.refresh_bodies.append(body)
        if body.get("refresh_token") not in self.refresh_tokens:
            return 400, envelope("error_param", "Invalid refresh_token.")
        self.refresh_tokens.discard(body["refresh_token"])  # one use each
        n = len(self.refresh_bodies)
        access, refresh = f"{TOKEN}-{n}", f"{REFRESH}-{n}"
        self.tokens[access] = int(q["timestamp"]) + self.lifetime
        self.refresh_tokens.add(refresh)
        answer = {"access_token": access, "refresh_token": refresh, "expire_in": self.lifetime}
        return 200, {**envelope(), **answer, "partner_id": PARTNER_ID}


def shopee_comment(n: int, at: int, text: str | None = None) -> dict:
    return {
        "comment_id": 9000 + n,
        "user_id": 100 + n,
        "username": f"buyer_{n}",
        "content": text or f"B2 x{n}",
        "timestamp": T0 + at,
    }


class Timeline:
    """The connector's clock (seconds); polls move it on by the interval, and the
    fake Shopee's own clock with it (``skew`` seconds behind)."""

    def __init__(self, fake: FakeShopee | None = None, skew: float = 0.0) -> None:
        self._now = float(T0)
        self.fake = fake
        self.skew = skew
        self.now = float(T0)

    @property
    def now(self) -> float:
        return self._now

    @now.setter
    def now(self, value: float) -> None:
        self._now = value
        if self.fake is not None:
            self.fake.now = value - self.skew

    def __call__(self) -> float:
        return self.now

    def utc(self) -> datetime:
        return datetime.fromtimestamp(self.now, UTC)


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
        now=lambda: datetime.fromtimestamp(conn._clock(), UTC),  # Shopee's timeline
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
    assert "signed with user_id" in state.last_error and "not shop_id" in state.last_error
    assert "clock" not in state.last_error  # the Date header shows the clock is right


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


def every(seconds: int, until: int) -> list[dict]:
    return [shopee_comment(n, at=n * seconds) for n in range(1, until // seconds + 1)]


async def test_a_live_past_token_expiry_refreshes_ahead_and_misses_nothing(
    fake_server, collector, clock
):
    fake = FakeShopee(every(4, until=296))
    fake.lifetime = 60  # short tokens, so a five-minute test outlives several
    fake.tokens[TOKEN] = T0 + 60
    server = await fake_server(fake)
    timeline = Timeline(fake)
    sleep, parked, _ = polling(timeline, stop_after=100)  # polls at 0, 3, ... 297 s
    conn = make(
        server,
        timeline,
        sleep,
        refresh_token=REFRESH,
        token_expires_at=T0 + 60,
        refresh_margin=15,
    )
    sup = supervise(conn, collector, clock)
    sup.start()
    await asyncio.wait_for(parked.wait(), 20)
    state = sup.state
    await sup.stop()

    assert [c.id for c in collector.comments] == [str(9000 + n) for n in range(1, 75)]
    assert fake.rejected == [] and "backoff" not in collector.statuses
    # every refresh used the refresh token the one before handed out
    tokens = [b["refresh_token"] for b in fake.refresh_bodies]
    assert tokens == [REFRESH] + [f"{REFRESH}-{n}" for n in range(1, len(tokens))]
    assert len(tokens) == 6  # 15 s before each expiry: at 45, 90, ... 270 s
    assert fake.refresh_bodies[0] == {
        "refresh_token": REFRESH,
        "partner_id": PARTNER_ID,
        "user_id": USER_ID,
    }
    refresh = next(r for r in server.requests if r.path == REFRESH_PATH)
    assert refresh.method == "POST" and "access_token" not in refresh.query
    assert refresh.query["sign"] == sign(
        PARTNER_KEY, PARTNER_ID, REFRESH_PATH, int(refresh.query["timestamp"])
    )
    assert conn.refreshes == 6 and conn._token == f"{TOKEN}-6"
    # a token that will be refreshed is no risk: the panel is not told its expiry
    assert state.token_expires_at is None and state.risk == "ok"


async def test_a_token_rejected_before_its_expected_expiry_is_refreshed_and_read_again(
    fake_server, collector, clock
):
    # the token was older than the connector assumed: Shopee refuses it after 20 s
    fake = FakeShopee(every(2, until=60), token_expires=T0 + 20)
    server = await fake_server(fake)
    timeline = Timeline(fake)
    sleep, parked, _ = polling(timeline, stop_after=25)
    conn = make(server, timeline, sleep, refresh_token=REFRESH)
    sup = supervise(conn, collector, clock)
    sup.start()
    await asyncio.wait_for(parked.wait(), 10)
    await sup.stop()

    assert fake.rejected == [TOKEN]
    assert [c.id for c in collector.comments] == [str(9000 + n) for n in range(1, 31)]
    assert "backoff" not in collector.statuses and sup.state.gaps == 0
    # the read that was refused is made again at once, with the new token
    assert fake.served == sorted(fake.served) and 21 in [t - T0 for t in fake.served]


async def test_an_unrefreshable_token_shows_its_expiry_then_fails_clearly(
    fake_server, collector, clock
):
    fake = FakeShopee(every(2, until=60), token_expires=T0 + 25 * 60)
    fake.tokens[TOKEN] = T0 + 10
    server = await fake_server(fake)
    timeline = Timeline(fake)
    sleep, _, _ = polling(timeline, stop_after=100)
    conn = make(server, timeline, sleep, token_expires_at=T0 + 25 * 60)
    sup = supervise(conn, collector, clock)
    sup.start()
    state = await asyncio.wait_for(sup.wait(), 10)

    live = [s for s in collector.states if s.status == "live"]
    assert live and all(s.risk == "warn" for s in live)
    assert live[0].risk_reasons == ("token_expiring",)
    assert live[0].to_dict()["token_expires_at"] == "2025-03-01T12:25:00+00:00"
    assert state.status == "failed" and "invalid_acceess_token" in state.last_error
    assert "authorise the shop again" in state.last_error.lower()


async def test_a_refused_refresh_token_leaves_the_expiry_on_the_panel(
    fake_server, collector, clock
):
    fake = FakeShopee(every(2, until=20))
    server = await fake_server(fake)
    timeline = Timeline(fake)
    sleep, parked, _ = polling(timeline, stop_after=3)
    conn = make(server, timeline, sleep, refresh_token="stale", token_expires_at=T0 + 5 * 60)
    sup = supervise(conn, collector, clock)
    sup.start()
    await asyncio.wait_for(parked.wait(), 10)
    state = sup.state
    await sup.stop()

    assert [b["refresh_token"] for b in fake.refresh_bodies] == ["stale"]  # tried once
    assert not conn.refreshable and state.status == "live"
    assert state.risk == "warn" and state.risk_reasons == ("token_expiring",)
    # polls at 0, 3 and 6 s still read with the old token
    assert [c.id for c in collector.comments] == ["9001", "9002", "9003"]


async def test_a_clock_off_by_more_than_five_minutes_is_named(fake_server, collector, clock):
    fake = FakeShopee([shopee_comment(1, at=0)])
    server = await fake_server(fake)
    timeline = Timeline(fake, skew=600)  # this computer is ten minutes ahead
    sleep, _, _ = polling(timeline, stop_after=1)
    sup = supervise(make(server, timeline, sleep), collector, clock)
    sup.start()
    state = await asyncio.wait_for(sup.wait(), 5)
    assert state.status == "failed" and "error_sign" in state.last_error
    assert "clock is 10 min ahead of Shopee's" in state.last_error
    assert "5 minutes" in state.last_error
