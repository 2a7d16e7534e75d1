"""A fake obs-websocket v5 server on loopback that enforces the documented protocol.

What it checks, as obs-websocket does: ``Hello`` first (with ``authentication``
``{challenge, salt}`` when a password is set); nothing but ``Identify`` before
``Identified`` (else close 4007 NotIdentified); a missing or wrong authentication
string closes with 4009 AuthenticationFailed; a second ``Identify`` closes 4008;
requests need ``requestType`` and ``requestId`` (else 4003). It answers
``GetRecordStatus``, ``StartRecord`` (500 OutputRunning when already recording) and
``StopRecord`` (501 OutputNotRunning when not; ``outputPath`` when it stops), and sends
``RecordStateChanged`` only to clients subscribed to Outputs (1 << 6).

Test knobs: ``mute`` (stop answering requests, as a connection that died silently),
``press_record()`` (someone starts recording in OBS itself), ``requests`` (every
request type received, in order), ``identified`` (successful identifications).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import time
from collections.abc import Sequence
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

JSON = Subprotocol("obswebsocket.json")
SUBSCRIBE_OUTPUTS = 1 << 6
SUBSCRIBE_ALL = (1 << 11) - 1  # General .. Ui: the default when Identify omits it


def expected_auth(password: str, salt: str, challenge: str) -> str:
    """Computed here independently of server.obs, from the protocol's description."""
    secret = base64.b64encode(hashlib.sha256(f"{password}{salt}".encode()).digest())
    return base64.b64encode(hashlib.sha256(secret + challenge.encode()).digest()).decode()


def _json_or_default(_ws: ServerConnection, offered: Sequence[Subprotocol]) -> Subprotocol | None:
    return JSON if JSON in offered else None


