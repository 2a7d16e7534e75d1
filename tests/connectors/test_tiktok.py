"""TikTok connector: event mapping across TikTokLive versions, and run() without the library.

TikTokLive is an optional extra that is not installed in the test
environment; its events are built here as plain objects shaped like each
version's, and its client as a small fake with the same surface
(``add_listener``, ``start`` returning a task, ``disconnect``).
"""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace as NS

import pytest

from server.connectors import ConnectorError, Supervisor, build_connector
from server.connectors.tiktok import INSTALL_HINT, TikTokConnector, comment_from_event

pytestmark = pytest.mark.anyio

MS = 1_740_830_400_123  # 2025-03-01 12:00:00.123 UTC in milliseconds
TS = datetime(2025, 3, 1, 12, 0, 0, 123000, tzinfo=UTC)


# --- events shaped like each TikTokLive version ------------------------------


@dataclass
class CommonMessageData:  # 6.x (newer protobuf): event.base_message
    method: str = "WebcastChatMessage"
    message_id: int = 0
    room_id: int = 0
    create_time: int = 0


@dataclass
class User6:  # 6.x ExtendedUser: unique_id / nickname properties, display_id field
    id: int = 0
    nick_name: str = ""
    display_id: str = ""
    unique_id: str = ""
    nickname: str = ""


@dataclass
class CommentEvent6:
    base_message: CommonMessageData = field(default_factory=CommonMessageData)
    user: User6 = field(default_factory=User6)
    content: str = ""

    @property
    def comment(self) -> str:
        return self.content


def test_maps_current_v6_event():
    event = CommentEvent6(
        base_message=CommonMessageData(message_id=7350000000000000001, create_time=MS),
        user=User6(id=68, unique_id="lan.nguyen92", nickname="<b>Lan</b>"),
        content="A1 2kg nha chị",
    )
    c = comment_from_event(event)
    assert (c.platform, c.id, c.user, c.nickname, c.text, c.ts) == (
        "tiktok",
        "7350000000000000001",
        "lan.nguyen92",
        "<b>Lan</b>",
        "A1 2kg nha chị",
        TS,
    )


def test_maps_v6_event_with_only_proto_fields():
    # display_id is the @handle in the newer schema; nick_name the raw proto field;
    # no "comment" property: only "content"
    event = NS(
        base_message=CommonMessageData(message_id=42, create_time=MS),
        user_info=NS(id=68, display_id="hoamoclan", nick_name="Hoa Mộc Lan"),
        content="chốt 2",
    )
    c = comment_from_event(event)
    assert (c.id, c.user, c.nickname, c.text) == ("42", "hoamoclan", "Hoa Mộc Lan", "chốt 2")


def test_maps_early_v6_event_with_common_msg_id():
    event = NS(
        common=NS(msg_id=99, create_time=MS),
        user=NS(unique_id="tuan_bk", nickname="Tuấn"),
        comment="lấy 2 gói miến",
    )
    c = comment_from_event(event)
    assert (c.id, c.user, c.nickname, c.ts) == ("99", "tuan_bk", "Tuấn", TS)


def test_maps_v4_camel_case_event_and_hashes_a_missing_id():
    event = NS(user=NS(uniqueId="maianh.hn", nickname="Mai Anh"), comment="B2 x1", createTime=MS)
    c = comment_from_event(event)
    assert (c.user, c.nickname, c.text, c.ts) == ("maianh.hn", "Mai Anh", "B2 x1", TS)
    assert c.id.startswith("h") and len(c.id) == 21
    assert comment_from_event(event).id == c.id  # stable: the same event maps the same
    other = NS(user=NS(uniqueId="maianh.hn", nickname="Mai Anh"), comment="B2 x2", createTime=MS)
    assert comment_from_event(other).id != c.id


def test_protobuf_zero_defaults_count_as_missing():
    received = datetime(2025, 3, 1, 13, 0, tzinfo=UTC)
    event = CommentEvent6(user=User6(id=5, nick_name="Vy"), content="hi")  # ids and times 0
    c = comment_from_event(event, received_at=received)
    assert c.ts == received
    assert c.id.startswith("h")
    assert c.user == "5"  # no handle at all: fall back to the numeric id
    assert c.nickname == "Vy"


