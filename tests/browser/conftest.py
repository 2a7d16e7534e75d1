"""A real uvicorn server on loopback and real headless Chromium (Debian's package).

The server runs in a thread with its own event loop; ``started`` is an Event set by
uvicorn's startup, so tests wait on it rather than sleeping.
"""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI

from server.app import create_app
from server.settings import Settings

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
HELPER = "browser-helper-token"
OVERLAY = "browser-overlay-key"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets)
        self.ready.set()

    def install_signal_handlers(self) -> None:  # not the main thread
        pass


@dataclass
class LiveServer:
    app: FastAPI
    base_url: str
    helper_token: str
    overlay_key: str
    data_dir: Path

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.helper_token}"}

    def panel_url(self) -> str:
        return f"{self.base_url}/panel#token={self.helper_token}"

    def overlay_url(self, layout: str = "portrait") -> str:
        return f"{self.base_url}/overlay?key={self.overlay_key}&layout={layout}"


def start_server(settings: Settings) -> tuple[_Server, threading.Thread, FastAPI]:
    app = create_app(settings)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    server = _Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    if not server.ready.wait(20):
        raise RuntimeError("the test server did not start within 20 s")
    return server, thread, app


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    settings = Settings(
        data_dir=tmp_path / "data",
        helper_token=HELPER,
        overlay_key=OVERLAY,
        demo=True,
        demo_comments=False,
        bank_bin="970415",
        bank_account="113366668888",
    )
    server, thread, app = start_server(settings)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield LiveServer(app, f"http://127.0.0.1:{port}", HELPER, OVERLAY, tmp_path / "data")
    server.should_exit = True
    thread.join(20)


# Module scope: sync Playwright keeps an event loop on the main thread while it is
# open, which would break the asyncio tests of later folders in the same run.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 360, "height": 780})
    dialogs: list[str] = []
    page = context.new_page()
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.dialogs = dialogs  # lets a test assert that no alert() ran
    yield page
    context.close()


@pytest.fixture
def api(live_server: LiveServer) -> Iterator[Any]:
    """An HTTP client with the helper token, for setting up state quickly."""
    import httpx

    with httpx.Client(base_url=live_server.base_url, headers=live_server.auth) as client:
        yield client
