"""Take the README screenshots: the helper panel and both overlay layouts.

Run with ``.venv/bin/python scripts/screenshots.py`` (needs Debian's chromium). It
starts the demo on a temporary data directory, puts a product, a countdown and an
order on air, and writes PNGs into ``docs/``. The overlay is transparent, so it is
composited over a plain studio-like backdrop to be visible in the README.
"""

from __future__ import annotations

import asyncio
import io
import sys
import tempfile
import threading
from pathlib import Path

import httpx
import uvicorn
from PIL import Image, ImageDraw, ImageFilter
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server.app import create_app  # noqa: E402
from server.settings import Settings  # noqa: E402

DOCS = ROOT / "docs"
TOKEN = "screenshot-token"
KEY = "screenshot-key"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


def _backdrop(size: tuple[int, int]) -> Image.Image:
    """A warm gradient with a soft silhouette where the seller would stand."""
    width, height = size
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    for y in range(height):
        shade = int(70 + 60 * y / height)
        draw.line([(0, y), (width, y)], fill=(shade + 40, shade + 10, shade - 20))
    figure = Image.new("L", size, 0)
    fdraw = ImageDraw.Draw(figure)
    cx = width // 2
    head = min(width, height) // 9
    fdraw.ellipse([cx - head, height * 0.28 - head, cx + head, height * 0.28 + head], fill=255)
    fdraw.rounded_rectangle(
        [cx - head * 3, height * 0.28 + head * 1.3, cx + head * 3, height + head], 140, fill=255
    )
    figure = figure.filter(ImageFilter.GaussianBlur(12))
    image.paste((45, 35, 30), mask=figure)
    return image


def _serve(data_dir: Path) -> tuple[uvicorn.Server, threading.Thread, int]:
    settings = Settings(
        data_dir=data_dir,
        demo=True,
        demo_comments=False,
        helper_token=TOKEN,
        overlay_key=KEY,
        bank_bin="970415",
        bank_account="113366668888",
    )
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=0))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    while not server.started:  # a one-off script, not a test: polling is fine here
        thread.join(0.05)
    return server, thread, server.servers[0].sockets[0].getsockname()[1]


def _on_air(base: str) -> None:
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}) as api:
        api.post("/api/live/session/start", json={"title": "Phiên demo"}).raise_for_status()
        api.post("/api/live/pin", json={"code": "A1"}).raise_for_status()
        api.post("/api/live/countdown", json={"seconds": 299}).raise_for_status()
        api.post("/api/live/element", json={"element": "qr", "visible": True}).raise_for_status()
        comment = {
            "platform": "manual",
            "id": "shot-1",
            "user": "lan",
            "nickname": "Lan Nguyễn",
            "text": "A1 chốt 2 kg",
        }
        api.post("/api/comments", json=[comment])  # fills the ticker once the order book exists


def main() -> None:
    DOCS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        server, thread, port = _serve(Path(tmp))
        base = f"http://127.0.0.1:{port}"
        try:
            _on_air(base)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
                viewport = {"width": 360, "height": 900}
                phone = browser.new_page(viewport=viewport, device_scale_factor=2)
                phone.goto(f"{base}/panel#token={TOKEN}")
                phone.wait_for_selector('#status[data-status="live"]')
                phone.wait_for_timeout(800)  # let the card's entry animation finish
                phone.screenshot(path=str(DOCS / "panel.png"))
                for layout, size in (("portrait", (1080, 1920)), ("landscape", (1920, 1080))):
                    page = browser.new_page(viewport={"width": size[0], "height": size[1]})
                    page.goto(f"{base}/overlay?key={KEY}&layout={layout}")
                    page.wait_for_selector('#overlay[data-status="live"]')
                    page.wait_for_timeout(800)
                    png = page.screenshot(omit_background=True)
                    shot = Image.open(io.BytesIO(png)).convert("RGBA")
                    framed = _backdrop(size).convert("RGBA")
                    framed.alpha_composite(shot)
                    framed.convert("RGB").resize((size[0] // 2, size[1] // 2), Image.LANCZOS).save(
                        DOCS / f"overlay-{layout}.png", optimize=True
                    )
                browser.close()
        finally:
            server.should_exit = True
            thread.join(10)
    print("wrote docs/panel.png, docs/overlay-portrait.png, docs/overlay-landscape.png")


if __name__ == "__main__":
    main()