def test_seconds_timestamps_are_recognised():
    event = NS(msg_id=1, user=NS(unique_id="x"), comment="t", create_time=MS // 1000)
    assert comment_from_event(event).ts == datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


# --- run() ---------------------------------------------------------------------


async def test_missing_library_is_a_fatal_error_with_install_hint(collector, clock, monkeypatch):
    monkeypatch.setitem(sys.modules, "TikTokLive", None)  # import fails, installed or not
    sup = Supervisor(TikTokConnector("@seller"), collector.emit, sleep=clock.sleep, clock=clock)
    sup.start()
    state = await asyncio.wait_for(sup.wait(), 5)
    assert state.status == "failed"
    assert INSTALL_HINT in state.last_error
    assert clock.sleeps == []


class UserOfflineError(Exception):
    pass


class FakeClient:
    """Same surface as TikTokLiveClient: add_listener, start() -> task, disconnect()."""

    def __init__(self, unique_id: str, script) -> None:
        self.unique_id = unique_id
        self.script = script
        self.listeners: dict[type, list] = {}
        self.disconnected = False
        self.web = NS(closed=False)

        async def close() -> None:
            self.web.closed = True

        self.web.close = close

    def add_listener(self, event_type, handler) -> None:
        self.listeners.setdefault(event_type, []).append(handler)

    async def start(self):
        return asyncio.ensure_future(self.script(self))

    async def fire(self, event) -> None:
        for handler in self.listeners.get(type(event), []):
            await handler(event)

    async def disconnect(self) -> None:
        self.disconnected = True


async def test_run_emits_comments_and_reconnects_when_the_stream_drops(collector, clock):
    clients: list[FakeClient] = []

    async def session(client: FakeClient) -> None:
        n = len(clients)
        for i in range(2):
            event = CommentEvent6(
                base_message=CommonMessageData(message_id=n * 10 + i, create_time=MS),
                user=User6(unique_id=f"buyer{i}", nickname=f"B{i}"),
                content=f"chốt {i + 1}",
            )
            await client.fire(event)
        await asyncio.sleep(0)
        if n == 3:
            await asyncio.Event().wait()  # third connection stays up

    def factory(unique_id: str) -> FakeClient:
        client = FakeClient(unique_id, session)
        clients.append(client)
        return client

    conn = TikTokConnector("@seller", client_factory=factory, comment_event=CommentEvent6)
    sup = Supervisor(
        conn, collector.emit, on_state=collector.on_state, sleep=clock.sleep, clock=clock
    )
    sup.start()
    await collector.wait_for(lambda: len(collector.comments) >= 6)
    await sup.stop()
    assert [c.id for c in collector.comments] == ["10", "11", "20", "21", "30", "31"]
    assert clients[0].unique_id == "seller"
    assert all(c.disconnected and c.web.closed for c in clients)
    assert sup.state.gaps == 2 and "comments sent meanwhile are lost" in sup.state.last_gap
    errors = [s.last_error for s in collector.states if s.status == "backoff"]
    assert errors == ["TikTok LIVE @seller disconnected"] * 2


async def test_offline_creator_is_retried_not_fatal(collector, clock):
    attempts = []

    class OfflineClient(FakeClient):
        async def start(self):
            attempts.append(1)
            if len(attempts) < 3:
                raise UserOfflineError()
            return await super().start()

    async def idle(client):
        await asyncio.Event().wait()

    conn = TikTokConnector(
        "seller",
        client_factory=lambda uid: OfflineClient(uid, idle),
        comment_event=CommentEvent6,
    )
    sup = Supervisor(
        conn, collector.emit, on_state=collector.on_state, sleep=clock.sleep, clock=clock
    )
    sup.start()
    await collector.wait_for(lambda: sup.state.status == "live")
    await sup.stop()
    assert len(attempts) == 3
    assert "@seller is not live right now" in [
        s.last_error for s in collector.states if s.status == "backoff"
    ]


def test_build_connector_needs_a_handle():
    with pytest.raises(ConnectorError, match="tiktok connector needs: unique_id"):
        build_connector("tiktok")
    with pytest.raises(ConnectorError, match="@unique_id"):
        build_connector("tiktok", unique_id="  @ ")
    assert build_connector("tiktok", unique_id="@shop.hat.de").unique_id == "shop.hat.de"


def rate_limit_error(seconds: int) -> Exception:
    """The library's SignatureRateLimitError when installed, else one shaped like it."""
    if importlib.util.find_spec("TikTokLive") is not None:
        import warnings

        import httpx

        with warnings.catch_warnings():  # the library's websockets import is deprecated
            warnings.simplefilter("ignore", DeprecationWarning)
            from TikTokLive.client.errors import SignatureRateLimitError

        response = httpx.Response(429, headers={"RateLimit-Remaining": str(seconds)})
        return SignatureRateLimitError(None, "Sign API limit; retry in %s s", response=response)

    class SignatureRateLimitError(Exception):
        retry_after = seconds

    return SignatureRateLimitError()


async def test_sign_server_rate_limit_waits_retry_after_and_closes_the_client(collector, clock):
    clients: list[FakeClient] = []

    class LimitedClient(FakeClient):
        async def start(self):
            if len(clients) == 1:
                raise rate_limit_error(37)
            return await super().start()

    async def idle(client):
        await asyncio.Event().wait()

    def factory(uid: str) -> FakeClient:
        clients.append(LimitedClient(uid, idle))
        return clients[-1]

    conn = TikTokConnector("seller", client_factory=factory, comment_event=CommentEvent6)
    sup = Supervisor(
        conn, collector.emit, on_state=collector.on_state, sleep=clock.sleep, clock=clock
    )
    sup.start()
    await collector.wait_for(lambda: sup.state.status == "live")
    await sup.stop()
    assert clock.sleeps[0] >= 37
    assert clients[0].web.closed  # the failed attempt's HTTP client is closed too
    assert sup.state.rate_limits == 1
