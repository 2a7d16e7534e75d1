"""OBS recording follows the live session, over obs-websocket v5 (built into OBS 28+).

The protocol, as obs-websocket's docs describe it: the server greets with ``Hello``
(op 0, with ``authentication: {challenge, salt}`` when a password is set); the client
answers ``Identify`` (op 1) carrying
``base64(sha256(base64(sha256(password + salt)) + challenge))`` and the event
categories it wants; a wrong password closes the socket with 4009, a good one gets
``Identified`` (op 2). Then ``Request`` (op 6) / ``RequestResponse`` (op 7) and
``Event`` (op 5). JSON only (the ``obswebsocket.json`` subprotocol): msgpack would
need a new dependency and buys nothing for a handful of small messages.

:class:`ObsClient` is one identified connection. :class:`RecordingFollower` keeps one
alive (reconnecting with backoff, and sending ``GetRecordStatus`` every few seconds
because a dead TCP connection can look open), starts the recording when a session
starts and stops it when the session stops, and writes ``recording_started`` /
``recording_stopped`` (with the file's ``path``) into that session's event log, so
``chotdon clips --session N`` finds the recording by itself.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import itertools
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
from websockets.typing import Subprotocol

from chotdon.eventlog import EventType

from .connectors.base import backoff_delay
from .errors import Conflict, DomainError

__all__ = [
    "ObsAuthError",
    "ObsClient",
    "ObsError",
    "ObsRequestError",
    "ObsUnavailable",
    "RecordingFollower",
    "auth_string",
    "follower_for",
    "start_obs",
]

logger = logging.getLogger(__name__)

RPC_VERSION = 1
OP_HELLO, OP_IDENTIFY, OP_IDENTIFIED, OP_EVENT, OP_REQUEST, OP_RESPONSE = 0, 1, 2, 5, 6, 7
CLOSE_AUTH_FAILED = 4009
STATUS_OUTPUT_RUNNING = 500
STATUS_OUTPUT_NOT_RUNNING = 501
SUBSCRIBE_OUTPUTS = 1 << 6  # EventSubscription::Outputs, where RecordStateChanged lives
OUTPUT_STARTED = "OBS_WEBSOCKET_OUTPUT_STARTED"
OUTPUT_STOPPED = "OBS_WEBSOCKET_OUTPUT_STOPPED"
JSON_SUBPROTOCOL = Subprotocol("obswebsocket.json")

EventHandler = Callable[[str, dict[str, Any]], None]


class ObsError(Exception):
    """OBS cannot be reached, or the connection broke or misbehaved."""


class ObsAuthError(ObsError):
    """OBS refused the password (or wants one and none is set)."""


class ObsRequestError(ObsError):
    """OBS answered a request with a failure status."""

    def __init__(self, request_type: str, code: int, comment: str) -> None:
        self.request_type = request_type
        self.code = code
        self.comment = comment
        super().__init__(
            f"OBS refused {request_type} (code {code}{': ' + comment if comment else ''})"
        )


class ObsUnavailable(DomainError):
    status = 503


def auth_string(password: str, salt: str, challenge: str) -> str:
    """The ``authentication`` string of ``Identify`` for a ``Hello``'s salt and challenge."""
    secret = base64.b64encode(hashlib.sha256((password + salt).encode()).digest()).decode()
    return base64.b64encode(hashlib.sha256((secret + challenge).encode()).digest()).decode()


# -- one connection -----------------------------------------------------------------


