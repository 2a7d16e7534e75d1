"""Sockets refuse foreign pages even with the right key; buyer-controlled text never
runs as HTML (real Chromium).

``tests/server`` already covers missing or wrong secrets on every route and the
Origin check on the panel socket; ``tests/browser/test_orders_pages.py`` covers
HTML in a nickname and an ordered comment's text on the feed, the shown comment,
the ticker (unmasked) and the buyer's card. Added here: the Origin check on
every socket route, and the review queue, the questions list, the parse
evidence box, a buyer shown by handle with an HTML address, and the masked
ticker, with the payloads arriving over ``/ws/ingest``.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect
from websockets.sync.client import connect

from .conftest import AUTH, HELPER, OVERLAY, ServerProcess, run_async

ROUTES = {
    "overlay": f"/ws/overlay?key={OVERLAY}",
    "panel": f"/ws/panel?token={HELPER}",
    "ingest": f"/ws/ingest?token={HELPER}",
}
FOREIGN = [
    "http://evil.example",
    "http://testserver.evil.example",
    "http://testserver:8080",  # same host name, another port: another origin
]


@pytest.mark.parametrize("route", sorted(ROUTES))
@pytest.mark.parametrize("origin", FOREIGN)
def test_every_socket_refuses_a_foreign_origin_even_with_the_right_key(
    client: TestClient, route: str, origin: str
) -> None:
    headers = {"origin": origin, "host": "testserver"}
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        client.websocket_connect(ROUTES[route], headers=headers) as ws,
    ):
        if route == "ingest":
            ws.send_text("[]")
        ws.receive_json()
    assert refused.value.code == 4403


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_every_socket_lets_in_its_own_pages_and_obs(client: TestClient, route: str) -> None:
    for headers in ({"origin": "http://testserver", "host": "testserver"}, {}):
        with client.websocket_connect(ROUTES[route], headers=headers) as ws:
            if route == "ingest":
                ws.send_text("[]")
            assert ws.receive_json()["type"] in ("snapshot", "ack")


# -- buyer-controlled HTML in a real browser ----------------------------------------

SCRIPT = "<script>alert(1)</script>"
IMAGE = "<img src=x onerror=alert(2)>"
SVG = "<svg onload=alert(3)>"


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
]


def _ingest_over_the_socket(server: ServerProcess, batch: list[dict[str, Any]]) -> list[Any]:
    with connect(f"{server.ws_url}/ws/ingest?token={HELPER}", proxy=None) as ws:
        ws.send(json.dumps(batch))
        reply = json.loads(ws.recv(timeout=10))
    assert reply["type"] == "ack", reply
    results: list[Any] = reply["results"]
    return results


@pytest.mark.browser
def test_html_in_review_questions_evidence_and_buyers_stays_text(
    server_process: ServerProcess,
) -> None:
    server = server_process
    server.start()  # nicknames masked on air, as by default
    api = httpx.Client(base_url=server.base_url, headers=AUTH)
    api.post("/api/live/pin", json={"code": "A2"}).raise_for_status()
    batch = [
        {"platform": "sim", "id": "q1", "user": "asker", "nickname": SCRIPT,
         "text": f"{IMAGE} bao nhiêu tiền vậy shop?"},
        {"platform": "sim", "id": "r1", "user": "doubter", "nickname": IMAGE,
         "text": f"{SVG} chốt ZZ9 {SCRIPT}"},
        {"platform": "sim", "id": "o1", "user": IMAGE, "nickname": "", "text": "A2 x2"},
        {"platform": "sim", "id": "o2", "user": "svgfan", "nickname": SVG, "text": "A2 x1"},
    ]  # fmt: skip
    statuses = [r["status"] for r in _ingest_over_the_socket(server, batch)]
    assert statuses == ["question", "review", "ordered", "ordered"]
    [buyer] = [b for b in api.get("/api/orders").json() if b["handle"] == IMAGE]
    api.patch(f"/api/customers/{buyer['id']}", json={"address": SVG}).raise_for_status()
    api.close()
    # Playwright's async API on its own loop in a worker thread: the session may
    # already hold a sync Playwright (tests/browser) in the main thread.
    seen = run_async(lambda: _look(server, buyer["id"]))
    assert seen["question"] == (SCRIPT, batch[0]["text"])
    assert seen["review"] == (IMAGE, batch[1]["text"])
    assert seen["buyer_nick"] == IMAGE and SVG in seen["buyer_card"]  # handle, address
    assert "<*** o***" in seen["ticker"]  # masked, and still text
    assert seen["executable"] == [0, 0] and seen["dialogs"] == []


async def _look(server: ServerProcess, buyer_id: int) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = await browser.new_context(viewport={"width": 360, "height": 780})
        dialogs: list[str] = []
        dismissals: list[asyncio.Task[None]] = []

        def record(dialog: Any) -> None:  # an alert() would mean injected script ran
            dialogs.append(dialog.message)
            dismissals.append(asyncio.ensure_future(dialog.dismiss()))

        context.on("dialog", record)
        panel = await context.new_page()
        await panel.goto(f"{server.base_url}/panel#token={HELPER}")
        await panel.wait_for_selector('#status[data-status="live"]')
        await panel.click('#tabs button[data-tab="comments"]')
        question = panel.locator('#questions [data-comment="1"]')
        review = panel.locator('#review [data-comment="2"]')
        await review.wait_for()
        await question.wait_for()
        seen: dict[str, Any] = {
            "question": (
                await question.locator(".nick").inner_text(),
                await question.locator(".text").inner_text(),
            ),
            "review": (
                await review.locator(".nick").inner_text(),
                await review.locator(".text").inner_text(),
            ),
        }
        await review.locator(".actions button").nth(1).click()  # the parse evidence box
        await panel.click('#tabs button[data-tab="orders"]')
        card = panel.locator(f'#orders [data-customer="{buyer_id}"]')
        await card.wait_for()
        seen["buyer_nick"] = await card.locator(".nick").inner_text()
        seen["buyer_card"] = await card.inner_text()
        overlay = await context.new_page()
        await overlay.goto(f"{server.base_url}/overlay?key={OVERLAY}&layout=portrait")
        await overlay.locator(".ticker-text").wait_for()
        seen["ticker"] = await overlay.locator(".ticker-text").inner_text()
        danger = "img[src='x'], svg[onload], body script:not([src])"
        seen["executable"] = [await view.locator(danger).count() for view in (panel, overlay)]
        seen["dialogs"] = dialogs
        await browser.close()
    return seen


# -- issue 10, item 7: who the server believes, and what it reads before the token -----------


def test_x_forwarded_for_from_loopback_does_not_dodge_the_wrong_token_limit(
    server_process: ServerProcess,
) -> None:
    """uvicorn believed X-Forwarded-For from 127.0.0.1: one fresh address per request."""
    server_process.start()
    wrong = {"Authorization": "Bearer wrong-token-guess"}
    with httpx.Client(base_url=server_process.base_url) as api:
        codes = [
            api.get("/api/live", headers={**wrong, "X-Forwarded-For": f"10.9.8.{n}"}).status_code
            for n in range(12)
        ]
        assert codes[:10] == [401] * 10 and codes[10:] == [429, 429]
        # The right token is never refused by that bucket, header or not.
        right = api.get("/api/live", headers={**AUTH, "X-Forwarded-For": "10.9.8.1"})
        assert right.status_code == 200


def test_x_forwarded_for_is_believed_only_from_configured_proxies() -> None:
    from server.ratelimit import proxy_options
    from server.settings import Settings

    assert proxy_options(Settings()) == {"proxy_headers": False}
    behind = Settings(trusted_proxies="127.0.0.1, ::1")  # type: ignore[arg-type]
    assert proxy_options(behind) == {"proxy_headers": True, "forwarded_allow_ips": "127.0.0.1,::1"}
    with pytest.raises(ValueError, match="does not appear to be an IPv4 or IPv6"):
        Settings(trusted_proxies="proxy.lan")  # type: ignore[arg-type]


def _write_routes(app: Any) -> list[tuple[str, str]]:
    """Every write route under /api/, from the OpenAPI schema, with its path filled in."""
    found = []
    for path, operations in app.openapi()["paths"].items():
        for method in operations:
            if method in ("post", "put", "patch", "delete") and path.startswith("/api/"):
                found.append((method.upper(), re.sub(r"\{[a-z_]+\}", "1", path)))
    return found


def test_writes_without_the_token_are_refused_before_the_body_is_read(
    client: TestClient, clock: Any
) -> None:
    routes = _write_routes(client.app)
    assert len(routes) >= 20
    limits = client.app.state.limits  # type: ignore[attr-defined]
    for method, path in routes:
        for headers in ({}, {"Authorization": "Bearer nope-nope-nope"}):
            clock.now += 60  # a full wrong-token bucket for each try
            reply = client.request(
                method,
                path,
                content=b"{not json",
                headers={**headers, "Content-Type": "application/json"},
            )
            assert reply.status_code == 401, (method, path, reply.text)
            assert reply.json() == {"error": "missing or wrong helper token", "field": None}
    # A megabyte of comments without the token is not even counted, let alone parsed.
    big = json.dumps(
        [{"platform": "sim", "id": str(n), "user": "u", "text": "x" * 400} for n in range(2200)]
    )
    clock.now += 60
    reply = client.post("/api/comments", content=big, headers={"Content-Type": "application/json"})
    assert reply.status_code == 401
    assert limits.ingest.level("testclient") == limits.ingest.burst
    assert client.get("/api/comments", headers=AUTH).json() == []


def test_the_token_in_the_query_string_opens_only_the_downloads(client: TestClient) -> None:
    for path in ("/api/orders/export.csv", "/api/orders/export.xlsx", "/api/orders/slips",
                 "/api/catalog/export"):  # fmt: skip
        assert client.get(f"{path}?token={HELPER}").status_code == 200, path
    for path in ("/api/live", "/api/products", "/api/comments", "/api/orders", "/api/customers",
                 "/api/sessions", "/api/connectors"):  # fmt: skip
        reply = client.get(f"{path}?token={HELPER}")
        assert reply.status_code == 401, path
        assert client.get(path, headers=AUTH).status_code == 200, path


# -- the shown comment never broadcasts a buyer's phone or address ---------------------------

PRIVATE = [
    ("A2 x1 sđt 0912 345 678 nha", "A2 x1 sđt *** nha"),
    ("chốt 2 +84 912.345.678", "chốt 2 ***"),
    ("chốt 2, đc: 12 ngõ 5 Kim Mã, Ba Đình", "chốt 2, ***"),
    ("Địa chỉ 5 Trần Phú sdt 0987654321", "***"),
    ("gửi về số 12/4 Lê Lợi nhé", "gửi về ***"),
    ("ship phường Tân Định quận 1", "ship ***"),
    ("giao đường Điện Biên Phủ", "giao ***"),
    ("stk 1903 4567 8901 23", "stk ***"),
]
PUBLIC = ["chốt 2 quần", "đc k shop", "mua 1 đường phèn", "size số 5", "A2 x1", "chốt 3 kg"]


@pytest.mark.parametrize(("text", "shown"), PRIVATE)
def test_phones_and_addresses_are_masked(text: str, shown: str) -> None:
    from server.privacy import mask_private

    assert mask_private(text) == shown


@pytest.mark.parametrize("text", PUBLIC)
def test_ordinary_words_that_look_like_address_words_are_kept(text: str) -> None:
    from server.privacy import mask_private

    assert mask_private(text) == text


def test_a_comment_shown_on_air_hides_the_phone_and_address(client: TestClient) -> None:
    text = "chốt 2 sđt 0912 345 678 đc: 12 ngõ 5 Kim Mã"
    batch = [{"platform": "sim", "id": "p1", "user": "lan", "nickname": "Lan", "text": text}]
    [ack] = client.post("/api/comments", json=batch, headers=AUTH).json()["results"]
    with client.websocket_connect(ROUTES["overlay"]) as overlay:
        assert overlay.receive_json()["type"] == "snapshot"
        shown = client.post(f"/api/comments/{ack['comment_id']}/show", headers=AUTH)
        assert shown.status_code == 200
        update = overlay.receive_json()
    assert update["set"]["shown_comment"]["text"] == "chốt 2 sđt *** ***"
    live = client.get("/api/live", headers=AUTH).json()
    assert live["state"]["shown_comment"]["text"] == "chốt 2 sđt *** ***"
    assert "0912" not in json.dumps(live) and "Kim Mã" not in json.dumps(live)
    # The order book keeps what the buyer typed: the helpers need the address.
    stored = client.get(f"/api/comments/{ack['comment_id']}", headers=AUTH).json()
    assert stored["text"] == text


# -- the packing slips' paper switch keeps the token ------------------------------------------


@pytest.mark.browser
def test_the_slips_paper_switch_keeps_the_token_and_the_scope(
    server_process: ServerProcess,
) -> None:
    server_process.start()
    start = f"{server_process.base_url}/api/orders/slips?paper=a4&scope=all&token={HELPER}"
    seen = run_async(lambda: _switch_paper(start))
    assert seen["status"] == 200, seen
    assert seen["paper"] == "paper-80mm"
    assert seen["query"] == {"paper": "80mm", "scope": "all", "token": HELPER}


async def _switch_paper(url: str) -> dict[str, Any]:
    from urllib.parse import parse_qsl, urlsplit

    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = await browser.new_page()
        await page.goto(url)
        await page.wait_for_function(
            "() => document.getElementById('paper-switch').href.includes('token=')"
        )
        async with page.expect_navigation() as navigation:
            await page.click("#paper-switch")
        response = await navigation.value
        seen = {
            "status": response.status if response else None,
            "paper": await page.evaluate("document.body ? document.body.className : ''"),
            "query": dict(parse_qsl(urlsplit(page.url).query)),
        }
        await browser.close()
    return seen
