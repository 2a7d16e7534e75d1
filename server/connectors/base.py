"""What every connector shares: the contract, its error, and the supervisor.

A connector turns one platform's comment stream into :class:`CommentIn` batches
and hands them to an ``emit`` callback. It runs until cancelled and raises on
failure; it does not retry by itself. Retrying is the :class:`Supervisor`'s job,
so every platform gets the same backoff, the same states on the panel, and the
same rule for what counts as "healthy".

Calling ``emit([])`` (an empty batch) is a heartbeat: it tells the supervisor
the connector is connected and working even when nobody is commenting. The
supervisor never forwards empty batches. Connectors keep their position (a
cursor, the ids already seen) on the instance, so a restart resumes instead of
replaying.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol, runtime_checkable

from server.comments import CommentIn

__all__ = [
    "RISK_GAP_WINDOW",
    "TOKEN_WARNING",
    "Connector",
    "ConnectorError",
    "ConnectorState",
    "Emit",
    "Health",
    "Risk",
    "SeenIds",
    "Sleep",
    "Status",
    "Supervisor",
    "assess",
    "backoff_delay",
    "utcnow",
]

log = logging.getLogger(__name__)

Emit = Callable[[Sequence[CommentIn]], Awaitable[None]]
Sleep = Callable[[float], Awaitable[None]]
Status = Literal["idle", "connecting", "live", "backoff", "stopped", "failed"]
Risk = Literal["ok", "warn", "high"]
OnState = Callable[["ConnectorState"], Any]


def utcnow() -> datetime:
    return datetime.now(UTC)


# A gap this recent still makes the panel warn; a token this close to expiry too.
RISK_GAP_WINDOW = timedelta(minutes=10)
TOKEN_WARNING = timedelta(minutes=30)


class Health:
    """What a connector knows about comments it may have missed.

    A connector keeps one as ``self.health``; the supervisor copies it into the
    state the panel shows. A *gap* is a stretch of time whose comments the
    platform will not give us again (a dropped TikTok stream, a Shopee outage
    longer than its ten-second window, more Facebook pages than we read).
    """

    def __init__(self) -> None:
        self.gaps = 0
        self.last_gap: str | None = None
        self.last_gap_at: datetime | None = None
        self.token_expires_at: datetime | None = None

    def gap(self, reason: str, at: datetime | None = None) -> None:
        """Record that comments may have been missed, and why."""
        self.gaps += 1
        self.last_gap = reason
        self.last_gap_at = at or utcnow()
        log.warning("possible missed comments: %s", reason)

    def fields(self) -> dict[str, Any]:
        return {
            "gaps": self.gaps,
            "last_gap": self.last_gap,
            "last_gap_at": self.last_gap_at,
            "token_expires_at": self.token_expires_at,
        }


class ConnectorError(Exception):
    """A connector could not do its job.

    ``fatal`` marks what retrying cannot fix (a revoked token, a wrong key, a
    missing library): the supervisor stops and shows the message instead.
    ``retry_after`` is a wait the platform asked for (rate limits), in seconds.
    """

    def __init__(self, message: str, *, fatal: bool = False, retry_after: float | None = None):
        super().__init__(message)
        self.fatal = fatal
        self.retry_after = retry_after


@runtime_checkable
class Connector(Protocol):
    """One platform's comment stream."""

    name: str

    async def run(self, emit: Emit) -> None:
        """Emit comment batches until cancelled; raise :class:`ConnectorError` on failure."""
        ...


_TIMES = (
    "since",
    "retry_at",
    "last_comment_at",
    "last_gap_at",
    "rate_limited_until",
    "token_expires_at",
)