class ObsClient:
    """An identified obs-websocket connection: requests by id, events to a callback."""

    def __init__(self, ws: ClientConnection, on_event: EventHandler | None = None) -> None:
        self._ws = ws
        self._on_event = on_event or (lambda _type, _data: None)
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._ids = itertools.count(1)
        self.closed = asyncio.Event()
        self._reader = asyncio.create_task(self._read(), name="obs-reader")

    @classmethod
    async def connect(
        cls,
        url: str,
        password: str = "",
        *,
        on_event: EventHandler | None = None,
        timeout: float = 5.0,
    ) -> ObsClient:
        """Open, identify (answering the password challenge) and subscribe to outputs."""
        try:
            # OBS is on this machine or the LAN: never through a proxy from the environment.
            ws = await connect(
                url,
                subprotocols=[JSON_SUBPROTOCOL],
                open_timeout=timeout,
                max_size=2**22,
                proxy=None,
            )
        except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as exc:
            raise ObsError(f"cannot reach OBS at {url}: {exc}") from None
        try:
            await _identify(ws, password, timeout)
        except BaseException:
            await ws.close()
            raise
        return cls(ws, on_event)

    async def request(
        self, request_type: str, data: dict[str, Any] | None = None, *, timeout: float = 5.0
    ) -> dict[str, Any]:
        """The ``responseData`` of a successful request; :class:`ObsRequestError` otherwise."""
        if self.closed.is_set():
            raise ObsError("the connection to OBS is closed")
        request_id = f"chotdon-{next(self._ids)}"
        body: dict[str, Any] = {"requestType": request_type, "requestId": request_id}
        if data:
            body["requestData"] = data
        waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = waiter
        try:
            await self._ws.send(json.dumps({"op": OP_REQUEST, "d": body}))
            async with asyncio.timeout(timeout):
                response = await waiter
        except TimeoutError:
            raise ObsError(f"OBS did not answer {request_type} within {timeout:g}s") from None
        except ConnectionClosed:
            raise ObsError("the connection to OBS closed") from None
        finally:
            self._pending.pop(request_id, None)
        status = response.get("requestStatus") or {}
        if not status.get("result"):
            code = int(status.get("code") or 0)
            raise ObsRequestError(request_type, code, str(status.get("comment") or ""))
        data_out = response.get("responseData")
        return data_out if isinstance(data_out, dict) else {}

    async def close(self) -> None:
        await self._ws.close()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader

    async def _read(self) -> None:
        try:
            async for text in self._ws:
                self._dispatch(text)
        except ConnectionClosed:
            pass
        finally:
            for waiter in self._pending.values():
                if not waiter.done():
                    waiter.set_exception(ObsError("the connection to OBS closed"))
            self.closed.set()

    def _dispatch(self, text: str | bytes) -> None:
        message = _decode(text)
        if message is None:
            logger.warning("ignoring a message from OBS that is not a JSON object")
            return
        op, data = message.get("op"), message.get("d")
        if not isinstance(data, dict):
            return
        if op == OP_RESPONSE:
            waiter = self._pending.get(str(data.get("requestId")))
            if waiter is not None and not waiter.done():
                waiter.set_result(data)
        elif op == OP_EVENT:
            event_data = data.get("eventData")
            self._on_event(
                str(data.get("eventType")), event_data if isinstance(event_data, dict) else {}
            )


def _decode(text: str | bytes) -> dict[str, Any] | None:
    try:
        message = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return message if isinstance(message, dict) else None


async def _identify(ws: ClientConnection, password: str, timeout: float) -> None:
    hello = await _expect(ws, OP_HELLO, timeout)
    identify: dict[str, Any] = {"rpcVersion": RPC_VERSION, "eventSubscriptions": SUBSCRIBE_OUTPUTS}
    challenge = hello.get("authentication")
    if isinstance(challenge, dict):
        if not password:
            raise ObsAuthError(
                "OBS asks for a password: set CHOTDON_OBS_PASSWORD to the one in OBS "
                "(Tools > WebSocket Server Settings)"
            )
        identify["authentication"] = auth_string(
            password, str(challenge.get("salt", "")), str(challenge.get("challenge", ""))
        )
    await ws.send(json.dumps({"op": OP_IDENTIFY, "d": identify}))
    await _expect(ws, OP_IDENTIFIED, timeout)