class FakeObs:
    def __init__(self, password: str = "", *, record_dir: str = "/recordings") -> None:
        self.password = password
        self.record_dir = record_dir
        self.port = 0
        self.server: Server | None = None
        self.recording = False
        self.started = 0.0
        self.files = 0
        self.output_path: str | None = None
        self.mute = False
        self.requests: list[str] = []
        self.identified = 0
        self.auth_failures = 0
        self.subscribers: dict[ServerConnection, int] = {}
        self.changed = asyncio.Event()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    async def start(self) -> FakeObs:
        self.server = await serve(
            self._handle,
            "127.0.0.1",
            self.port,
            # OBS speaks JSON to a client that names no subprotocol.
            select_subprotocol=_json_or_default,
        )
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        """Like OBS quitting: every connection drops, the port stays the same."""
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None
        self.subscribers.clear()

    async def wait_until(self, predicate: Any, timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            while not predicate():
                await self.changed.wait()

    def _bump(self) -> None:
        changed, self.changed = self.changed, asyncio.Event()
        changed.set()

    # -- OBS itself -------------------------------------------------------------------

    async def press_record(self) -> None:
        """Someone clicks Start Recording in OBS."""
        await self._start_recording()

    async def _start_recording(self) -> None:
        self.recording = True
        self.started = time.monotonic()
        self.files += 1
        self.output_path = f"{self.record_dir}/live-{self.files}.mkv"
        await self._emit("OBS_WEBSOCKET_OUTPUT_STARTING", active=False, path=None)
        await self._emit("OBS_WEBSOCKET_OUTPUT_STARTED", active=True, path=None)

    async def _stop_recording(self) -> str:
        path = self.output_path or ""
        self.recording = False
        await self._emit("OBS_WEBSOCKET_OUTPUT_STOPPING", active=True, path=None)
        await self._emit("OBS_WEBSOCKET_OUTPUT_STOPPED", active=False, path=path)
        return path

    async def _emit(self, state: str, *, active: bool, path: str | None) -> None:
        event = {
            "op": 5,
            "d": {
                "eventType": "RecordStateChanged",
                "eventIntent": SUBSCRIBE_OUTPUTS,
                "eventData": {"outputActive": active, "outputState": state, "outputPath": path},
            },
        }
        for ws, subscriptions in list(self.subscribers.items()):
            if subscriptions & SUBSCRIBE_OUTPUTS:
                try:
                    await ws.send(json.dumps(event))
                except ConnectionClosed:
                    self.subscribers.pop(ws, None)
        self._bump()

    # -- the protocol -------------------------------------------------------------------

    async def _handle(self, ws: ServerConnection) -> None:
        challenge = base64.b64encode(os.urandom(32)).decode()
        salt = base64.b64encode(os.urandom(32)).decode()
        hello: dict[str, Any] = {"obsWebSocketVersion": "5.5.0", "rpcVersion": 1}
        if self.password:
            hello["authentication"] = {"challenge": challenge, "salt": salt}
        await ws.send(json.dumps({"op": 0, "d": hello}))
        identified = False
        try:
            async for text in ws:
                if isinstance(text, bytes):
                    await ws.close(4002, "binary frame on the JSON subprotocol")
                    return
                message = json.loads(text)
                op, data = message.get("op"), message.get("d")
                if not isinstance(data, dict):
                    await ws.close(4003, "missing d")
                    return
                if not identified:
                    if op != 1:
                        await ws.close(4007, "not identified")
                        return
                    if not await self._identify(ws, data, salt, challenge):
                        return
                    identified = True
                elif op == 1:
                    await ws.close(4008, "already identified")
                    return
                elif op == 3:
                    self.subscribers[ws] = int(data.get("eventSubscriptions", SUBSCRIBE_ALL))
                    await ws.send(json.dumps({"op": 2, "d": {"negotiatedRpcVersion": 1}}))
                elif op == 6:
                    if not await self._request(ws, data):
                        return
                else:
                    await ws.close(4006, "unknown op")
                    return
        except ConnectionClosed:
            pass
        finally:
            self.subscribers.pop(ws, None)
            self._bump()

    async def _identify(
        self, ws: ServerConnection, data: dict[str, Any], salt: str, challenge: str
    ) -> bool:
        if data.get("rpcVersion") != 1:
            await ws.close(4010, "unsupported rpc version")
            return False
        if self.password and data.get("authentication") != expected_auth(
            self.password, salt, challenge
        ):
            self.auth_failures += 1
            self._bump()
            await ws.close(4009, "Authentication failed.")
            return False
        self.subscribers[ws] = int(data.get("eventSubscriptions", SUBSCRIBE_ALL))
        await ws.send(json.dumps({"op": 2, "d": {"negotiatedRpcVersion": 1}}))
        self.identified += 1
        self._bump()
        return True

    async def _request(self, ws: ServerConnection, data: dict[str, Any]) -> bool:
        kind, request_id = data.get("requestType"), data.get("requestId")
        if not isinstance(kind, str) or not isinstance(request_id, str):
            await ws.close(4003, "requestType and requestId are required")
            return False
        if self.mute:
            return True
        self.requests.append(kind)
        self._bump()
        status: dict[str, Any] = {"result": True, "code": 100}
        response: dict[str, Any] | None = None
        after = None
        if kind == "GetRecordStatus":
            duration = int((time.monotonic() - self.started) * 1000) if self.recording else 0
            response = {
                "outputActive": self.recording,
                "outputPaused": False,
                "outputTimecode": "00:00:00.000",
                "outputDuration": duration,
                "outputBytes": 0,
            }
        elif kind == "StartRecord":
            if self.recording:
                status = {"result": False, "code": 500}
            else:
                after = self._start_recording
        elif kind == "StopRecord":
            if not self.recording:
                status = {"result": False, "code": 501}
            else:
                response = {"outputPath": self.output_path}
                after = self._stop_recording
        else:
            status = {"result": False, "code": 204, "comment": f"unknown request {kind}"}
        body: dict[str, Any] = {"requestType": kind, "requestId": request_id}
        body["requestStatus"] = status
        if response is not None:
            body["responseData"] = response
        await ws.send(json.dumps({"op": 7, "d": body}))
        if after is not None:
            await after()
        return True
