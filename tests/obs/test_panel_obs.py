"""Real Chromium: the panel shows OBS's state and its buttons start and stop recording."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.settings import Settings
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, HELPER, OVERLAY, start_server

from .conftest import PASSWORD
from .fake_obs import FakeObs

pytestmark = pytest.mark.browser


class FakeObsThread:
    """The fake OBS on its own event loop, since Playwright holds the main thread's."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.fake = self.call(self._make())

    async def _make(self) -> FakeObs:
        return await FakeObs(PASSWORD).start()

    def call(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(20)

    def close(self) -> None:
        self.call(self.fake.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(20)
        self.loop.close()


@pytest.fixture
def obs() -> Iterator[FakeObsThread]:
    running = FakeObsThread()
    yield running
    running.close()


@pytest.fixture
def panel_server(tmp_path: Path, obs: FakeObsThread) -> Iterator[str]:
    settings = Settings(
        data_dir=tmp_path / "data",
        helper_token=HELPER,
        overlay_key=OVERLAY,
        demo=True,
        demo_comments=False,
        obs_url=obs.fake.url,
        obs_password=PASSWORD,
    )
    server, thread, _app = start_server(settings)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(20)


@pytest.fixture
def page() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        context = chromium.new_context(viewport={"width": 360, "height": 780})
        page = context.new_page()
        page.dialogs = []
        page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.accept()))
        yield page
        chromium.close()


def test_panel_shows_obs_and_its_buttons_record(
    panel_server: str, obs: FakeObsThread, page: Any
) -> None:
    page.goto(f"{panel_server}/panel#token={HELPER}")
    page.wait_for_selector('#status[data-status="live"]')
    page.click('#tabs button[data-tab="controls"]')
    assert page.locator("#tab-controls h2", has_text="Ghi hình OBS").is_visible()
    box = page.locator("#obs article")
    box.locator(".who", has_text="Đã nối OBS").wait_for()
    assert page.locator("#obs-record").inner_text() == "Không ghi hình"
    assert page.locator("#obs-stop").count() == 0

    page.click("#obs-start")
    # The clock's digits depend on how long the page took to show it: check its shape.
    page.locator("#obs-record", has_text=re.compile(r"^● Đang ghi \d+:\d\d:\d\d$")).wait_for()
    assert obs.fake.recording and page.locator("#obs-start").count() == 0

    page.click("#obs-stop")
    box.locator(".why", has_text="Tệp gần nhất: /recordings/live-1.mkv").wait_for()
    assert page.dialogs == ["Dừng ghi hình trên OBS?"]
    assert not obs.fake.recording
    assert page.locator("#obs-record").inner_text() == "Không ghi hình"

    # A session started elsewhere (another helper) starts OBS, and the panel follows.
    headers = {"Authorization": f"Bearer {HELPER}"}
    reply = httpx.post(f"{panel_server}/api/live/session/start", json={}, headers=headers)
    reply.raise_for_status()
    page.locator("#obs-record", has_text="● Đang ghi").wait_for()
    assert obs.fake.requests.count("StartRecord") == 2


def test_a_stale_button_reply_does_not_undo_a_newer_push(
    panel_server: str, obs: FakeObsThread, page: Any
) -> None:
    headers = {"Authorization": f"Bearer {HELPER}"}

    def stale_reply(route: Any) -> None:
        # Let the real start through, wait until the server has pushed "recording",
        # then answer with the state as it was before: what a slow reply looks like.
        before = httpx.get(f"{panel_server}/api/obs", headers=headers).json()
        route.fetch()
        deadline = time.monotonic() + 20
        while not httpx.get(f"{panel_server}/api/obs", headers=headers).json()["recording"]:
            assert time.monotonic() < deadline, "OBS never reported recording"
        route.fulfill(json=before)

    page.goto(f"{panel_server}/panel#token={HELPER}")
    page.wait_for_selector('#status[data-status="live"]')
    page.click('#tabs button[data-tab="controls"]')
    page.locator("#obs article .who", has_text="Đã nối OBS").wait_for()
    page.route("**/api/obs/record", stale_reply)
    page.click("#obs-start")
    page.locator("#obs-record", has_text="● Đang ghi").wait_for()
    page.wait_for_function("window.chotdonPanel.obs.state.version >= 1")
    assert page.locator("#obs-stop").count() == 1