@dataclass(frozen=True, slots=True)
class ConnectorState:
    """A snapshot of one supervised connector, as the panel shows it.

    The second half is the risk of missed comments: ``gaps`` (stretches the
    platform will not replay, the latest in ``last_gap``/``last_gap_at``),
    ``rate_limits`` hit and ``rate_limited_until``, ``token_expires_at``,
    ``last_comment_at``, summed up as ``risk`` (``ok``/``warn``/``high``) with
    the ``risk_reasons`` behind it (``offline``, ``failed``, ``rate_limited``,
    ``token_expired``, ``token_expiring``, ``gap``).
    """

    name: str
    status: Status = "idle"
    last_error: str | None = None
    comments: int = 0
    since: datetime | None = None
    retry_at: datetime | None = None
    restarts: int = 0
    last_comment_at: datetime | None = None
    gaps: int = 0
    last_gap: str | None = None
    last_gap_at: datetime | None = None
    rate_limits: int = 0
    rate_limited_until: datetime | None = None
    token_expires_at: datetime | None = None
    risk: Risk = "ok"
    risk_reasons: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in _TIMES:
            value = data[key]
            data[key] = value.isoformat() if value is not None else None
        data["risk_reasons"] = list(self.risk_reasons)
        return data


def assess(state: ConnectorState, now: datetime) -> tuple[Risk, tuple[str, ...]]:
    """How likely ``state``'s connector is to be missing comments right now, and why."""
    high: list[str] = []
    warn: list[str] = []
    if state.status == "failed":
        high.append("failed")
    elif state.status in ("backoff", "connecting") and state.restarts:
        high.append("offline")
    if state.rate_limited_until is not None and state.rate_limited_until > now:
        high.append("rate_limited")
    if state.token_expires_at is not None:
        if state.token_expires_at <= now:
            high.append("token_expired")
        elif state.token_expires_at - now <= TOKEN_WARNING:
            warn.append("token_expiring")
    if state.last_gap_at is not None and now - state.last_gap_at <= RISK_GAP_WINDOW:
        warn.append("gap")
    level: Risk = "high" if high else "warn" if warn else "ok"
    return level, tuple(high + warn)


class SeenIds:
    """A bounded set of recent ids: polling APIs repeat themselves.

    Keeps the newest ``maxlen`` ids; older ones are forgotten in arrival order,
    so memory stays flat over a four-hour live.
    """

    def __init__(self, maxlen: int = 5000) -> None:
        if maxlen < 1:
            raise ValueError("maxlen must be at least 1")
        self._order: deque[str] = deque()
        self._set: set[str] = set()
        self._maxlen = maxlen

    def add(self, item: str) -> bool:
        """Remember ``item``; return False if it was already there."""
        if item in self._set:
            return False
        self._order.append(item)
        self._set.add(item)
        if len(self._order) > self._maxlen:
            self._set.discard(self._order.popleft())
        return True

    def __contains__(self, item: object) -> bool:
        return item in self._set

    def __len__(self) -> int:
        return len(self._order)


def backoff_delay(
    failures: int, initial: float, maximum: float, rng: Callable[[], float] = random.random
) -> float:
    """Exponential backoff after ``failures`` consecutive failures (1-based), capped at
    ``maximum`` and jittered to 50-100 %, so clients that failed together spread out."""
    exponent = min(max(0, failures - 1), 60)  # a days-long outage must not overflow
    return min(maximum, initial * 2.0**exponent) * (0.5 + 0.5 * rng())


