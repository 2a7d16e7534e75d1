from __future__ import annotations

import io
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from .conftest import AUTH, OVERLAY

CONTROL_ROUTES = [
    ("GET", "/api/products"),
    ("POST", "/api/products"),
    ("PATCH", "/api/products/A1"),
    ("DELETE", "/api/products/A1"),
    ("POST", "/api/products/A1/image"),
    ("POST", "/api/catalog/import"),
    ("GET", "/api/catalog/export"),
    ("GET", "/api/live"),
    ("POST", "/api/live/pin"),
    ("POST", "/api/live/price"),
    ("POST", "/api/live/stock"),
    ("POST", "/api/live/countdown"),
    ("POST", "/api/live/element"),
    ("POST", "/api/live/session/start"),
    ("GET", "/api/sessions"),
]


def _png(size: tuple[int, int] = (8, 8)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "red").save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(("method", "path"), CONTROL_ROUTES)
@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong-token-0000"}, {"Authorization": f"Bearer {OVERLAY}"}],
    ids=["none", "wrong", "overlay-key"],
)
def test_control_routes_refuse_without_the_helper_token(
    client: TestClient, method: str, path: str, headers: dict[str, str]
) -> None:
    response = client.request(method, path, headers=headers, json={"code": "A1"})
    assert response.status_code == 401
    assert response.json()["error"] == "missing or wrong helper token"


def test_token_in_query_only_works_for_downloads(client: TestClient) -> None:
    token = AUTH["Authorization"][7:]
    assert client.get(f"/api/catalog/export?token={token}").status_code == 200
    assert client.post(f"/api/live/pin?token={token}", json={"code": "A1"}).status_code == 401


def test_products_crud_round_trip(client: TestClient) -> None:
    body = {
        "code": "c7",
        "name": "Tương ớt",
        "price": 40000,
        "unit": "chai",
        "stock": 5,
        "aliases": ["tương"],
    }
    created = client.post("/api/products", json=body, headers=AUTH)
    assert created.status_code == 201
    assert created.json()["code"] == "C7"
    assert client.post("/api/products", json=body, headers=AUTH).status_code == 409
    patched = client.patch(
        "/api/products/C7", json={"price": 45000, "stock": 9}, headers=AUTH
    ).json()
    assert (patched["price"], patched["stock"]) == (45000, 9)
    assert client.get("/api/products/c7", headers=AUTH).json()["name"] == "Tương ớt"
    assert client.delete("/api/products/C7", headers=AUTH).status_code == 204
    missing = client.get("/api/products/C7", headers=AUTH)
    assert missing.status_code == 404 and "C7" in missing.json()["error"]


def test_product_codes_are_normalised_like_the_catalog_import(client: TestClient) -> None:
    body = {"code": " #Ａ７ ", "name": "Mắm tôm", "price": 30000, "unit": "hũ"}
    created = client.post("/api/products", json=body, headers=AUTH)
    assert created.status_code == 201 and created.json()["code"] == "A7"
    for bad in ("Á1", "-A1", "A" * 17, "A 1"):
        response = client.post("/api/products", json={**body, "code": bad}, headers=AUTH)
        assert response.status_code == 422 and response.json()["field"] == "code", bad
    assert [p["code"] for p in client.get("/api/products", headers=AUTH).json()].count("A7") == 1


def test_validation_errors_name_the_field(client: TestClient) -> None:
    response = client.patch("/api/products/A1", json={"sale_price": 999999}, headers=AUTH)
    assert response.status_code == 422
    assert response.json()["field"] == "sale_price"
    response = client.post("/api/live/pin", json={}, headers=AUTH)
    assert response.status_code == 422 and response.json()["field"] == "code"
    response = client.post("/api/live/pin", json={"code": "Z9"}, headers=AUTH)
    assert response.status_code == 404