async def _expect(ws: ClientConnection, op: int, timeout: float) -> dict[str, Any]:
    try:
        async with asyncio.timeout(timeout):
            text = await ws.recv()
    except TimeoutError:
        raise ObsError(f"OBS sent nothing within {timeout:g}s (is this obs-websocket 5?)") from None
    except ConnectionClosed as exc:
        if exc.rcvd is not None and exc.rcvd.code == CLOSE_AUTH_FAILED:
            raise ObsAuthError(
                "OBS refused the password: CHOTDON_OBS_PASSWORD does not match the one in OBS "
                "(Tools > WebSocket Server Settings)"
            ) from None
        reason = f" (code {exc.rcvd.code}: {exc.rcvd.reason})" if exc.rcvd else ""
        raise ObsError(f"OBS closed the connection during the handshake{reason}") from None
    message = _decode(text)
    if message is None or message.get("op") != op or not isinstance(message.get("d"), dict):
        raise ObsError(f"unexpected message from OBS (wanted op {op}): {str(text)[:120]}")
    data: dict[str, Any] = message["d"]
    return data


# -- the follower -------------------------------------------------------------------


LogWriter = Callable[[int, str, str, dict[str, Any]], Awaitable[None]]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class _Logged:
    session_id: int
    type: str
    t: str
    data: dict[str, Any]


