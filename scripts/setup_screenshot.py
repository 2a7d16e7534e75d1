"""Take the README screenshot of the setup page: ``docs/setup.png``.

Run with ``.venv/bin/python scripts/setup_screenshot.py`` (needs Debian's chromium).
It starts the demo on a temporary data directory, saves a plausible shop through
the page's own API (secrets included, so the page shows them masked) and shoots
the page as a laptop shows it. Nothing leaves loopback: the "test connection"
result shown is OBS's, against the tests' fake obs-websocket server.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import threading
from pathlib import Path

import httpx
import uvicorn
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server.app import create_app  # noqa: E402
from server.settings import Settings  # noqa: E402
from tests.server.setup_fakes import loop_thread  # noqa: E402

DOCS = ROOT / "docs"
TOKEN = "screenshot-token"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
SHOP = {
    "shop_name": "Tiệm Hạt Dẻ Cô Ba",
    "tiktok_unique_id": "tiem.hatde",
    "facebook_page_token": "EAAB-example-page-token-8H2k",
    "bank_bin": "970415",
    "bank_account": "113366668888",
    "bank_account_name": "NGUYEN THI BA",
    "obs_password": "example-obs-password",
    "order_confidence": 0.8,
}


def main() -> None:
    DOCS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, loop_thread() as fakes:
        obs = fakes.obs(str(SHOP["obs_password"]))
        settings = Settings(
            data_dir=Path(tmp),
            demo=True,
            demo_comments=False,
            helper_token=TOKEN,
            overlay_key="screenshot-key",
            facebook_base_url="http://127.0.0.1:9",  # the saved token must not reach Facebook
        )
        server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=0))
        thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
        thread.start()
        while not server.started:  # a one-off script, not a test: polling is fine here
            thread.join(0.05)
        base = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
        try:
            headers = {"Authorization": f"Bearer {TOKEN}"}
            shop = {**SHOP, "obs_url": obs.url}
            httpx.put(f"{base}/api/setup", json=shop, headers=headers).raise_for_status()
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
                page = browser.new_page(viewport={"width": 1280, "height": 1840})
                page.goto(f"{base}/setup#token={TOKEN}")
                page.wait_for_selector("body[data-ready=true]")
                page.click("#test-obs")
                page.wait_for_selector("#result-obs[data-ok=true]")
                page.evaluate("window.scrollTo(0, 0)")
                page.screenshot(path=str(DOCS / "setup.png"))
                browser.close()
        finally:
            server.should_exit = True
            thread.join(10)
    print("wrote docs/setup.png")


if __name__ == "__main__":
    main()