def test_image_upload_checks_content_not_name(client: TestClient, settings: object) -> None:
    ok = client.post(
        "/api/products/A1/image", files={"file": ("x.txt", _png(), "text/plain")}, headers=AUTH
    )
    assert ok.status_code == 200
    name = ok.json()["image"]
    assert name.startswith("A1-") and name.endswith(".png")
    assert client.get(f"/media/{name}").content == _png()
    bad = client.post(
        "/api/products/A1/image",
        files={"file": ("evil.png", b"<svg onload=alert(1)>", "image/png")},
        headers=AUTH,
    )
    assert bad.status_code == 422 and bad.json()["field"] == "file"
    unknown = client.post(
        "/api/products/ZZ/image", files={"file": ("a.png", _png(), "image/png")}, headers=AUTH
    )
    assert unknown.status_code == 404


def test_oversized_upload_is_refused_with_413(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient as Client

    from server.app import create_app

    from .conftest import make_settings

    with Client(create_app(make_settings(tmp_path, max_upload_bytes=2000))) as small:
        big = _png((400, 400)) + b"\0" * 4000
        response = small.post(
            "/api/products/A1/image", files={"file": ("a.png", big, "image/png")}, headers=AUTH
        )
        assert response.status_code == 413


def test_media_refuses_path_traversal(client: TestClient) -> None:
    assert client.get("/media/..%2Fchotdon.db").status_code == 404
    assert client.get("/media/.secrets.png").status_code == 404


def test_bad_catalog_import_changes_nothing(client: TestClient) -> None:
    before = client.get("/api/products", headers=AUTH).json()
    bad = "code,name,price,unit,stock,aliases\nA1,Đổi tên,1000,kg,3,\nA2,Miến,abc,gói,1,\n"
    response = client.post(
        "/api/catalog/import", files={"file": ("c.csv", bad.encode(), "text/csv")}, headers=AUTH
    )
    assert response.status_code == 422
    assert (response.json()["row"], response.json()["column"]) == (3, "price")
    assert client.get("/api/products", headers=AUTH).json() == before


def test_catalog_import_then_export_xlsx(client: TestClient) -> None:
    good = (
        "code,name,price,unit,stock,aliases\n"
        "A1,Hạt dẻ rang,200000,kg,3,dẻ\nC1,Mắm tôm,30000,hũ,12,mắm|mam tom\n"
    )
    response = client.post(
        "/api/catalog/import", files={"file": ("c.csv", good.encode(), "text/csv")}, headers=AUTH
    )
    assert response.json() == {"created": 1, "updated": 1}
    exported = client.get("/api/catalog/export?format=xlsx", headers=AUTH)
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(exported.content)).active
    names = {row[0]: row[1] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert names["A1"] == "Hạt dẻ rang" and names["C1"] == "Mắm tôm"
    csv_text = client.get("/api/catalog/export", headers=AUTH).content.decode("utf-8")
    assert csv_text.startswith("\ufeffcode,name,price")


def test_request_body_over_the_limit_is_413(client: TestClient) -> None:
    response = client.post(
        "/api/live/pin", content=b"{" + b" " * (2 * 1024 * 1024) + b"}", headers=AUTH
    )
    assert response.status_code == 413


def test_pages_send_a_strict_content_security_policy(client: TestClient) -> None:
    for path in ("/", "/panel", "/overlay"):
        response = client.get(path)
        assert response.status_code == 200
        policy = response.headers["content-security-policy"]
        assert "default-src 'self'" in policy and "script-src 'self'" in policy


def test_join_info_is_for_the_laptop_only(client: TestClient) -> None:
    # TestClient's peer is "testclient", not loopback: like a phone on the LAN.
    assert client.get("/api/join").status_code == 403
    assert client.get("/api/qr/join.svg").status_code == 403


def test_payment_qr_needs_a_key_and_a_bank_account(client: TestClient) -> None:
    assert client.get("/api/qr/payment.svg?code=A1").status_code == 401
    assert client.get(f"/api/qr/payment.svg?code=A1&key={OVERLAY}").status_code == 404