class RecordingFollower:
    """Keeps OBS's recording in step with the live session and logs what OBS confirms.

    Everything that changes state runs on the event loop without awaiting in between,
    so OBS events, the periodic check and helpers' buttons never interleave halfway.
    ``session`` returns the live session's id (or None); it is polled every
    ``poll_seconds`` and whenever :meth:`notify` is called.
    """

    def __init__(
        self,
        url: str,
        password: str,
        *,
        session: Callable[[], int | None],
        log: LogWriter,
        publish: Callable[[dict[str, Any]], None] | None = None,
        check_seconds: float = 3.0,
        request_timeout: float = 5.0,
        poll_seconds: float = 0.25,
        initial_backoff: float = 0.5,
        max_backoff: float = 30.0,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.url = url
        self._password = password
        self._session_of = session
        self._write = log
        self._publish = publish or (lambda _message: None)
        # Counts pushed changes, so a panel can drop a state older than one it has (a
        # button's reply computed before a push that reached the page first).
        self.version = 0
        self.check_seconds = check_seconds
        self.request_timeout = request_timeout
        self.poll_seconds = poll_seconds
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self._now = now
        # What OBS says.
        self.client: ObsClient | None = None
        self.recording = False
        self.recording_since: datetime | None = None
        self.output_path: str | None = None
        self.error: str | None = None
        self.connections = 0
        # What the log says and what the session wants.
        self.session: int | None = None
        self._open_in: int | None = None  # session whose recording_started has no stop yet
        self._want_start = False
        self._want_stop = False
        self._lost_once = False
        self._record_events = 0  # RecordStateChanged events seen, to spot stale answers
        self.logged: list[_Logged] = []
        self._writes: asyncio.Queue[_Logged] = asyncio.Queue()
        self._kick = asyncio.Event()  # wakes the connection loop
        self._look = asyncio.Event()  # wakes the session watcher
        self._change = asyncio.Event()
        self._closing: set[asyncio.Task[None]] = set()

    # -- public ---------------------------------------------------------------------

    @property
    def enabled(self) -> bool:
        return bool(self.url)

    @property
    def connected(self) -> bool:
        return self.client is not None and not self.client.closed.is_set()

    def view(self) -> dict[str, Any]:
        """What the panel shows (never the password)."""
        duration = None
        if self.recording and self.recording_since is not None:
            duration = round(max(0.0, (self._now() - self.recording_since).total_seconds()), 1)
        return {
            "enabled": self.enabled,
            "url": self.url,
            "connected": self.connected,
            "recording": self.recording,
            "duration": duration,
            "path": self.output_path,
            "error": self.error,
            "session": self.session,
            "version": self.version,
        }

    def notify(self) -> None:
        """The live session may have changed: look now rather than at the next poll."""
        self._look.set()

    def configure(self, url: str, password: str) -> None:
        """New settings (the setup page): drop the connection and reconnect with them."""
        self.url, self._password = url, password
        self.error = None
        self._look.set()
        client = self.client
        if client is not None:
            task = asyncio.get_running_loop().create_task(client.close())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
        self._kick.set()
        self._changed()

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Until ``predicate()`` holds after some change (tests, and callers that need it)."""
        async with asyncio.timeout(timeout):
            while not predicate():
                await self._change.wait()

    async def start_recording(self) -> dict[str, Any]:
        """A helper's button: start recording now."""
        client = self._client_or_raise()
        try:
            await client.request("StartRecord", timeout=self.request_timeout)
        except ObsRequestError as exc:
            if exc.code == STATUS_OUTPUT_RUNNING:
                raise Conflict("OBS is already recording") from None
            raise Conflict(str(exc)) from None
        except ObsError as exc:
            raise ObsUnavailable(str(exc)) from None
        return self.view()

    async def stop_recording(self) -> dict[str, Any]:
        """A helper's button: stop recording now (the path lands in the session's log)."""
        client = self._client_or_raise()
        try:
            await self._stop(client, quiet=False)
        except ObsRequestError as exc:
            if exc.code == STATUS_OUTPUT_NOT_RUNNING:
                raise Conflict("OBS is not recording") from None
            raise Conflict(str(exc)) from None
        except ObsError as exc:
            raise ObsUnavailable(str(exc)) from None
        return self.view()

    async def run(self) -> None:
        """Until cancelled: follow sessions, stay connected, write the log."""
        tasks = [
            asyncio.create_task(self._watch_sessions(), name="obs-sessions"),
            asyncio.create_task(self._writer(), name="obs-log"),
        ]
        try:
            await self._connect_forever()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if self.client is not None:
                await self.client.close()

    # -- connection -----------------------------------------------------------------

    def _client_or_raise(self) -> ObsClient:
        if not self.enabled:
            raise ObsUnavailable("OBS is not set up (CHOTDON_OBS_URL)")
        client = self.client
        if client is None or client.closed.is_set():
            raise ObsUnavailable(f"OBS is not connected ({self.error or self.url})")
        return client

    async def _connect_forever(self) -> None:
        failures = 0
        while True:
            if not self.enabled:
                await self._wait_kick(None)
                continue
            url = self.url
            try:
                client = await ObsClient.connect(
                    url, self._password, on_event=self._on_event, timeout=self.request_timeout
                )
            except ObsError as exc:
                failures += 1
                self._fail(exc, auth=isinstance(exc, ObsAuthError))
                await self._wait_kick(self._backoff(failures, isinstance(exc, ObsAuthError)))
                continue
            failures = 0
            await self._serve(client)
            # A connection that worked and broke: retry soon, but never in a tight loop.
            failures = 1
            await self._wait_kick(self._backoff(failures, False))

    async def _serve(self, client: ObsClient) -> None:
        self.client = client
        self.connections += 1
        self.error = None
        logger.info("connected to OBS at %s", self.url)
        self._changed()
        try:
            while not client.closed.is_set():
                await self._reconcile(client)
                await self._wait_kick(self.check_seconds, client.closed)
        except ObsError as exc:
            self._fail(exc)
        finally:
            self.client = None
            await client.close()
            self._changed()

    def _fail(self, exc: ObsError, *, auth: bool = False) -> None:
        if str(exc) != self.error:
            (logger.error if auth else logger.warning)("OBS: %s", exc)
        self.error = str(exc)
        self._changed()

    def _backoff(self, failures: int, auth: bool) -> float:
        # A wrong password stays wrong until someone changes it: retry slowly.
        initial = self.max_backoff if auth else self.initial_backoff
        return backoff_delay(failures, initial, self.max_backoff)

    async def _wait_kick(self, seconds: float | None, closed: asyncio.Event | None = None) -> None:
        waits = [asyncio.ensure_future(self._kick.wait())]
        if closed is not None:
            waits.append(asyncio.ensure_future(closed.wait()))
        try:
            await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waits:
                waiter.cancel()
        self._kick.clear()

    # -- keeping OBS in step ----------------------------------------------------------

    async def _reconcile(self, client: ObsClient) -> None:
        """Check liveness and OBS's state, then do what the session asked for."""
        events_before = self._record_events
        status = await client.request("GetRecordStatus", timeout=self.request_timeout)
        if self._record_events != events_before:
            # A RecordStateChanged came in while we waited: it is newer than the answer.
            active = self.recording
        elif active := bool(status.get("outputActive")):
            self._lost_once = False
            self._seen_active(status.get("outputDuration"))
        else:
            self._seen_inactive()
        try:
            if self._want_stop:
                self._want_stop = False
                if active and self._open_in is not None:
                    await self._stop(client, quiet=True)
                    active = False
            if self._want_start:
                self._want_start = False
                if not active:
                    await self._start(client)
        except ObsRequestError as exc:
            self.error = str(exc)
            logger.warning("OBS: %s", exc)
            self._changed()

    async def _start(self, client: ObsClient) -> None:
        try:
            await client.request("StartRecord", timeout=self.request_timeout)
        except ObsRequestError as exc:
            if exc.code != STATUS_OUTPUT_RUNNING:
                raise
            # Someone pressed Start in OBS meanwhile: adopt that recording.
            status = await client.request("GetRecordStatus", timeout=self.request_timeout)
            self._seen_active(status.get("outputDuration"))

    async def _stop(self, client: ObsClient, *, quiet: bool) -> None:
        try:
            response = await client.request("StopRecord", timeout=self.request_timeout)
        except ObsRequestError as exc:
            if exc.code != STATUS_OUTPUT_NOT_RUNNING or not quiet:
                raise
            self._seen_stopped(None)
            return
        path = response.get("outputPath")
        self._seen_stopped(path if isinstance(path, str) else None)

    def _on_event(self, event_type: str, data: dict[str, Any]) -> None:
        if event_type != "RecordStateChanged":
            return
        self._record_events += 1
        path = data.get("outputPath")
        path = path if isinstance(path, str) and path else None
        state = data.get("outputState")
        if state == OUTPUT_STARTED:
            self._seen_active(None, path)
        elif state == OUTPUT_STOPPED:
            self._seen_stopped(path)

    def _seen_active(self, duration_ms: object, path: str | None = None) -> None:
        now = self._now()
        changed = not self.recording
        if not self.recording:
            self.recording = True
            elapsed = float(duration_ms) / 1000 if isinstance(duration_ms, int | float) else 0.0
            self.recording_since = now - timedelta(seconds=elapsed)
        if path:
            self.output_path = path
        if self._open_in is None and self.session is not None:
            self._open_in = self.session
            data: dict[str, Any] = {"path": path} if path else {}
            if isinstance(duration_ms, int | float) and self.recording_since is not None:
                # OBS was recording before we looked (adopted): when it really began.
                data["started_at"] = _iso(self.recording_since)
            self._log(self.session, EventType.RECORDING_STARTED, now, data)
        elif changed:
            self._changed()

    def _seen_stopped(self, path: str | None) -> None:
        self.recording = False
        self.recording_since = None
        self._lost_once = False
        if path:
            self.output_path = path
        if self._open_in is not None:
            session, self._open_in = self._open_in, None
            self._log(session, EventType.RECORDING_STOPPED, self._now(), {"path": path})
        else:
            self._changed()

    def _seen_inactive(self) -> None:
        """GetRecordStatus says nothing records. If we logged a start, the stop event
        (with the path) may still be on its way: wait one more check for it. If it
        never comes, the recording was lost (OBS crashed or restarted while we were
        away): log its end, and record again if the session is still live."""
        if self._open_in is not None and not self._lost_once:
            self._lost_once = True
            return
        lost = self._open_in is not None
        if lost or self.recording:
            self._seen_stopped(None)
        if lost and self.session is not None:
            logger.warning("OBS lost the recording of session %d: recording again", self.session)
            self._want_start = True

    # -- the session and the log ------------------------------------------------------

    async def _watch_sessions(self) -> None:
        while True:
            if not self.enabled:  # nothing to follow until configure() gives a URL
                await self._look.wait()
                self._look.clear()
                continue
            current = self._session_of()
            if current != self.session:
                previous, self.session = self.session, current
                logger.info("live session %s -> %s: OBS recording follows", previous, current)
                if previous is not None:
                    self._want_stop, self._want_start = True, False
                if current is not None:
                    self._want_start = True
                self._kick.set()
                self._changed()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_seconds):
                    await self._look.wait()
            self._look.clear()

    def _log(self, session_id: int, type_: str, moment: datetime, data: dict[str, Any]) -> None:
        self._writes.put_nowait(_Logged(session_id, str(type_), _iso(moment), data))
        self._changed()

    async def _writer(self) -> None:
        while True:
            entry = await self._writes.get()
            if not await self._write_once(entry):
                continue
            self.logged.append(entry)
            logger.info("session %d: %s %s", entry.session_id, entry.type, entry.data)
            self._changed()

    async def _write_once(self, entry: _Logged, attempts: int = 5) -> bool:
        # The database may be busy past its timeout under a burst of comments: the
        # recording's path is worth a few more tries.
        for attempt in range(1, attempts + 1):
            try:
                await self._write(entry.session_id, entry.type, entry.t, entry.data)
                return True
            except Exception:
                if attempt == attempts:
                    logger.exception(
                        "could not log %s for session %d", entry.type, entry.session_id
                    )
                    return False
                await asyncio.sleep(attempt)
        return False

    def _changed(self) -> None:
        self.version += 1
        self._publish({"type": "obs", "t": _iso(self._now()), "state": self.view()})
        change, self._change = self._change, asyncio.Event()
        change.set()


