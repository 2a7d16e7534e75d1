"""OBS recording follows the live session, against a fake obs-websocket v5 server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from chotdon.eventlog import parse_time
from server.events import iter_events
from server.obs import (
    ObsAuthError,
    ObsClient,
    ObsRequestError,
    RecordingFollower,
    auth_string,
    start_obs,
)

from .conftest import PASSWORD, Studio
from .fake_obs import FakeObs, expected_auth

pytestmark = pytest.mark.anyio


def session_log(studio: Studio, session_id: int) -> list[dict]:
    with studio.engine.connect() as conn:
        return list(iter_events(conn, session_id))


def recording_events(studio: Studio, session_id: int) -> list[dict]:
    return [e for e in session_log(studio, session_id) if e["type"].startswith("recording_")]


@asynccontextmanager
async def following(studio: Studio, **tuning: float) -> AsyncIterator[RecordingFollower]:
    follower = start_obs(studio)
    for name, value in tuning.items():
        setattr(follower, name, value)
    try:
        await follower.wait_until(lambda: follower.connected)
        yield follower
    finally:
        for task in studio.tasks:
            task.cancel()
        await asyncio.gather(*studio.tasks, return_exceptions=True)


# -- the handshake ------------------------------------------------------------------------


def test_auth_string_follows_the_documented_recipe() -> None:
    salt, challenge = (
        "lM1GncleQOaCu9lT1yeUZhFYnqhsLLP1G5lAGo3ixaI=",
        "+IxH4CnCiqpX1rM9scsNynZzbOe4KhDeYcTNS3PDaeY=",
    )
    assert auth_string("supersecretpassword", salt, challenge) == expected_auth(
        "supersecretpassword", salt, challenge
    )
    assert auth_string("other", salt, challenge) != auth_string(
        "supersecretpassword", salt, challenge
    )


async def test_the_right_password_identifies_and_requests_work(fake_obs: FakeObs) -> None:
    client = await ObsClient.connect(fake_obs.url, PASSWORD)
    try:
        status = await client.request("GetRecordStatus")
        assert status["outputActive"] is False
        assert fake_obs.identified == 1
        with pytest.raises(ObsRequestError) as refused:
            await client.request("StopRecord")
        assert refused.value.code == 501  # OutputNotRunning
    finally:
        await client.close()


async def test_a_wrong_password_is_refused_with_4009_and_named(fake_obs: FakeObs) -> None:
    with pytest.raises(ObsAuthError, match="CHOTDON_OBS_PASSWORD") as wrong:
        await ObsClient.connect(fake_obs.url, "sai mật khẩu")
    assert "refused the password" in str(wrong.value)
    assert fake_obs.auth_failures == 1
    with pytest.raises(ObsAuthError, match="asks for a password: set CHOTDON_OBS_PASSWORD"):
        await ObsClient.connect(fake_obs.url, "")
    assert fake_obs.identified == 0


async def test_the_fake_enforces_identify_first_and_outputs_subscriptions(
    fake_obs: FakeObs,
) -> None:
    async with connect(fake_obs.url) as raw:
        hello = json.loads(await raw.recv())
        assert hello["op"] == 0 and set(hello["d"]["authentication"]) == {"challenge", "salt"}
        request = {"requestType": "GetRecordStatus", "requestId": "x"}
        await raw.send(json.dumps({"op": 6, "d": request}))
        with pytest.raises(ConnectionClosed) as closed:
            await raw.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4007

    # A client subscribed to General only (1) hears no RecordStateChanged; ours (Outputs) does.
    async with connect(fake_obs.url) as raw:
        auth = json.loads(await raw.recv())["d"]["authentication"]
        answer = expected_auth(PASSWORD, auth["salt"], auth["challenge"])
        identify = {"rpcVersion": 1, "authentication": answer, "eventSubscriptions": 1}
        await raw.send(json.dumps({"op": 1, "d": identify}))
        assert json.loads(await raw.recv())["op"] == 2
        heard: list[tuple[str, dict]] = []
        client = await ObsClient.connect(
            fake_obs.url, PASSWORD, on_event=lambda kind, data: heard.append((kind, data))
        )
        try:
            await client.request("StartRecord")
            await fake_obs.wait_until(lambda: fake_obs.recording)
            await client.request("GetRecordStatus")  # answered after the events: they arrived
            states = [data["outputState"] for kind, data in heard if kind == "RecordStateChanged"]
            assert states == ["OBS_WEBSOCKET_OUTPUT_STARTING", "OBS_WEBSOCKET_OUTPUT_STARTED"]
            with pytest.raises(ObsRequestError) as running:
                await client.request("StartRecord")
            assert running.value.code == 500  # OutputRunning
            await raw.send(
                json.dumps({"op": 6, "d": {"requestType": "GetRecordStatus", "requestId": "r"}})
            )
            only = json.loads(await raw.recv())
            assert only["op"] == 7 and only["d"]["responseData"]["outputActive"] is True
        finally:
            await client.close()


# -- the follower ------------------------------------------------------------------------


async def test_session_start_and_stop_drive_the_recording_and_the_log(
    studio: Studio, fake_obs: FakeObs
) -> None:
    async with following(studio) as follower:
        before = follower.view()["version"]
        session = await studio.live.start_session("Phiên OBS")
        await follower.wait_until(lambda: len(follower.logged) == 1)
        assert fake_obs.recording and fake_obs.requests.count("StartRecord") == 1
        assert follower.view()["version"] > before  # pages keep the newer of two states
        started = recording_events(studio, session["id"])
        assert [e["type"] for e in started] == ["recording_started"]
        assert "started_at" not in started[0]  # OBS confirmed it: t is the start
        assert follower.view()["recording"] is True

        await studio.live.stop_session()
        await follower.wait_until(lambda: len(follower.logged) == 2)
        assert not fake_obs.recording and fake_obs.requests.count("StopRecord") == 1
        stopped = recording_events(studio, session["id"])[-1]
        assert stopped["type"] == "recording_stopped"
        assert stopped["path"] == "/recordings/live-1.mkv"
        types = [e["type"] for e in session_log(studio, session["id"])]
        assert types.index("session_started") < types.index("recording_started")
        assert follower.view()["path"] == "/recordings/live-1.mkv"


async def test_an_already_recording_obs_is_adopted_without_a_second_start(
    studio: Studio, fake_obs: FakeObs
) -> None:
    async with following(studio) as follower:
        await fake_obs.press_record()
        await follower.wait_until(lambda: follower.recording)
        session = await studio.live.start_session("")
        await follower.wait_until(lambda: len(follower.logged) == 1)
        assert "StartRecord" not in fake_obs.requests
        [started] = recording_events(studio, session["id"])
        assert started["type"] == "recording_started"
        assert started["started_at"] <= started["t"]  # when OBS really began
        await studio.live.stop_session()
        await follower.wait_until(lambda: len(follower.logged) == 2)
        assert recording_events(studio, session["id"])[-1]["path"] == "/recordings/live-1.mkv"


async def test_reconnects_after_obs_restarts_and_after_a_silent_death(
    studio: Studio, fake_obs: FakeObs
) -> None:
    async with following(
        studio, initial_backoff=0.05, check_seconds=0.2, request_timeout=0.5
    ) as follower:
        assert follower.connections == 1
        await fake_obs.stop()
        await follower.wait_until(lambda: not follower.connected)
        assert follower.view()["connected"] is False
        await fake_obs.start()  # same port
        await follower.wait_until(lambda: follower.connected and follower.connections == 2)

        # Requests go unanswered on an open socket: the status check notices.
        fake_obs.mute = True
        await follower.wait_until(lambda: not follower.connected)
        assert "did not answer GetRecordStatus" in (follower.error or "")
        fake_obs.mute = False
        await follower.wait_until(lambda: follower.connected and follower.connections == 3)

        # A session started while connected still records after all that.
        session = await studio.live.start_session("")
        await follower.wait_until(lambda: len(follower.logged) == 1)
        assert recording_events(studio, session["id"])[0]["type"] == "recording_started"


async def test_a_session_started_while_obs_is_down_records_once_it_is_back(
    studio: Studio, fake_obs: FakeObs
) -> None:
    async with following(studio, initial_backoff=0.05) as follower:
        await fake_obs.stop()
        await follower.wait_until(lambda: not follower.connected)
        session = await studio.live.start_session("")
        follower.notify()
        await follower.wait_until(lambda: follower.session == session["id"])
        await fake_obs.start()
        await follower.wait_until(lambda: len(follower.logged) == 1)
        assert fake_obs.requests.count("StartRecord") == 1
        assert recording_events(studio, session["id"])[0]["type"] == "recording_started"


async def test_helper_buttons_start_and_stop_and_refuse_clearly(
    studio: Studio, fake_obs: FakeObs
) -> None:
    from server.errors import Conflict

    async with following(studio) as follower:
        await follower.start_recording()
        await follower.wait_until(lambda: follower.recording)
        assert follower.logged == []  # no live session: nothing to log into
        with pytest.raises(Conflict, match="already recording"):
            await follower.start_recording()
        view = await follower.stop_recording()
        assert view["recording"] is False and view["path"] == "/recordings/live-1.mkv"
        with pytest.raises(Conflict, match="not recording"):
            await follower.stop_recording()


async def test_the_wrong_password_shows_on_the_state_and_nothing_records(
    studio: Studio, fake_obs: FakeObs
) -> None:
    studio.settings.obs_password = "sai"
    follower = start_obs(studio)
    try:
        await follower.wait_until(lambda: follower.error is not None)
        view = follower.view()
        assert view["connected"] is False and "CHOTDON_OBS_PASSWORD" in view["error"]
        assert "sai" not in json.dumps(view)
        follower.configure(fake_obs.url, PASSWORD)  # the setup page fixes it
        await follower.wait_until(lambda: follower.connected)
    finally:
        for task in studio.tasks:
            task.cancel()
        await asyncio.gather(*studio.tasks, return_exceptions=True)


async def test_the_studio_finds_the_recording_the_follower_logged(
    studio: Studio, fake_obs: FakeObs, tmp_path: Path
) -> None:
    from studio.events import parse_events
    from studio.session import read_session_events, recording_from_events

    fake_obs.record_dir = str(tmp_path / "videos")
    async with following(studio) as follower:
        session = await studio.live.start_session("")
        await follower.wait_until(lambda: len(follower.logged) == 1)
        await studio.live.stop_session()
        await follower.wait_until(lambda: len(follower.logged) == 2)
    (tmp_path / "videos").mkdir()
    (tmp_path / "videos" / "live-1.mkv").write_bytes(b"")
    records = await asyncio.to_thread(read_session_events, tmp_path, session["id"])
    events = parse_events(records, source="session")
    path, start = recording_from_events(events, "session", recording=None, start=None, offset=None)
    assert path == tmp_path / "videos" / "live-1.mkv"
    started = next(r for r in records if r["type"] == "recording_started")
    assert start == parse_time(started["t"])


async def test_an_obs_without_a_password_needs_none() -> None:
    fake = await FakeObs("").start()
    try:
        client = await ObsClient.connect(fake.url, "a password OBS does not ask for")
        try:
            assert (await client.request("GetRecordStatus"))["outputActive"] is False
        finally:
            await client.close()
        assert fake.identified == 1 and fake.auth_failures == 0
    finally:
        await fake.stop()


async def test_a_recording_lost_while_obs_was_away_is_closed_and_restarted(
    studio: Studio, fake_obs: FakeObs
) -> None:
    async with following(studio, initial_backoff=0.05, check_seconds=0.1) as follower:
        session = await studio.live.start_session("")
        await follower.wait_until(lambda: len(follower.logged) == 1)
        await fake_obs.stop()
        fake_obs.recording = False  # OBS crashed: its recording ended with it
        await follower.wait_until(lambda: not follower.connected)
        await fake_obs.start()
        await follower.wait_until(lambda: len(follower.logged) == 3)
        types = [(e["type"], e.get("path")) for e in recording_events(studio, session["id"])]
        assert types == [
            ("recording_started", None),
            ("recording_stopped", None),  # OBS never said which file: the log says so
            ("recording_started", None),
        ]
        assert fake_obs.recording and fake_obs.requests.count("StartRecord") == 2
