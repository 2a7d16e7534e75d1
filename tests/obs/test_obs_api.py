"""The app wires OBS in: /api/obs and the record buttons, behind the helper token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from server.app import create_app
from server.obs import follower_for
from tests.support import app_settings

from .conftest import PASSWORD
from .fake_obs import FakeObs

pytestmark = pytest.mark.anyio

HELPER = "helper-token-obs"
BASE = "http://testserver:8800"  # the Host guard wants the configured port
AUTH = {"Authorization": f"Bearer {HELPER}"}


@pytest.fixture
async def app(tmp_path: Path, fake_obs: FakeObs) -> AsyncIterator[FastAPI]:
    settings = app_settings(
        tmp_path / "data",
        helper=HELPER,
        overlay="overlay-key-obs",
        obs_url=fake_obs.url,
        obs_password=PASSWORD,
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        yield client


async def test_obs_routes_need_the_helper_token(http: httpx.AsyncClient) -> None:
    assert (await http.get("/api/obs")).status_code == 401
    refused = await http.post("/api/obs/record", json={"action": "start"})
    assert refused.status_code == 401 and refused.json()["error"]


async def test_panel_buttons_record_and_a_session_logs_the_file(
    app: FastAPI, http: httpx.AsyncClient, fake_obs: FakeObs
) -> None:
    ctx: Any = app.state.ctx
    follower = follower_for(ctx)
    assert follower is not None
    await follower.wait_until(lambda: follower.connected)
    state = (await http.get("/api/obs", headers=AUTH)).json()
    assert state["enabled"] and state["connected"] and not state["recording"]
    assert PASSWORD not in str(state)

    bad = await http.post("/api/obs/record", json={"action": "pause"}, headers=AUTH)
    assert bad.status_code == 422 and bad.json()["field"] == "action"

    started = await http.post("/api/live/session/start", json={"title": "Live"}, headers=AUTH)
    assert started.status_code == 200
    follower.notify()
    await follower.wait_until(lambda: len(follower.logged) == 1)
    again = await http.post("/api/obs/record", json={"action": "start"}, headers=AUTH)
    assert again.status_code == 409 and "already recording" in again.json()["error"]
    state = (await http.get("/api/obs", headers=AUTH)).json()
    assert state["recording"] and state["duration"] is not None

    stopped = await http.post("/api/obs/record", json={"action": "stop"}, headers=AUTH)
    assert stopped.status_code == 200 and stopped.json()["path"] == "/recordings/live-1.mkv"
    session_id = ctx.live.session["id"]
    events = (await http.get(f"/api/sessions/{session_id}/events", headers=AUTH)).text
    assert '"type":"recording_started"' in events
    assert '"type":"recording_stopped","path":"/recordings/live-1.mkv"' in events


async def test_without_a_url_obs_is_off_and_the_buttons_say_so(tmp_path: Path) -> None:
    settings = app_settings(tmp_path / "data", helper=HELPER, overlay="overlay-key-obs")
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
            state = (await http.get("/api/obs", headers=AUTH)).json()
            assert state["enabled"] is False and state["connected"] is False
            reply = await http.post("/api/obs/record", json={"action": "start"}, headers=AUTH)
            assert reply.status_code == 503 and "CHOTDON_OBS_URL" in reply.json()["error"]
