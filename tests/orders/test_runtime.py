"""Connectors started with the app: the demo audience makes orders, shutdown stops it."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from server.app import create_app
from server.runtime import DEMO_COMMENTS, configured_connectors

from .conftest import HELPER, Api, make_settings


def test_the_demo_audience_orders_and_stops_with_the_app(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "demo", demo_comments=True, demo_comment_speed=200.0)
    app = create_app(settings)
    with TestClient(app) as client:
        seen: dict[str, Any] = {}
        done = threading.Event()

        def watch() -> None:
            with client.websocket_connect(f"/ws/panel?token={HELPER}") as panel:
                while "orders_changed" not in seen or seen.get("ticker") is None:
                    message = panel.receive_json()
                    seen[message["type"]] = message
                    if message["type"] == "update" and message["set"].get("ticker"):
                        seen["ticker"] = message["set"]["ticker"]
            done.set()

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        assert done.wait(30), "the demo audience produced no order"
        api = Api(client)
        assert api.lines() and api.get("/api/comments")
        sim = next(s for s in api.get("/api/connectors") if s["name"] == "sim")
        assert sim["status"] == "live" and sim["comments"] > 0
    assert app.state.ctx.orders.connectors["sim"]["status"] == "stopped"


def test_a_misconfigured_connector_is_shown_failed_and_the_app_still_starts(tmp_path: Path) -> None:
    # (a Page token alone is enough for Facebook now: it finds the live video itself)
    settings = make_settings(tmp_path / "shopee", shopee_partner_id="1", shopee_session_id="9")
    with TestClient(create_app(settings)) as client:
        states = {s["name"]: s for s in Api(client).get("/api/connectors")}
    assert states["shopee"]["status"] == "failed"
    assert "shopee" in states["shopee"]["last_error"]


def test_settings_choose_the_connectors(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        demo_comments=True,
        demo_comment_speed=4.0,
        tiktok_unique_id="@shop",
        facebook_live_video_id="123",
        facebook_page_token="tok",
        shopee_partner_id="1",
        shopee_partner_key="k",
        shopee_access_token="t",
        shopee_session_id="9",
        shopee_shop_id="77",
    )
    chosen = dict(configured_connectors(settings))
    assert list(chosen) == ["sim", "tiktok", "facebook", "shopee"]
    assert chosen["sim"] == {"path": DEMO_COMMENTS, "speed": 4.0, "loop": True}
    assert chosen["shopee"]["shop_id"] == "77"
    assert "user_id" not in chosen["shopee"]
    assert configured_connectors(make_settings(tmp_path, demo=False)) == []


def test_a_shopee_user_id_setting_reaches_the_connector_for_signing(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        shopee_partner_id="1",
        shopee_partner_key="k",
        shopee_access_token="t",
        shopee_session_id="9",
        shopee_user_id="5501",
    )
    assert dict(configured_connectors(settings))["shopee"]["user_id"] == "5501"


def test_the_facebook_stream_setting_reaches_the_connector(tmp_path: Path) -> None:
    base = {"facebook_live_video_id": "123", "facebook_page_token": "tok"}
    assert "stream" not in dict(configured_connectors(make_settings(tmp_path, **base)))["facebook"]
    streamed = make_settings(tmp_path, facebook_stream=True, **base)
    assert dict(configured_connectors(streamed))["facebook"]["stream"] is True
