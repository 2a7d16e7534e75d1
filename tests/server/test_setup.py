"""The setup page's store and API: setup.json, masking, env precedence, validation,
the laptop-only guard, changes applied without a restart, and "test connection"
against loopback fakes (the connector tests' Graph API and Shopee, a fake OBS)."""

from __future__ import annotations

import importlib.util
import json
import os
import stat
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from server.app import create_app
from server.setup import FILE_NAME, SECRETS, mask
from server.setup_probe import obs_auth
from tests.connectors.test_facebook import TOKEN as FB_TOKEN
from tests.connectors.test_facebook import VIDEO, FakeGraph, graph_comment
from tests.connectors.test_shopee import PARTNER_ID, PARTNER_KEY, SESSION, USER_ID, FakeShopee
from tests.connectors.test_shopee import TOKEN as SHOPEE_TOKEN

from .conftest import AUTH, HELPER, OVERLAY, make_settings
from .setup_fakes import LoopThread, expected_auth, loop_thread
from .test_error_shape import _bad_requests, assert_error_shape

# The laptop: a loopback client talking to a loopback Host.
LAPTOP = {"base_url": "http://127.0.0.1:8800", "client": ("127.0.0.1", 50000)}
SECRET_VALUES = {
    "facebook_page_token": "EAAB-secret-page-token-9876",
    "shopee_partner_key": "shpk-secret-partner-key-5555",
    "shopee_access_token": "shopee-secret-access-4444",
    "shopee_refresh_token": "shopee-secret-refresh-1111",
    "obs_password": "obs-secret-pass-3333",
    "tiktok_sign_api_key": "euler-secret-key-2222",
}
NOWHERE = "http://127.0.0.1:9"
SHOPEE_FORM = {
    "shopee_partner_id": str(PARTNER_ID),
    "shopee_user_id": str(USER_ID),
    "shopee_session_id": str(SESSION),
}


@contextmanager
def laptop(data_dir: Path, **overrides: Any) -> Iterator[TestClient]:
    # No test reaches the real platforms: connectors started by a save hit a closed port.
    nowhere = {"facebook_base_url": NOWHERE, "shopee_base_url": NOWHERE}
    settings = make_settings(data_dir, heartbeat_seconds=0.5, **{**nowhere, **overrides})
    with TestClient(create_app(settings), **LAPTOP) as client:  # type: ignore[arg-type]
        client.headers.update(AUTH)
        yield client


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def fakes() -> Iterator[LoopThread]:
    with loop_thread() as thread:
        yield thread


def field(client: TestClient, name: str) -> dict[str, Any]:
    response = client.get("/api/setup")
    assert response.status_code == 200, response.text
    info: dict[str, Any] = response.json()["fields"][name]
    return info


