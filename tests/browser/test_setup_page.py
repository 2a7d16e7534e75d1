"""The setup page in real headless Chromium: fill, save, reload, masked secrets,
"test connection" against loopback fakes, errors shown beside their field."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from server.settings import Settings
from tests.connectors.test_facebook import TOKEN as FB_TOKEN
from tests.connectors.test_facebook import VIDEO, FakeGraph
from tests.server.setup_fakes import FakeOBS, LoopThread, loop_thread

from .conftest import HELPER, OVERLAY, start_server

pytestmark = pytest.mark.browser

OBS_PASSWORD = "obs-browser-pass-4321"


class Setup:
    def __init__(self, base_url: str, data_dir: Path, graph: FakeGraph, obs: FakeOBS) -> None:
        self.base_url = base_url
        self.data_dir = data_dir
        self.graph = graph
        self.obs = obs


@pytest.fixture
def fakes() -> Iterator[LoopThread]:
    with loop_thread() as thread:
        yield thread


@pytest.fixture
def setup_server(tmp_path: Path, fakes: LoopThread) -> Iterator[Setup]:
    graph = FakeGraph([])
    graph_server = fakes.http(graph)
    obs = fakes.obs(OBS_PASSWORD)
    settings = Settings(
        data_dir=tmp_path / "data",
        helper_token=HELPER,
        overlay_key=OVERLAY,
        demo=True,
        demo_comments=False,
        facebook_base_url=graph_server.base_url,
        shopee_base_url="http://127.0.0.1:9",
    )
    server, thread, _app = start_server(settings)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield Setup(f"http://127.0.0.1:{port}", tmp_path / "data", graph, obs)
    server.should_exit = True
    thread.join(20)


def _open(page: Any, url: str) -> None:
    page.goto(url)
    expect(page.locator("body")).to_have_attribute("data-ready", "true")


def test_fill_save_reload_and_test_connections(setup_server: Setup, page: Any) -> None:
    page.set_viewport_size({"width": 900, "height": 1000})  # the laptop
    page.goto(f"{setup_server.base_url}/")  # the laptop page links to the setup page
    page.click("#open-setup")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    expect(page.locator("h1")).to_have_text("Cài đặt")
    expect(page.locator("#card-facebook h2")).to_have_text("Facebook Live")

    page.fill("#f-shop_name", "Tiệm Hạt Dẻ Cô Ba")
    page.fill("#f-tiktok_unique_id", "@tiem.hatde")
    page.fill("#f-facebook_page_token", FB_TOKEN)
    page.fill("#f-bank_bin", "970415")
    page.fill("#f-bank_account", "1133 6666 8888")
    page.fill("#f-obs_url", setup_server.obs.url)
    page.fill("#f-obs_password", OBS_PASSWORD)
    page.fill("#f-order_confidence", "70")
    page.uncheck("#f-mask_nicknames")
    page.click("#save")
    expect(page.locator("#saved")).to_have_text("Đã lưu và áp dụng ngay")

    page.reload()  # no #token: the page finds it through /api/join, on the laptop only
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    expect(page.locator("#f-shop_name")).to_have_value("Tiệm Hạt Dẻ Cô Ba")
    expect(page.locator("#f-tiktok_unique_id")).to_have_value("tiem.hatde")
    expect(page.locator("#f-bank_account")).to_have_value("113366668888")
    expect(page.locator("#f-order_confidence")).to_have_value("70")
    expect(page.locator("#f-mask_nicknames")).not_to_be_checked()
    token_box = page.locator("#f-facebook_page_token")
    expect(token_box).to_have_value("")
    expect(token_box).to_have_attribute("placeholder", f"Đã lưu ••••{FB_TOKEN[-4:]} — gõ để thay")
    expect(page.locator("#f-obs_password")).to_have_attribute(
        "placeholder", f"Đã lưu ••••{OBS_PASSWORD[-4:]} — gõ để thay"
    )
    assert FB_TOKEN not in page.content() and OBS_PASSWORD not in page.content()

    page.click("#test-facebook")  # the saved token, against the fake Graph API
    result = page.locator("#result-facebook")
    expect(result).to_have_attribute("data-ok", "true")
    expect(result).to_have_text(
        f"Kết nối được: Trang đang live (video {VIDEO}), bình luận sẽ được đọc."
    )
    page.click("#test-obs")
    expect(page.locator("#result-obs")).to_have_text(
        "Kết nối được với OBS (obs-websocket 5.5.2), mật khẩu đúng."
    )
    page.fill("#f-obs_password", "not-the-password")  # unsaved: tested as typed
    page.click("#test-obs")
    expect(page.locator("#result-obs")).to_have_attribute("data-ok", "false")
    expect(page.locator("#result-obs")).to_have_text("OBS từ chối: sai mật khẩu WebSocket.")
    page.click("#test-tiktok")
    expect(page.locator("#result-tiktok")).to_contain_text("Chưa cài thư viện TikTokLive")
    # The recording follower signs in too once the URL is saved, so at least one.
    assert setup_server.obs.identified >= 1 and setup_server.obs.refused == 1
    assert page.dialogs == []


def test_an_error_is_shown_beside_its_field_and_nothing_is_saved(
    setup_server: Setup, page: Any
) -> None:
    _open(page, f"{setup_server.base_url}/setup#token={HELPER}")
    page.fill("#f-bank_bin", "97041")
    page.fill("#f-bank_account", "0123")
    page.click("#save")
    row = page.locator("#row-bank_bin")
    expect(row).to_have_class("field invalid")
    expect(page.locator("#error-bank_bin")).to_contain_text("6 digits")
    expect(page.locator("#notice")).to_have_text("Kiểm tra lại ô “Mã ngân hàng (BIN, 6 số)”")
    expect(page.locator("#saved")).to_have_text("")
    assert not (setup_server.data_dir / "setup.json").exists()


def test_the_page_speaks_english_and_indonesian(setup_server: Setup, page: Any) -> None:
    _open(page, f"{setup_server.base_url}/setup?lang=en#token={HELPER}")
    expect(page.locator("#save")).to_have_text("Save settings")
    expect(page.locator("#test-facebook")).to_have_text("Test connection")
    _open(page, f"{setup_server.base_url}/setup?lang=id#token={HELPER}")
    expect(page.locator("#save")).to_have_text("Simpan pengaturan")
    expect(page.locator("label[for=f-bank_account]")).to_have_text("Nomor rekening")


def test_a_saved_secret_can_be_cleared(setup_server: Setup, page: Any) -> None:
    import httpx

    auth = {"Authorization": f"Bearer {HELPER}"}
    saved = httpx.patch(
        f"{setup_server.base_url}/api/setup", json={"obs_password": OBS_PASSWORD}, headers=auth
    )
    saved.raise_for_status()
    _open(page, f"{setup_server.base_url}/setup#token={HELPER}")
    page.click('[data-clear="obs_password"]')
    expect(page.locator("#f-obs_password")).to_have_attribute("placeholder", "Sẽ xoá khi lưu")
    page.click("#save")
    expect(page.locator("#saved")).to_have_text("Đã lưu và áp dụng ngay")
    expect(page.locator("#f-obs_password")).to_have_attribute("placeholder", "Chưa đặt")
    expect(page.locator('[data-clear="obs_password"]')).to_have_count(0)
    stored = httpx.get(f"{setup_server.base_url}/api/setup", headers=auth).json()
    assert stored["fields"]["obs_password"]["set"] is False


def test_a_field_set_by_the_environment_is_read_only(
    tmp_path: Path, page: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHOTDON_SHOP_NAME", "Tiệm từ biến môi trường")
    settings = Settings(
        data_dir=tmp_path / "data", helper_token=HELPER, overlay_key=OVERLAY, demo_comments=False
    )
    server, thread, _app = start_server(settings)
    try:
        port = server.servers[0].sockets[0].getsockname()[1]
        _open(page, f"http://127.0.0.1:{port}/setup#token={HELPER}")
        box = page.locator("#f-shop_name")
        expect(box).to_have_value("Tiệm từ biến môi trường")
        expect(box).to_be_disabled()
        expect(page.locator("#row-shop_name .locked")).to_have_text(
            "Đặt bởi biến môi trường CHOTDON_SHOP_NAME, không sửa ở đây được"
        )
        page.click("#save")  # the rest still saves; the locked field is not sent
        expect(page.locator("#saved")).to_have_text("Đã lưu và áp dụng ngay")
    finally:
        server.should_exit = True
        thread.join(20)
