"""Shops: one server hosts several, and a token of one never reaches another's data.

Two shops, the default one (the laptop's, secrets from the settings) and one added
with ``add_shop``, each get a product with the same code, a session, a pinned
product, an order, a typed comment and an image, under names carrying a mark of the
shop. Then every HTTP route of the app is called with one shop's token, aimed at
the other's ids, codes and files; after each call the other's store, files and live
state must be exactly as before, and no answer may carry its mark. A route added
later without being listed in :data:`ROUTES` fails ``test_every_route_is_listed``;
sockets likewise (:data:`SOCKETS`). Runs on SQLite and PostgreSQL (tests/pg.py).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi import FastAPI
from fastapi.routing import APIWebSocketRoute
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import Engine, func, inspect, select
from starlette.websockets import WebSocketDisconnect

from server import context
from server.app import create_app
from server.cli import main
from server.context import load_demo_catalog
from server.db import (
    MIGRATIONS,
    live_sessions,
    metadata,
    open_database,
    products,
    shops,
    utcnow_iso,
)
from server.shops import add_shop, list_shops
from tests.support import app_settings

from .test_error_shape import _api_routes

HELPER = "shop-a-helper-token"
OVERLAY = "shop-a-overlay-key"
MARKS = {"a": "Alphamark", "b": "Bravomark"}

# Every HTTP route, and what is sent to it; "{...}" path parts are filled with the
# other shop's ids (the same numbers exist in both, as each shop counts from 1).
# Pages and files that need no token are checked for what they serve.
ROUTES: dict[tuple[str, str], dict[str, Any]] = {
    ("GET", "/"): {},
    ("GET", "/panel"): {},
    ("GET", "/overlay"): {},
    ("GET", "/theme.css"): {},
    ("GET", "/placeholder.png"): {},
    ("GET", "/studio"): {},
    ("GET", "/report/{session_id}"): {},
    ("GET", "/media/{name}"): {},
    ("GET", "/media/shops/{slug}/{name}"): {},
    ("GET", "/studio/files/{session_id}/{name}"): {},
    # The laptop's own page and its secrets: the default shop's only, refused here.
    ("GET", "/api/join"): {},
    ("GET", "/api/qr/join.svg"): {},
    ("GET", "/setup"): {},
    ("GET", "/api/setup"): {},
    ("PUT", "/api/setup"): {"json": {"shop_name": "taken over"}},
    ("PATCH", "/api/setup"): {"json": {"shop_name": "taken over"}},
    ("POST", "/api/setup/test/{platform}"): {"json": {}},
    ("GET", "/api/qr/payment.svg"): {"params": {"code": "K1"}},
    ("GET", "/api/products"): {},
    ("POST", "/api/products"): {
        "json": {"code": "K2", "name": "new", "price": 5, "unit": "goi", "stock": 1}
    },
    ("GET", "/api/products/{code}"): {},
    ("PATCH", "/api/products/{code}"): {"json": {"price": 1, "stock": 0}},
    ("POST", "/api/products/{code}/image"): {"image": True},
    ("POST", "/api/catalog/import"): {
        "files": {
            "file": ("c.csv", b"code,name,price,unit,stock,aliases\nK1,x,1,goi,0,\n", "text/csv")
        }
    },
    ("GET", "/api/catalog/export"): {"params": {"format": "csv"}},
    ("GET", "/api/live"): {},
    ("POST", "/api/live/pin"): {"json": {"code": "K1"}},
    ("POST", "/api/live/unpin"): {"json": {}},
    ("POST", "/api/live/price"): {"json": {"code": "K1", "price": 2}},
    ("POST", "/api/live/stock"): {"json": {"code": "K1", "stock": 0}},
    ("POST", "/api/live/countdown"): {"json": {"seconds": 30}},
    ("POST", "/api/live/countdown/stop"): {"json": {}},
    ("POST", "/api/live/element"): {"json": {"element": "ticker", "visible": False}},
    ("POST", "/api/live/session/start"): {"json": {"title": "other"}},
    ("POST", "/api/live/session/stop"): {"json": {}},
    ("GET", "/api/sessions"): {},
    ("GET", "/api/sessions/{session_id}/events"): {},
    ("POST", "/api/comments"): {
        "json": [{"platform": "sim", "id": "x-1", "user": "u", "nickname": "n", "text": "K1 x1"}]
    },
    ("POST", "/api/comments/manual"): {"json": {"text": "K1 x1", "nickname": "n"}},
    ("GET", "/api/comments"): {},
    ("GET", "/api/comments/{comment_id}"): {},
    ("POST", "/api/comments/{comment_id}/confirm"): {"json": {"intent": "order"}},
    ("POST", "/api/comments/{comment_id}/reject"): {"json": {}},
    ("GET", "/api/parser/alias-suggestions"): {},
    ("POST", "/api/comments/{comment_id}/show"): {"json": {}},
    ("POST", "/api/comments/hide"): {"json": {}},
    ("GET", "/api/orders"): {"params": {"scope": "all"}},
    ("POST", "/api/orders/lines/{line_id}/status"): {"json": {"status": "cancelled"}},
    ("POST", "/api/orders/buyers/{customer_id}/status"): {"json": {"status": "paid"}},
    ("POST", "/api/orders/waitlist/{code}/promote"): {"json": {}},
    ("GET", "/api/orders/export.csv"): {"params": {"scope": "all"}},
    ("GET", "/api/orders/export.xlsx"): {"params": {"scope": "all"}},
    ("GET", "/api/orders/slips"): {"params": {"scope": "all"}},
    ("GET", "/api/customers"): {},
    ("GET", "/api/customers/{customer_id}"): {},
    ("PATCH", "/api/customers/{customer_id}"): {"json": {"nickname": "renamed", "bom": True}},
    ("GET", "/api/connectors"): {},
    ("GET", "/api/sessions/{session_id}/stats"): {},
    ("GET", "/api/sessions/{session_id}/report"): {},
    ("GET", "/api/sessions/{session_id}/report/{chart}.svg"): {},
    ("GET", "/api/sessions/{session_id}/report.{kind}"): {},
    ("GET", "/api/obs"): {},
    ("POST", "/api/obs/record"): {"json": {"action": "stop"}},
    ("GET", "/api/studio/sessions"): {},
    ("POST", "/api/sessions/{session_id}/clips"): {"json": {}},
    ("GET", "/api/sessions/{session_id}/clips"): {},
    ("GET", "/api/sessions/{session_id}/clips.zip"): {},
    ("PATCH", "/api/clips/{clip_id}"): {"json": {"card": False}},
    ("POST", "/api/clips/{clip_id}/render"): {"json": {}},
    ("GET", "/api/clips/{clip_id}/words"): {},
    ("GET", "/api/jobs/{job_id}"): {},
    # Last: it takes the attacker's own K1 away for the calls after it.
    ("DELETE", "/api/products/{code}"): {},
}
# Answered to the laptop only (loopback client and Host): the default shop's.
LAPTOP = {
    ("GET", "/api/join"),
    ("GET", "/api/qr/join.svg"),
    ("GET", "/setup"),
    ("GET", "/api/setup"),
    ("PUT", "/api/setup"),
    ("PATCH", "/api/setup"),
    ("POST", "/api/setup/test/{platform}"),
}
SOCKETS = {"/ws/overlay", "/ws/panel", "/ws/ingest"}
PARAMS = {
    "session_id": "1",
    "code": "K1",
    "customer_id": "1",
    "comment_id": "1",
    "line_id": "1",
    "clip_id": "1-1",
    "job_id": "1",
    "chart": "products",
    "kind": "png",
    "platform": "sim",
}


@dataclass
class Shop:
    key: str  # "a" (the default shop) or "b"
    helper: str
    overlay: str
    slug: str
    image: str = ""

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.helper}"}

    @property
    def mark(self) -> str:
        return MARKS[self.key]


@dataclass
class World:
    client: TestClient
    a: Shop
    b: Shop
    data_dir: Path

    def other(self, shop: Shop) -> Shop:
        return self.b if shop is self.a else self.a


def _png(red: int = 200) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (red, 30, 30)).save(out, "PNG")
    return out.getvalue()


def _fill(client: TestClient, shop: Shop) -> None:
    """A product, a live session with it pinned, an order, a typed comment, an image."""
    mark, auth = shop.mark, shop.auth

    def post(path: str, **kwargs: Any) -> Any:
        response = client.post(path, headers=auth, **kwargs)
        assert response.status_code < 300, f"{path}: {response.text}"
        return response.json() if response.content else None

    product = {"code": "K1", "name": f"{mark} tea", "price": 1000, "unit": "goi", "stock": 50}
    post("/api/products", json=product)
    image = ("t.png", _png(len(mark) + ord(mark[0])), "image/png")
    shop.image = post("/api/products/K1/image", files={"file": image})["image"]
    post("/api/live/session/start", json={"title": f"{mark} live"})
    post("/api/live/pin", json={"code": "K1"})
    comment = {"platform": "sim", "id": f"{mark}-1", "user": f"{mark}-u", "text": "K1 x2"}
    post("/api/comments", json=[{**comment, "nickname": f"{mark} buyer"}])
    post("/api/comments/manual", json={"text": f"{mark} hỏi giá", "nickname": f"{mark} hỏi"})


@pytest.fixture
def world(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("CHOTDON_DATABASE_URL", database_url)
    data_dir = tmp_path / "data"
    settings = app_settings(data_dir, helper=HELPER, overlay=OVERLAY, demo=False)
    engine = open_database(settings.resolved_data_dir() / "chotdon.db", database_url)
    try:
        added = add_shop(engine, "Bravo Coop")
    finally:
        engine.dispose()
    assert added.helper_token and added.overlay_key
    a = Shop("a", HELPER, OVERLAY, "default")
    b = Shop("b", added.helper_token, added.overlay_key, added.slug)
    with TestClient(create_app(settings)) as client:
        _fill(client, a)
        _fill(client, b)
        yield World(client, a, b, data_dir)


def _store(world: World, shop: Shop) -> Engine:
    app = world.client.app
    assert isinstance(app, FastAPI)
    registry = app.state.ctx.shops
    for ctx in registry.contexts.values():
        if ctx.shop.slug == shop.slug:
            engine: Engine = ctx.engine
            return engine
    raise AssertionError(f"shop {shop.slug} not opened")


def _live(world: World, shop: Shop) -> Any:
    app = world.client.app
    assert isinstance(app, FastAPI)
    for ctx in app.state.ctx.shops.contexts.values():
        if ctx.shop.slug == shop.slug:
            return ctx.live
    raise AssertionError(shop.slug)


def _dump(world: World, shop: Shop) -> dict[str, Any]:
    """Everything of ``shop`` that a request could change: rows, files, live state."""
    engine = _store(world, shop)
    rows: dict[str, Any] = {}
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            rows[table.name] = [tuple(r) for r in conn.execute(select(table))]
    folder = world.data_dir if shop.key == "a" else world.data_dir / "shops" / shop.slug
    files = sorted(
        (str(p.relative_to(folder)), p.stat().st_size)
        for p in folder.rglob("*")
        if p.is_file() and "shops" not in p.relative_to(folder).parts and "chotdon.db" not in p.name
    )
    live = _live(world, shop)
    return {"rows": rows, "files": files, "rev": live.rev, "state": live.state()}


def _text(body: bytes, content_type: str) -> str:
    """What a reader of the answer sees, zip archives (xlsx, clips) opened."""
    if body[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            return " ".join(archive.read(n).decode("utf-8", "replace") for n in archive.namelist())
    return body.decode("utf-8", "replace")


def _all_routes(app: FastAPI) -> set[tuple[str, str]]:
    return {
        (method, route.path)
        for route in _api_routes(app.routes)
        for method in route.methods
        if method != "HEAD"
    }


def _socket_paths(routes: Iterable[Any]) -> Iterator[str]:
    for route in routes:
        if isinstance(route, APIWebSocketRoute):
            yield route.path
        inner = getattr(route, "original_router", None)  # as in test_error_shape
        if inner is not None:
            yield from _socket_paths(inner.routes)


def test_every_route_is_listed(world: World) -> None:
    app = world.client.app
    assert isinstance(app, FastAPI)
    assert _all_routes(app) == set(ROUTES)
    assert set(_socket_paths(app.routes)) == SOCKETS


def test_each_token_sees_its_own_shop(world: World) -> None:
    client = world.client
    for shop in (world.a, world.b):
        other = world.other(shop)
        for path in ("/api/products", "/api/orders?scope=all", "/api/comments", "/api/customers"):
            text = client.get(path, headers=shop.auth).text
            assert shop.mark in text and other.mark not in text, path
        live = client.get("/api/live", headers=shop.auth).json()
        assert live["state"]["products"]["K1"]["name"] == f"{shop.mark} tea"
        events = client.get("/api/sessions/1/events", headers=shop.auth).text
        assert f"{shop.mark} live" in events and other.mark not in events
        # The overlay key is per shop as well, for what an overlay may fetch itself.
        qr = client.get(f"/api/qr/payment.svg?code=K1&key={shop.overlay}")
        assert qr.status_code == 404  # no bank account: but signed in, not 401
    # Images are served under each shop's own path.
    assert client.get(f"/media/{world.a.image}").status_code == 200
    assert client.get(f"/media/{world.b.image}").status_code == 404
    assert client.get(f"/media/shops/{world.b.slug}/{world.b.image}").status_code == 200
    assert client.get(f"/media/shops/{world.b.slug}/{world.a.image}").status_code == 404
    b_live = client.get("/api/live", headers=world.b.auth).json()["state"]["products"]["K1"]
    assert b_live["image_url"] == f"/media/shops/{world.b.slug}/{world.b.image}"


def test_a_shop_never_shows_the_laptops_bank_account(tmp_path: Path) -> None:
    bank = {"bank_bin": "970436", "bank_account": "0011001234567"}
    settings = app_settings(tmp_path / "data", helper=HELPER, overlay=OVERLAY, **bank)
    engine = open_database(settings.resolved_data_dir() / "chotdon.db")
    try:
        added = add_shop(engine, "Bravo Coop")
    finally:
        engine.dispose()
    auth = {"Authorization": f"Bearer {added.helper_token}"}
    product = {"code": "A1", "name": "tea", "price": 1000, "unit": "goi", "stock": 5}
    with TestClient(create_app(settings)) as client:
        assert client.get(f"/api/qr/payment.svg?code=A1&key={OVERLAY}").status_code == 200
        assert client.post("/api/products", headers=auth, json=product).status_code == 201
        qr = client.get(f"/api/qr/payment.svg?code=A1&key={added.overlay_key}")
        assert qr.status_code == 404
        assert client.get("/api/live", headers=auth).json()["state"]["payment_qr"] is False


def _request(world: World, attacker: Shop, victim: Shop, method: str, path: str) -> Any:
    spec = dict(ROUTES[(method, path)])
    params = {**PARAMS, "slug": victim.slug, "name": victim.image}
    url = path.format(**params)
    kwargs: dict[str, Any] = {"headers": attacker.auth}
    if spec.pop("image", False):
        kwargs["files"] = {"file": ("t.png", _png(), "image/png")}
    kwargs.update(spec)
    if path.startswith("/studio/files/"):
        kwargs["params"] = {"sig": "0" * 32, "shop": victim.slug}
    return world.client.request(method, url, **kwargs)


@pytest.mark.parametrize("direction", ["a-to-b", "b-to-a"])
def test_a_token_never_reads_or_changes_another_shop(world: World, direction: str) -> None:
    attacker, victim = (world.a, world.b) if direction == "a-to-b" else (world.b, world.a)
    before = _dump(world, victim)
    assert victim.mark in str(before["rows"])  # the check below has something to find
    own_rev = _live(world, attacker).rev
    answered = set()
    for method, path in ROUTES:
        response = _request(world, attacker, victim, method, path)
        if response.status_code < 300:
            answered.add((method, path))
        where = f"{method} {path} -> {response.status_code}"
        assert response.status_code != 500, f"{where}: {response.text}"  # 503: no OBS
        if (method, path) in LAPTOP:
            assert response.status_code == 403, where
        seen = _text(response.content, response.headers.get("content-type", ""))
        assert victim.mark not in seen, f"{where} shows the other shop's data"
        assert victim.helper not in seen and victim.overlay not in seen, where
        if path == "/media/shops/{slug}/{name}":
            continue  # public, like /media: the other shop's image, by its hashed name
        assert _dump(world, victim) == before, f"{where} changed the other shop"
    # The calls did act, on the attacker's own shop: most answered, its state moved.
    assert len(answered) >= 45, sorted(set(ROUTES) - answered)
    assert _live(world, attacker).rev > own_rev
    assert world.client.get("/api/products/K1", headers=attacker.auth).status_code == 404


def test_sockets_sign_in_to_their_own_shop(world: World) -> None:
    client = world.client
    a, b = world.a, world.b
    b_rev = _live(world, b).rev
    with (
        client.websocket_connect(f"/ws/overlay?key={b.overlay}") as b_overlay,
        client.websocket_connect(f"/ws/panel?token={a.helper}") as a_panel,
        client.websocket_connect(f"/ws/ingest?token={a.helper}") as a_ingest,
        client.websocket_connect(f"/ws/overlay?key={a.overlay}") as a_overlay,
    ):
        snapshot = b_overlay.receive_json()
        assert snapshot["state"]["products"]["K1"]["name"] == f"{b.mark} tea"
        assert a.mark not in str(snapshot)
        assert a_overlay.receive_json()["state"]["products"]["K1"]["name"] == f"{a.mark} tea"
        a_panel.receive_json()
        a_panel.send_json({"type": "command", "id": 1, "op": "unpin", "args": {}})
        while (reply := a_panel.receive_json())["type"] != "ack":
            pass
        assert reply["ok"], reply
        comment = {"platform": "sim", "id": "s-1", "user": "s", "nickname": "s", "text": "K1 x1"}
        a_ingest.send_json(comment)
        assert a_ingest.receive_json()["type"] == "ack"
        # A's overlay hears of the unpin; B's state did not move.
        while (update := a_overlay.receive_json())["type"] != "update":
            pass
        assert update["set"].get("pinned", "x") is None
    assert _live(world, b).rev == b_rev and _live(world, b).pinned == "K1"
    # A secret of one role does not open another, in any shop.
    for url in (f"/ws/panel?token={b.overlay}", f"/ws/ingest?token={b.overlay}"):
        with client.websocket_connect(url) as ws, pytest.raises(WebSocketDisconnect) as info:
            ws.receive_json()
        assert info.value.code == 4401


def test_a_shop_added_while_the_server_runs_signs_in(
    world: World, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The list is re-read at most once a second; no waiting a second in a test.
    monkeypatch.setattr(context, "RELOAD_EVERY_S", 0.0)
    engine = open_database(world.data_dir / "chotdon.db", database_url)
    try:
        added = add_shop(engine, "Charlie")
    finally:
        engine.dispose()
    auth = {"Authorization": f"Bearer {added.helper_token}"}
    assert world.client.get("/api/products", headers=auth).json() == []


def test_cli_shop_add_and_list(tmp_path: Path, database_url: str) -> None:
    runner = CliRunner()
    env = {"CHOTDON_DATABASE_URL": database_url}
    data = str(tmp_path / "data")
    added = runner.invoke(main, ["shop", "add", "Chè Thái Nguyên", "--data", data], env=env)
    assert added.exit_code == 0, added.output
    assert "shop che-thai-nguyen (2) added" in added.output
    assert "/panel#token=" in added.output and "/overlay?key=" in added.output
    again = runner.invoke(main, ["shop", "add", "Chè Thái Nguyên", "--data", data], env=env)
    assert again.exit_code != 0 and "already a shop" in again.output
    bad = runner.invoke(main, ["shop", "add", "x", "--slug", "Bad Slug", "--data", data], env=env)
    assert bad.exit_code != 0 and "cannot name a shop" in bad.output
    listed = runner.invoke(main, ["shop", "list", "--data", data], env=env)
    assert listed.output.splitlines() == ["1\tdefault\t", "2\tche-thai-nguyen\tChè Thái Nguyên"]
    # The catalog and session commands take --shop; without it, the default shop.
    csv = tmp_path / "tea.csv"
    csv.write_text("code,name,price,unit,stock,aliases\nT1,Chè búp,90000,goi,5,\n", "utf-8")
    shop = ["--data", data, "--shop", "che-thai-nguyen"]
    imported = runner.invoke(main, ["catalog", "import", str(csv), *shop], env=env)
    assert imported.exit_code == 0 and "1 added" in imported.output, imported.output
    for flags, count in ((shop, 1), (["--data", data], 0)):
        out = tmp_path / "out.csv"
        runner.invoke(main, ["catalog", "export", str(out), *flags], env=env)
        assert len(out.read_text("utf-8-sig").splitlines()) == 1 + count
    nobody = runner.invoke(main, ["session", "list", "--data", data, "--shop", "nobody"], env=env)
    assert nobody.exit_code != 0 and "no shop 'nobody'" in nobody.output


def test_migration_keeps_a_single_shop_database_in_the_default_shop(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store made before shops (every migration but theirs) keeps every row, in shop 1."""
    from server import db

    monkeypatch.setenv("CHOTDON_DATABASE_URL", database_url)  # before the settings read it
    data_dir = tmp_path / "data"
    settings = app_settings(data_dir, helper=HELPER, overlay=OVERLAY, demo=False)
    monkeypatch.setattr(db, "MIGRATIONS", [m for m in MIGRATIONS if m[1] != "shops"])
    engine = open_database(settings.resolved_data_dir() / "chotdon.db", database_url)
    try:
        with engine.begin() as conn:
            assert not inspect(conn).has_table("shops")
            now = utcnow_iso()
            conn.execute(live_sessions.insert().values(title="old", started_at=now, stopped_at=now))
        load_demo_catalog(engine, data_dir)
        with engine.connect() as conn:
            count = conn.scalar(select(func.count()).select_from(products))
    finally:
        engine.dispose()
    assert count
    monkeypatch.setattr(db, "MIGRATIONS", MIGRATIONS)
    auth = {"Authorization": f"Bearer {HELPER}"}
    with TestClient(create_app(settings)) as client:
        assert len(client.get("/api/products", headers=auth).json()) == count
        assert client.get("/api/sessions", headers=auth).json()[0]["title"] == "old"
        engine = client.app.state.ctx.engine  # type: ignore[attr-defined]
        with engine.connect() as conn:
            assert [(s.id, s.slug) for s in list_shops(conn)] == [(1, "default")]
            assert conn.scalar(select(shops.c.helper_token)) is None  # still secrets.json