def socket_until(ws: Any, wanted: Callable[[dict[str, Any]], bool], seconds: float = 10) -> dict:
    """The first message ``wanted`` accepts; heartbeats (0.5 s) keep ``receive`` from blocking."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        message: dict[str, Any] = ws.receive_json()
        if wanted(message):
            return message
    raise AssertionError("the expected message never came")


# -- the store -------------------------------------------------------------------------


def test_saved_values_are_owner_only_and_used_after_a_restart(data_dir: Path) -> None:
    with laptop(data_dir) as client:
        reply = client.put(
            "/api/setup",
            json={
                "shop_name": "  Tiệm Hạt Dẻ  ",
                "tiktok_unique_id": "@tiem.hatde",
                "bank_bin": "970415",
                "bank_account": "1133 6666-8888",
                "order_confidence": 0.65,
                "mask_nicknames": False,
                **SECRET_VALUES,
                **SHOPEE_FORM,
            },
        )
        assert reply.status_code == 200, reply.text
    path = data_dir / FILE_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    stored = json.loads(path.read_text(encoding="utf-8"))
    assert stored["shop_name"] == "Tiệm Hạt Dẻ"
    assert stored["tiktok_unique_id"] == "tiem.hatde"  # the @ is not part of the id
    assert stored["bank_account"] == "113366668888"
    assert "mask_nicknames" in stored and "helper_token" not in stored

    with laptop(data_dir) as client:
        settings = client.app.state.ctx.settings  # type: ignore[attr-defined]
        assert settings.shop_name == "Tiệm Hạt Dẻ"
        assert settings.order_confidence == 0.65
        assert settings.mask_nicknames is False
        assert settings.facebook_page_token == SECRET_VALUES["facebook_page_token"]
        assert client.app.state.ctx.live.extra["payment_qr"] is True  # type: ignore[attr-defined]
        assert field(client, "tiktok_unique_id")["value"] == "tiem.hatde"
        # the connectors started at boot are those setup.json turns on
        states = {c["name"]: c for c in client.get("/api/connectors").json()}
        assert {"tiktok", "facebook", "shopee"} <= set(states)
        assert "TikTokLive" in states["tiktok"]["last_error"]  # the optional library


def test_a_world_readable_setup_file_is_made_owner_only(data_dir: Path) -> None:
    data_dir.mkdir(parents=True)
    path = data_dir / FILE_NAME
    path.write_text(json.dumps({"shop_name": "Cũ"}), encoding="utf-8")
    os.chmod(path, 0o644)
    with laptop(data_dir) as client:
        assert field(client, "shop_name")["value"] == "Cũ"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_broken_setup_file_is_reported_and_the_server_still_starts(data_dir: Path) -> None:
    data_dir.mkdir(parents=True)
    (data_dir / FILE_NAME).write_text("{not json", encoding="utf-8")
    with laptop(data_dir) as client:
        body = client.get("/api/setup").json()
        assert FILE_NAME in body["problem"]
        assert body["fields"]["shop_name"]["value"] == ""
        assert client.patch("/api/setup", json={"shop_name": "Mới"}).status_code == 200
        assert client.get("/api/setup").json()["problem"] is None
    assert json.loads((data_dir / FILE_NAME).read_text(encoding="utf-8")) == {"shop_name": "Mới"}


def test_an_invalid_stored_value_is_dropped_and_the_rest_kept(data_dir: Path) -> None:
    data_dir.mkdir(parents=True)
    stored = {"shop_name": "Tiệm", "bank_bin": "12", "unknown": 1}
    (data_dir / FILE_NAME).write_text(json.dumps(stored), encoding="utf-8")
    with laptop(data_dir) as client:
        assert field(client, "shop_name")["value"] == "Tiệm"
        assert field(client, "bank_bin")["value"] == ""


# -- secrets ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"),
    [("", ""), ("short", "••••"), ("123456789", "••••"), ("EAAB-token-1234", "••••1234")],
)
def test_mask_shows_at_most_the_last_four_characters_of_long_secrets(
    value: str, shown: str
) -> None:
    assert mask(value) == shown


def test_secrets_are_never_sent_back_in_full(data_dir: Path) -> None:
    with laptop(data_dir) as client:
        saved = client.patch("/api/setup", json={**SECRET_VALUES, **SHOPEE_FORM})
        answers = [saved, client.get("/api/setup"), client.get("/api/join")]
        answers.append(client.post("/api/setup/test/tiktok"))
        with client.websocket_connect(f"/ws/panel?token={HELPER}") as ws:
            answers_text = [a.text for a in answers] + [json.dumps(ws.receive_json())]
        fields = saved.json()["fields"]
    for name, value in SECRET_VALUES.items():
        assert all(value not in text for text in answers_text), name
        assert fields[name] == {
            "kind": "secret",
            "value": "••••" + value[-4:],
            "set": True,
            "locked": False,
            "env": None,
            "max_length": fields[name]["max_length"],
        }
    assert set(SECRET_VALUES) == SECRETS


def test_a_secret_is_kept_unless_replaced_or_cleared(data_dir: Path) -> None:
    token = SECRET_VALUES["facebook_page_token"]
    with laptop(data_dir) as client:
        client.patch("/api/setup", json={"facebook_page_token": token}).raise_for_status()
        settings = lambda: client.app.state.ctx.settings  # type: ignore[attr-defined]  # noqa: E731
        # PUT from the page: secrets it never had are left out, sent as null, or as the mask
        for body in ({}, {"facebook_page_token": None}, {"facebook_page_token": mask(token)}):
            client.put("/api/setup", json={"shop_name": "A", **body}).raise_for_status()
            assert settings().facebook_page_token == token
        client.patch("/api/setup", json={"facebook_page_token": "EAAB-new-0000"})
        assert settings().facebook_page_token == "EAAB-new-0000"
        client.patch("/api/setup", json={"facebook_page_token": ""}).raise_for_status()
        assert settings().facebook_page_token == ""
        assert field(client, "facebook_page_token")["set"] is False


def test_put_resets_what_it_leaves_out_and_patch_keeps_it(data_dir: Path) -> None:
    with laptop(data_dir) as client:
        client.put("/api/setup", json={"shop_name": "A", "obs_url": "ws://127.0.0.1:4455"})
        client.patch("/api/setup", json={"shop_name": "B"}).raise_for_status()
        assert field(client, "obs_url")["value"] == "ws://127.0.0.1:4455"
        client.put("/api/setup", json={"shop_name": "C"}).raise_for_status()
        obs_url = field(client, "obs_url")
        assert (obs_url["value"], obs_url["set"]) == ("", False)
        assert field(client, "shop_name")["value"] == "C"


# -- CHOTDON_* variables win -----------------------------------------------------------


def test_environment_variables_take_precedence_and_lock_the_field(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir.mkdir(parents=True)
    stored = {"tiktok_unique_id": "from_page", "shop_name": "Tiệm"}
    (data_dir / FILE_NAME).write_text(json.dumps(stored), encoding="utf-8")
    monkeypatch.setenv("CHOTDON_TIKTOK_UNIQUE_ID", "from_env")
    monkeypatch.setenv("CHOTDON_OBS_PASSWORD", "env-obs-password-7777")
    with laptop(data_dir) as client:
        settings = client.app.state.ctx.settings  # type: ignore[attr-defined]
        assert settings.tiktok_unique_id == "from_env"
        assert settings.shop_name == "Tiệm"
        handle = field(client, "tiktok_unique_id")
        assert handle["value"] == "from_env"
        assert (handle["locked"], handle["env"]) == (True, "CHOTDON_TIKTOK_UNIQUE_ID")
        password = field(client, "obs_password")
        assert (password["value"], password["locked"]) == ("••••7777", True)

        refused = client.patch("/api/setup", json={"tiktok_unique_id": "other"})
        assert refused.status_code == 422
        assert refused.json()["field"] == "tiktok_unique_id"
        assert "CHOTDON_TIKTOK_UNIQUE_ID" in refused.json()["error"]
        # the same value is no change; other fields still save; the lock survives saves
        assert client.patch("/api/setup", json={"tiktok_unique_id": "@from_env"}).is_success
        assert client.patch("/api/setup", json={"shop_name": "Mới"}).is_success
        assert field(client, "tiktok_unique_id")["locked"] is True
        assert client.app.state.ctx.settings.tiktok_unique_id == "from_env"  # type: ignore[attr-defined]


# -- validation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field_name", "words"),
    [
        ({"bank_bin": "97041", "bank_account": "1"}, "bank_bin", "6 digits"),
        ({"bank_bin": "970415"}, "bank_account", "both"),
        ({"bank_account": "123"}, "bank_bin", "both"),
        ({"bank_bin": "970415", "bank_account": "12#4"}, "bank_account", "letters or digits"),
        ({"tiktok_unique_id": "@tiệm hạt"}, "tiktok_unique_id", "@handle"),
        ({"order_confidence": 1.5}, "order_confidence", "between 0 and 1"),
        ({"order_confidence": "0.5"}, "order_confidence", "number"),
        ({"order_confidence": None}, "order_confidence", "number"),
        ({"mask_nicknames": "yes"}, "mask_nicknames", "true or false"),
        ({"obs_url": "http://127.0.0.1:4455"}, "obs_url", "ws://"),
        ({"obs_url": "ws://127.0.0.1:99999"}, "obs_url", "not a valid address"),
        ({"shopee_partner_id": "12a"}, "shopee_partner_id", "digits"),
        ({"shopee_partner_id": "1"}, "shopee_partner_key", "Shopee needs"),
        ({**SHOPEE_FORM, "shopee_user_id": ""}, "shopee_partner_key", "Shopee needs"),
        ({"shop_name": "x" * 101}, "shop_name", "at most 100"),
        ({"shop_name": "a\nb"}, "shop_name", "one line"),
        ({"shop_name": 5}, "shop_name", "text"),
        ({"helper_token": "stolen-token"}, "helper_token", "not a setting"),
    ],
)
def test_invalid_values_are_refused_naming_the_field(
    data_dir: Path, body: dict[str, Any], field_name: str, words: str
) -> None:
    with laptop(data_dir) as client:
        client.patch("/api/setup", json={"shop_name": "Trước"}).raise_for_status()
        for method in ("PUT", "PATCH"):
            reply = client.request(method, "/api/setup", json=body)
            assert reply.status_code == 422, reply.text
            assert set(reply.json()) == {"error", "field"}
            assert reply.json()["field"] == field_name
            assert reply.json()["error"].startswith(f"{field_name}")
            assert words in reply.json()["error"]
        assert field(client, "shop_name")["value"] == "Trước"  # nothing was saved
    assert json.loads((data_dir / FILE_NAME).read_text(encoding="utf-8")) == {"shop_name": "Trước"}


def test_shopee_needs_a_user_or_shop_id(data_dir: Path) -> None:
    form = {**SHOPEE_FORM, "shopee_user_id": ""}
    secrets = {"shopee_partner_key": PARTNER_KEY, "shopee_access_token": SHOPEE_TOKEN}
    with laptop(data_dir) as client:
        reply = client.patch("/api/setup", json={**form, **secrets})
        assert (reply.status_code, reply.json()["field"]) == (422, "shopee_user_id")
        assert client.patch(
            "/api/setup", json={**form, **secrets, "shopee_shop_id": "7"}
        ).is_success


def test_a_body_that_is_not_an_object_is_refused(data_dir: Path) -> None:
    with laptop(data_dir) as client:
        reply = client.put("/api/setup", json=["shop_name"])
        assert reply.status_code == 422
        assert set(reply.json()) == {"error", "field"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/setup"),
        ("PUT", "/api/setup"),
        ("PATCH", "/api/setup"),
        ("POST", "/api/setup/test/{platform}"),
    ],
)
def test_bad_requests_from_the_laptop_get_the_one_error_shape(
    data_dir: Path, method: str, path: str
) -> None:
    refused = 0
    with laptop(data_dir) as client:
        del client.headers["Authorization"]  # the battery brings its own
        # PUT gets the same bad bodies as PATCH
        for request in _bad_requests("PATCH" if method == "PUT" else method, path):
            response = client.request(method, **request)
            assert response.status_code < 500, f"{method} {request}: {response.text}"
            if response.status_code >= 400:
                refused += 1
                assert_error_shape(response)
    assert refused
    assert not (data_dir / FILE_NAME).exists()


# -- the laptop only -------------------------------------------------------------------


def test_only_the_laptop_with_the_token_may_use_the_setup_routes(data_dir: Path) -> None:
    settings = make_settings(data_dir)
    routes = [("GET", "/api/setup"), ("PATCH", "/api/setup"), ("POST", "/api/setup/test/obs")]
    # A phone on the Wi-Fi, even with the helper token.
    with TestClient(create_app(settings), client=("192.168.1.23", 50000)) as phone:
        for method, path in routes:
            reply = phone.request(method, path, headers=AUTH, json={"shop_name": "x"})
            assert reply.status_code == 403, path
            assert "laptop" in reply.json()["error"]
        assert phone.get("/setup").status_code == 403
    # Loopback client with a LAN name as Host (a rebound name arrives from loopback too).
    with TestClient(create_app(settings), client=("127.0.0.1", 50000)) as rebound:
        assert rebound.get("/api/setup", headers=AUTH).status_code == 403
        assert rebound.get("/setup").status_code == 403
    with TestClient(create_app(settings), **LAPTOP) as local:  # type: ignore[arg-type]
        assert local.get("/api/setup").status_code == 401
        assert local.get(f"/api/setup?token={HELPER}").status_code == 401  # header only
        wrong = {"Authorization": "Bearer wrong-token-0000"}
        assert local.patch("/api/setup", headers=wrong, json={"shop_name": "x"}).status_code == 401
        page = local.get("/setup")
        assert page.status_code == 200 and "setup.js" in page.text
        assert "default-src 'self'" in page.headers["content-security-policy"]
        assert local.get("/api/setup", headers=AUTH).status_code == 200
    assert not (data_dir / FILE_NAME).exists()


# -- applied without a restart ---------------------------------------------------------


def test_bank_account_turns_the_payment_qr_on_at_once(data_dir: Path) -> None:
    with laptop(data_dir) as client:
        qr = f"/api/qr/payment.svg?code=A1&key={OVERLAY}"
        assert client.get(qr).status_code == 404
        with client.websocket_connect(f"/ws/overlay?key={OVERLAY}") as ws:
            assert ws.receive_json()["state"]["payment_qr"] is False
            reply = client.patch("/api/setup", json={"bank_bin": "970415", "bank_account": "0123"})
            assert reply.status_code == 200
            pushed = socket_until(ws, lambda m: m["type"] == "snapshot")
            assert pushed["state"]["payment_qr"] is True
        answer = client.get(qr)
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("image/svg+xml")
        client.patch("/api/setup", json={"bank_bin": "", "bank_account": ""}).raise_for_status()
        assert client.get(qr).status_code == 404


def test_order_settings_are_used_by_the_running_app(data_dir: Path) -> None:
    with laptop(data_dir) as client:
        ctx = client.app.state.ctx  # type: ignore[attr-defined]
        before = ctx.settings
        client.patch("/api/setup", json={"order_confidence": 0.95, "mask_nicknames": False})
        assert (ctx.settings.order_confidence, ctx.settings.mask_nicknames) == (0.95, False)
        assert ctx.settings is not before and before.order_confidence == 0.8


def test_a_facebook_token_starts_the_connector_without_a_restart(
    data_dir: Path, fakes: LoopThread
) -> None:
    graph = FakeGraph([graph_comment(1, message="A1 2kg nha chị")])
    reads = threading.Event()

    def handler(request: Any) -> tuple[Any, ...]:
        if request.path.endswith("/comments") and request.query.get("access_token") == FB_TOKEN:
            reads.set()
        return graph(request)

    server = fakes.http(handler)
    with laptop(data_dir, facebook_base_url=server.base_url) as client:
        ctx = client.app.state.ctx  # type: ignore[attr-defined]
        assert not [t for t in ctx.tasks if t.get_name() == "connectors"]
        with client.websocket_connect(f"/ws/panel?token={HELPER}") as ws:
            reply = client.patch("/api/setup", json={"facebook_page_token": FB_TOKEN})
            assert reply.status_code == 200
            pushed = socket_until(ws, lambda m: m["type"] == "comments")
        assert reads.is_set()
        assert [c["text"] for c in pushed["items"]] == ["A1 2kg nha chị"]
        live_videos = [r for r in server.requests if r.path.endswith("/me/live_videos")]
        assert live_videos, "the live video is found from the Page token alone"
        running = [t for t in ctx.tasks if t.get_name() == "connectors"]
        assert len(running) == 1

        # a change that leaves the connectors' options alone does not restart them
        client.patch("/api/setup", json={"shop_name": "Tiệm"}).raise_for_status()
        assert [t for t in ctx.tasks if t.get_name() == "connectors"] == running
        # clearing the token stops the connector
        client.patch("/api/setup", json={"facebook_page_token": ""}).raise_for_status()
        assert running[0].done()
        assert not [t for t in ctx.tasks if t.get_name() == "connectors"]
    assert VIDEO in {r.path.split("/")[2] for r in server.requests if r.path.endswith("comments")}


# -- test connection -------------------------------------------------------------------


def test_facebook_test_finds_the_live_video(data_dir: Path, fakes: LoopThread) -> None:
    graph = FakeGraph([])
    server = fakes.http(graph)
    with laptop(data_dir, facebook_base_url=server.base_url) as client:
        # unsaved form values are tested as they are, and nothing is saved
        reply = client.post("/api/setup/test/facebook", json={"facebook_page_token": FB_TOKEN})
        assert reply.json() == {
            "platform": "facebook",
            "ok": True,
            "code": "facebook_live",
            "detail": "",
            "vars": {"video": VIDEO},
        }
        graph.live = []
        idle = client.post("/api/setup/test/facebook", json={"facebook_page_token": FB_TOKEN})
        assert (idle.json()["ok"], idle.json()["code"]) == (True, "facebook_no_live")
        wrong = client.post("/api/setup/test/facebook", json={"facebook_page_token": "EAAB-x"})
        assert (wrong.json()["ok"], wrong.json()["code"]) == (False, "failed")
        assert "expired or revoked" in wrong.json()["detail"]
        assert "EAAB-x" not in wrong.text
        empty = client.post("/api/setup/test/facebook").json()
        assert (empty["code"], empty["vars"]) == ("missing", {"field": "facebook_page_token"})
        assert field(client, "facebook_page_token")["set"] is False
    assert not (data_dir / FILE_NAME).exists()
    assert {r.query["access_token"] for r in server.requests} == {FB_TOKEN, "EAAB-x"}


def test_shopee_test_makes_a_signed_call(data_dir: Path, fakes: LoopThread) -> None:
    shopee = FakeShopee([], token_expires=int(time.time()) + 3600)
    shopee.now = time.time()  # the fake's clock is Shopee's; ours is real here
    server = fakes.http(shopee)
    secrets = {"shopee_partner_key": PARTNER_KEY, "shopee_access_token": SHOPEE_TOKEN}
    with laptop(data_dir, shopee_base_url=server.base_url) as client:
        client.patch("/api/setup", json={**SHOPEE_FORM, **secrets}).raise_for_status()
        ok = client.post("/api/setup/test/shopee").json()  # the saved values
        assert (ok["ok"], ok["code"], ok["vars"]) == (True, "shopee_ok", {"comments": 0})
        bad = client.post("/api/setup/test/shopee", json={"shopee_partner_key": "wrong-key"})
        assert (bad.json()["ok"], bad.json()["code"]) == (False, "failed")
        assert "error_sign" in bad.json()["detail"]
        assert "wrong-key" not in bad.text
    request = server.requests[0]
    assert request.query["user_id"] == str(USER_ID) and "sign" in request.query


def test_obs_test_authenticates_with_the_documented_scheme(
    data_dir: Path, fakes: LoopThread
) -> None:
    obs = fakes.obs(password="obs-pass-1234")
    with laptop(data_dir) as client:
        client.patch("/api/setup", json={"obs_url": obs.url}).raise_for_status()
        needs = client.post("/api/setup/test/obs").json()
        assert (needs["ok"], needs["code"]) == (False, "obs_needs_password")
        wrong = client.post("/api/setup/test/obs", json={"obs_password": "nope"}).json()
        assert (wrong["ok"], wrong["code"]) == (False, "obs_wrong_password")
        right = client.post("/api/setup/test/obs", json={"obs_password": "obs-pass-1234"}).json()
        assert right == {
            "platform": "obs",
            "ok": True,
            "code": "obs_ok",
            "detail": "",
            "vars": {"version": "5.5.2"},
        }
    assert (obs.identified, obs.refused) == (1, 1)


def test_obs_test_reports_an_unreachable_obs(data_dir: Path, fakes: LoopThread) -> None:
    obs = fakes.obs()
    url = obs.url
    fakes.call(obs.close)
    with laptop(data_dir) as client:
        gone = client.post("/api/setup/test/obs", json={"obs_url": url}).json()
        assert (gone["ok"], gone["code"]) == (False, "obs_unreachable")
        assert gone["detail"]


def test_obs_auth_matches_the_documented_formula() -> None:
    salt, challenge = "lM1GncleQOaCu9lT1yeUZhFYnqhsLLP1G5lAGo3ixaI=", "+IxH4CnCiqpX1rM9scsN"
    assert obs_auth("pw", salt, challenge) == expected_auth("pw", salt, challenge)
    assert obs_auth("pw", salt, challenge) != obs_auth("pW", salt, challenge)


def test_tiktok_test_says_when_the_library_is_missing(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "TikTokLive" else real(name)
    )
    with laptop(data_dir) as client:
        reply = client.post("/api/setup/test/tiktok", json={"tiktok_unique_id": "@tiem"}).json()
    assert reply["ok"] is False
    assert reply["code"] == "tiktok_no_library"
    assert reply["vars"] == {"install": "pip install 'chotdon[tiktok]'"}


def test_unknown_platform_and_invalid_form_values_are_refused(data_dir: Path) -> None:
    with laptop(data_dir) as client:
        unknown = client.post("/api/setup/test/myspace")
        assert (unknown.status_code, unknown.json()["field"]) == (422, "platform")
        bad = client.post("/api/setup/test/obs", json={"obs_url": "obs.local"})
        assert (bad.status_code, bad.json()["field"]) == (422, "obs_url")