# -- wiring -------------------------------------------------------------------------


class _Context(Protocol):
    """What :func:`start_obs` uses of the app context."""

    settings: Any
    engine: Any
    hub: Any
    live: Any
    tasks: list[asyncio.Task[Any]]


_FOLLOWERS: dict[int, RecordingFollower] = {}


def follower_for(ctx: object) -> RecordingFollower | None:
    """The running follower of an app (None before start-up)."""
    return _FOLLOWERS.get(id(ctx))


def start_obs(ctx: _Context) -> RecordingFollower:
    """Start the follower for an app; runs (idle when no URL is set) until shutdown."""
    from .events import append_event

    async def log(session_id: int, type_: str, t: str, data: dict[str, Any]) -> None:
        # In the one writer thread, like every other write (server.db.Writer).
        await ctx.live.writer.write(lambda conn: append_event(conn, session_id, type_, t=t, **data))

    def session() -> int | None:
        current = ctx.live.session
        return int(current["id"]) if current else None

    def publish(message: dict[str, Any]) -> None:
        ctx.hub.publish(message, roles=("panel",))

    follower = RecordingFollower(
        ctx.settings.obs_url,
        ctx.settings.obs_password,
        session=session,
        log=log,
        publish=publish,
    )
    key = id(ctx)
    _FOLLOWERS[key] = follower

    async def keep() -> None:
        try:
            await follower.run()
        finally:
            if _FOLLOWERS.get(key) is follower:
                del _FOLLOWERS[key]

    ctx.tasks.append(asyncio.create_task(keep(), name="obs"))
    return follower