class Supervisor:
    """Runs one connector as an asyncio task and restarts it when it fails.

    Backoff doubles from ``initial_backoff`` up to ``max_backoff`` with jitter
    (each delay is drawn between half and all of the nominal value, so many
    helpers' laptops reconnecting at once do not stampede a platform). A run
    that stayed live for ``reset_after`` seconds counts as healthy and resets
    the doubling. ``sleep``, ``clock``, ``now`` and ``rng`` are injectable so
    tests never wait.
    """

    def __init__(
        self,
        connector: Connector,
        emit: Emit,
        *,
        on_state: OnState | None = None,
        initial_backoff: float = 1.0,
        max_backoff: float = 60.0,
        reset_after: float = 60.0,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = utcnow,
        rng: Callable[[], float] = random.random,
    ) -> None:
        if initial_backoff <= 0 or max_backoff < initial_backoff:
            raise ValueError("need 0 < initial_backoff <= max_backoff")
        self.connector = connector
        self._emit = emit
        self._on_state = on_state
        self._initial = initial_backoff
        self._max = max_backoff
        self._reset_after = reset_after
        self._sleep = sleep
        self._clock = clock
        self._now = now
        self._rng = rng
        self._state = ConnectorState(name=connector.name, since=now())
        self._task: asyncio.Task[None] | None = None
        self._failures = 0
        self._live_since: float | None = None

    @property
    def state(self) -> ConnectorState:
        return self._state

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start the connector in the running event loop (no-op if already running)."""
        if self.running:
            return
        self._task = asyncio.get_running_loop().create_task(
            self._main(), name=f"connector:{self.connector.name}"
        )

    async def stop(self) -> None:
        """Cancel the connector and wait for it to finish; the state becomes "stopped"."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._state.status != "failed":
            await self._set(status="stopped", retry_at=None)

    async def wait(self) -> ConnectorState:
        """Wait until the connector ends by itself (finished or failed)."""
        if self._task is not None:
            await asyncio.shield(self._task)
        return self._state

    def backoff_delay(self, failures: int) -> float:
        """The jittered wait after ``failures`` consecutive failures (1-based)."""
        return backoff_delay(failures, self._initial, self._max, self._rng)

    async def _main(self) -> None:
        while True:
            await self._set(status="connecting", retry_at=None)
            self._live_since = None
            try:
                await self.connector.run(self._guarded_emit)
            except asyncio.CancelledError:
                raise
            except ConnectorError as exc:
                if exc.fatal:
                    log.error("connector %s failed: %s", self.connector.name, exc)
                    await self._set(status="failed", last_error=str(exc), retry_at=None)
                    return
                await self._back_off(str(exc), exc.retry_after)
            except Exception as exc:  # a bug or an unexpected library error: retry
                log.exception("connector %s crashed", self.connector.name)
                await self._back_off(f"{type(exc).__name__}: {exc}", None)
            else:
                await self._set(status="stopped", retry_at=None)
                return

    async def _back_off(self, message: str, retry_after: float | None) -> None:
        if self._live_since is not None and self._clock() - self._live_since >= self._reset_after:
            self._failures = 0
        self._failures += 1
        delay = self.backoff_delay(self._failures)
        if retry_after is not None:
            delay = max(delay, retry_after)
        log.warning("connector %s: %s; retrying in %.1f s", self.connector.name, message, delay)
        retry_at = self._now() + timedelta(seconds=delay)
        limited: dict[str, Any] = {}
        if retry_after is not None:  # the platform asked us to wait: a rate limit
            limited = {"rate_limits": self._state.rate_limits + 1, "rate_limited_until": retry_at}
        await self._set(
            status="backoff",
            last_error=message,
            retry_at=retry_at,
            restarts=self._state.restarts + 1,
            **limited,
        )
        await self._sleep(delay)

    async def _guarded_emit(self, batch: Sequence[CommentIn]) -> None:
        if self._state.status != "live":
            self._live_since = self._clock()
            await self._set(status="live", retry_at=None)
        if not batch:
            await self._set()  # a heartbeat re-reads the connector's health
            return
        await self._emit(batch)
        await self._set(comments=self._state.comments + len(batch), last_comment_at=self._now())

    async def _set(self, **changes: Any) -> None:
        now = self._now()
        if changes.get("status", self._state.status) != self._state.status:
            changes["since"] = now  # "since" is when the current status began
        health = getattr(self.connector, "health", None)
        if isinstance(health, Health):
            changes = {**health.fields(), **changes}
        new = replace(self._state, **changes)
        risk, reasons = assess(new, now)
        new = replace(new, risk=risk, risk_reasons=reasons)
        if new == self._state:
            return
        self._state = new
        if self._on_state is None:
            return
        try:
            result = self._on_state(new)
            if inspect.isawaitable(result):
                await result
        except Exception:  # the panel must never take a connector down
            log.exception("on_state callback failed for %s", self.connector.name)
