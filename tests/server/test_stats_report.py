"""The after-live report: its data, its server-drawn charts and its PNG/PDF downloads."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from server.app import create_app
from tests.orders.conftest import AUTH, HELPER, Api, comment, make_settings

from .stats_session import Clock, build_session, freeze

NAME = '<b>Mắm & "tôm"</b>'


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return freeze(monkeypatch)


@pytest.fixture
def api(tmp_path: Any) -> Any:
    # Every doubtful comment waits for a helper, so the report has decisions to show.
    settings = make_settings(tmp_path / "data", order_confidence=0.95)
    with TestClient(create_app(settings)) as client:
        yield Api(client)


def two_sessions(api: Api, clock: Clock) -> int:
    """Lan buys in session 1; in session 2 she comes back, Hoa is new, helpers review."""
    build_session(api, clock)
    api.post(
        "/api/products",
        {"code": "C9", "name": NAME, "price": 50_000, "unit": "hũ", "stock": 9},
        201,
    )
    clock.at(600)
    api.post("/api/live/session/start", {"title": "Phiên 2"})
    api.pin("C9")
    clock.at(610)
    api.ingest(comment("20", "C9 x2"), comment("21", "C9 x1", user="new", nickname="<i>Mới</i>"))
    clock.at(680)
    api.ingest(comment("22", "ship Bắc Kạn bao lâu?", user="hoa", nickname="Hoa"))
    first, second = api.ingest(comment("23", "lấy 2 hũ mắm"), comment("24", "hmm"))
    edited = {"intent": "order", "items": [{"code": "C9", "qty": 3}]}
    assert first["status"] == "review" and second["status"] == "other"
    api.post(f"/api/comments/{first['comment_id']}/confirm", edited)
    api.post(f"/api/comments/{second['comment_id']}/reject")  # a helper clears the noise
    session: int = api.state()["session"]["id"]
    clock.at(760)
    api.post("/api/live/session/stop", {})
    return session


def test_the_report_counts_buyers_questions_and_decisions(api: Api, clock: Clock) -> None:
    session = two_sessions(api, clock)
    report = api.get(f"/api/sessions/{session}/report")
    assert report["buyers"] == {"total": 2, "new": 1, "returning": 1}  # Lan returned
    assert [q["text"] for q in report["questions_list"]] == ["ship Bắc Kạn bao lâu?"]
    assert report["decisions"]["counts"] == {"confirm": 0, "edit": 1, "reject": 1}
    [edit, reject] = report["decisions"]["items"]
    assert (edit["action"], edit["items"]) == ("edit", [{"code": "C9", "qty": 3}])
    assert reject["action"] == "reject" and reject["text"] == "hmm"
    assert report["revenue"] == api.get(f"/api/sessions/{session}/stats")["revenue"] == 6 * 50_000


def test_the_charts_carry_the_numbers_and_escape_the_words(api: Api, clock: Clock) -> None:
    session = two_sessions(api, clock)
    stats = api.get(f"/api/sessions/{session}/stats")
    svg = api.client.get(f"/api/sessions/{session}/report/timeline.svg", headers=AUTH)
    assert svg.headers["content-type"].startswith("image/svg+xml")
    bars = re.findall(r'class="bar-orders" data-t="([^"]+)" data-value="(\d+)"', svg.text)
    assert bars == [(m["t"], str(m["orders"])) for m in stats["per_minute"]]
    assert 'class="band" data-code="C9"' in svg.text
    products = api.client.get(f"/api/sessions/{session}/report/products.svg?lang=en", headers=AUTH)
    assert (
        "&lt;b&gt;Mắm &amp; &quot;tôm&quot;&lt;/b&gt;" in products.text
        and "<b>" not in products.text
    )
    assert "Revenue by product" in products.text
    assert 'data-code="C9" data-value="300000"' in products.text


def test_png_and_pdf_are_one_a4_page(api: Api, clock: Clock) -> None:
    session = two_sessions(api, clock)
    png = api.client.get(f"/api/sessions/{session}/report.png?token={HELPER}")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    with Image.open(io.BytesIO(png.content)) as image:
        assert image.size == (1240, 1754)
        # The revenue bar is drawn in the accent colour somewhere on the page.
        assert (214, 40, 40) in {colour for _, colour in image.getcolors(1 << 20) or []}
    pdf = api.client.get(f"/api/sessions/{session}/report.pdf?token={HELPER}&lang=id")
    assert (
        pdf.content.startswith(b"%PDF") and b"/MediaBox [ 0 0 595.2 841.92 ]" in pdf.content
    )  # A4 in points
    assert "attachment" in pdf.headers["content-disposition"]
    assert api.client.get(f"/api/sessions/{session}/report.pdf").status_code == 401


def test_the_report_page_is_a_static_shell(api: Api) -> None:
    page = api.client.get("/report/1")
    assert page.status_code == 200 and '<script type="module" src="/static/report.js">' in page.text
    assert api.client.get("/api/sessions/1/report").status_code == 401
