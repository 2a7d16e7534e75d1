"""Supervisor: restarts, backoff, states, and the heartbeat convention."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from server.comments import CommentIn
from server.connectors.base import ConnectorError, SeenIds, Supervisor

pytestmark = pytest.mark.anyio

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def comment(n: int) -> CommentIn:
    return CommentIn(platform="sim", id=f"c{n}", user=f"u{n}", text=f"chốt {n}")


class Flaky:
    """Fails ``failures`` times (with ``error``), then emits ``batches`` and idles."""

    name = "flaky"

    def __init__(self, failures: int, error: Exception | None = None, batches=()) -> None:
        self.failures = failures
        self.error = error or ConnectorError("connection reset")
        self.batches = list(batches)
        self.runs = 0
        self.idle = asyncio.Event()

    async def run(self, emit):
        self.runs += 1
        if self.runs <= self.failures:
            raise self.error
        await emit([])
        for batch in self.batches:
            await emit(batch)
        self.idle.set()
        await asyncio.Event().wait()  # until cancelled


def make(connector, collector, clock, **kw) -> Supervisor:
    kw.setdefault("rng", lambda: 1.0)
    return Supervisor(
        connector,
        collector.emit,
        on_state=collector.on_state,
        sleep=clock.sleep,
        clock=clock,
        now=lambda: T0 + timedelta(seconds=clock.now),
        **kw,
    )


async def test_restarts_with_doubling_backoff_capped_then_goes_live(collector, clock):
    flaky = Flaky(failures=5, batches=[[comment(1), comment(2)]])
    sup = make(flaky, collector, clock, initial_backoff=1, max_backoff=10)
    assert sup.state.status == "idle"
    sup.start()
    await asyncio.wait_for(flaky.idle.wait(), 5)

    assert clock.sleeps == [1, 2, 4, 8, 10]
    assert sup.state.status == "live"
    assert sup.state.comments == 2
    assert sup.state.restarts == 5
    assert sup.state.last_error == "connection reset"
    assert [c.id for c in collector.comments] == ["c1", "c2"]
    assert [] not in collector.batches  # heartbeats are never forwarded
    assert collector.statuses[:3] == ["connecting", "backoff", "connecting"]
    backoff = next(s for s in collector.states if s.status == "backoff")
    assert backoff.retry_at == backoff.since + timedelta(seconds=1)
    await sup.stop()
    assert sup.state.status == "stopped"
    assert collector.states[-1].status == "stopped"


async def test_jitter_stays_between_half_and_full_delay(collector, clock):
    sup = make(Flaky(0), collector, clock, initial_backoff=2, max_backoff=100, rng=lambda: 0.0)
    assert sup.backoff_delay(1) == 1.0
    assert sup.backoff_delay(3) == 4.0
    sup_full = make(Flaky(0), collector, clock, initial_backoff=2, max_backoff=100)
    assert sup_full.backoff_delay(3) == 8.0
    assert sup_full.backoff_delay(30) == 100.0


async def test_fatal_error_fails_without_retrying(collector, clock):
    flaky = Flaky(failures=1, error=ConnectorError("token revoked", fatal=True))
    sup = make(flaky, collector, clock)
    sup.start()
    state = await asyncio.wait_for(sup.wait(), 5)
    assert state.status == "failed"
    assert state.last_error == "token revoked"
    assert state.retry_at is None
    assert clock.sleeps == []
    assert flaky.runs == 1
    await sup.stop()
    assert sup.state.status == "failed"  # stop() keeps the failure visible


async def test_retry_after_is_honoured_when_longer_than_backoff(collector, clock):
    flaky = Flaky(failures=1, error=ConnectorError("rate limited", retry_after=42))
    sup = make(flaky, collector, clock, initial_backoff=1)
    sup.start()
    await asyncio.wait_for(flaky.idle.wait(), 5)
    assert clock.sleeps == [42]
    await sup.stop()


async def test_unexpected_exception_is_retried_and_named(collector, clock):
    flaky = Flaky(failures=1, error=RuntimeError("boom"))
    sup = make(flaky, collector, clock)
    sup.start()
    await asyncio.wait_for(flaky.idle.wait(), 5)
    assert any(s.last_error == "RuntimeError: boom" for s in collector.states)
    await sup.stop()


class LiveThenFail:
    """Goes live, stays live for ``live_for`` clock seconds, then fails; forever."""

    name = "ltf"

    def __init__(self, clock, live_for: list[float]) -> None:
        self.clock = clock
        self.live_for = live_for
        self.done = asyncio.Event()

    async def run(self, emit):
        if not self.live_for:
            self.done.set()
            await asyncio.Event().wait()
        await emit([])
        self.clock.now += self.live_for.pop(0)
        raise ConnectorError("dropped")


async def test_backoff_resets_after_a_healthy_period(collector, clock):
    conn = LiveThenFail(clock, live_for=[0, 0, 0, 120, 0])
    sup = make(conn, collector, clock, initial_backoff=1, max_backoff=60, reset_after=60)
    sup.start()
    await asyncio.wait_for(conn.done.wait(), 5)
    # three quick failures double; a two-minute healthy run resets to 1 s
    assert clock.sleeps == [1, 2, 4, 1, 2]
    await sup.stop()


async def test_connector_that_finishes_is_stopped(collector, clock):
    class Once:
        name = "once"

        async def run(self, emit):
            await emit([comment(1)])

    sup = make(Once(), collector, clock)
    sup.start()
    state = await asyncio.wait_for(sup.wait(), 5)
    assert state.status == "stopped"
    assert state.comments == 1
    # the second "live" is the comment count changing
    assert collector.statuses == ["connecting", "live", "live", "stopped"]
    assert [s.comments for s in collector.states] == [0, 0, 1, 1]


async def test_failing_emit_restarts_the_connector(clock):
    calls = []

    async def emit(batch):
        calls.append(batch)
        if len(calls) == 1:
            raise OSError("disk full")

    flaky = Flaky(0, batches=[[comment(1)]])
    sup = Supervisor(flaky, emit, sleep=clock.sleep, clock=clock, rng=lambda: 1.0)
    sup.start()
    await asyncio.wait_for(flaky.idle.wait(), 5)
    assert flaky.runs == 2
    assert len(calls) == 2  # re-sent after the restart
    assert sup.state.comments == 1
    await sup.stop()


async def test_on_state_errors_do_not_stop_the_connector(clock):
    def broken(state):
        raise ValueError("panel bug")

    async def emit(batch):
        pass

    flaky = Flaky(0, batches=[[comment(1)]])
    sup = Supervisor(flaky, emit, on_state=broken, sleep=clock.sleep, clock=clock)
    sup.start()
    await asyncio.wait_for(flaky.idle.wait(), 5)
    assert sup.state.status == "live"
    assert sup.state.comments == 1
    await sup.stop()


async def test_async_on_state_is_awaited(clock):
    seen = []

    async def on_state(state):
        await asyncio.sleep(0)
        seen.append(state.status)

    async def emit(batch):
        pass

    flaky = Flaky(0)
    sup = Supervisor(flaky, emit, on_state=on_state, sleep=clock.sleep, clock=clock)
    sup.start()
    await asyncio.wait_for(flaky.idle.wait(), 5)
    await sup.stop()
    assert seen == ["connecting", "live", "stopped"]


async def test_state_snapshot_serialises(collector, clock):
    sup = make(Flaky(0), collector, clock)
    data = sup.state.to_dict()
    assert data["name"] == "flaky"
    assert data["status"] == "idle"
    assert data["since"].startswith("2025-03-01T12:")
    assert data["retry_at"] is None


def test_rejects_nonsense_backoff():
    async def emit(batch):
        pass

    with pytest.raises(ValueError):
        Supervisor(Flaky(0), emit, initial_backoff=0)
    with pytest.raises(ValueError):
        Supervisor(Flaky(0), emit, initial_backoff=5, max_backoff=1)


def test_seen_ids_forget_oldest_first():
    seen = SeenIds(maxlen=3)
    assert [seen.add(x) for x in "abca"] == [True, True, True, False]
    seen.add("d")  # evicts "a"
    assert "a" not in seen
    assert "b" in seen and "d" in seen
    assert len(seen) == 3
    assert seen.add("a") is True


async def test_state_reports_the_risk_of_missed_comments(collector, clock):
    from server.connectors import Health

    class Risky(Flaky):
        def __init__(self) -> None:
            super().__init__(failures=1, error=ConnectorError("slow down", retry_after=30))
            self.health = Health()
            self.health.token_expires_at = T0 + timedelta(seconds=clock.now + 600)

        async def run(self, emit):
            if self.runs == 1:
                self.health.gap("stream dropped", at=T0 + timedelta(seconds=clock.now))
            await super().run(emit)

    risky = Risky()
    risky.batches = [[comment(1)]]
    sup = make(risky, collector, clock)
    sup.start()
    await asyncio.wait_for(risky.idle.wait(), 5)
    backoff = next(s for s in collector.states if s.status == "backoff")
    assert backoff.risk == "high"
    assert backoff.risk_reasons == ("offline", "rate_limited", "token_expiring")
    state = sup.state
    assert state.rate_limits == 1 and state.rate_limited_until == backoff.retry_at
    assert state.gaps == 1 and state.last_gap == "stream dropped"
    assert state.last_comment_at is not None
    assert state.risk == "warn" and state.risk_reasons == ("token_expiring", "gap")
    data = state.to_dict()
    assert data["risk_reasons"] == ["token_expiring", "gap"]
    assert data["token_expires_at"] == state.token_expires_at.isoformat()
    assert data["last_gap_at"] is not None and data["rate_limited_until"] is not None
    await sup.stop()
