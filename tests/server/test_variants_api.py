"""Products with variants through the REST API: created, read with price_now, patched."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.server.conftest import AUTH

BAG = {
    "code": "c8",
    "name": "Túi thổ cẩm",
    "price": 200000,
    "unit": "cái",
    "aliases": ["túi thổ cẩm"],
    "variants": [
        {"key": "xanh", "name": "Túi xanh", "price": 200000, "stock": 4, "aliases": ["xanh"]},
        {"key": "Vàng", "name": "Túi vàng", "price": 210000, "sale_price": 190000, "stock": 2},
    ],
}


def test_create_a_product_with_variants_and_read_them_back(client: TestClient) -> None:
    created = client.post("/api/products", json=BAG, headers=AUTH)
    assert created.status_code == 201, created.text
    got = client.get("/api/products/C8", headers=AUTH).json()
    assert got == created.json()
    assert [(v["key"], v["name"], v["price_now"], v["stock"]) for v in got["variants"]] == [
        ("XANH", "Túi xanh", 200000, 4),
        ("VANG", "Túi vàng", 190000, 2),
    ]
    assert got["stock"] == 6  # the product has what its variants have
    listed = {p["code"]: p for p in client.get("/api/products", headers=AUTH).json()}
    assert listed["C8"]["variants"][1]["aliases"] == []
    assert listed["A1"]["variants"] == []


def test_patch_replaces_the_variants(client: TestClient) -> None:
    client.post("/api/products", json=BAG, headers=AUTH)
    one = [{"key": "do", "name": "Túi đỏ", "price": 230000, "stock": 1}]
    patched = client.patch("/api/products/C8", json={"variants": one}, headers=AUTH).json()
    assert [v["key"] for v in patched["variants"]] == ["DO"]
    cleared = client.patch("/api/products/C8", json={"variants": []}, headers=AUTH).json()
    assert cleared["variants"] == []


def test_bad_variants_are_refused_naming_the_field(client: TestClient) -> None:
    twice = {**BAG, "variants": [BAG["variants"][0], BAG["variants"][0]]}  # type: ignore[index]
    response = client.post("/api/products", json=twice, headers=AUTH)
    assert response.status_code == 422 and response.json()["field"].startswith("variants")
    dear = {**BAG, "variants": [{"key": "x", "name": "x", "price": 5, "sale_price": 9}]}
    response = client.post("/api/products", json=dear, headers=AUTH)
    assert response.status_code == 422 and response.json()["field"].startswith("variants")


def test_demo_catalog_variants_survive_export_and_import(client: TestClient) -> None:
    shoots = client.get("/api/products/B3", headers=AUTH).json()
    assert [v["key"] for v in shoots["variants"]] == ["500G", "1KG"]
    exported = client.get("/api/catalog/export", headers=AUTH).content
    response = client.post(
        "/api/catalog/import", files={"file": ("c.csv", exported, "text/csv")}, headers=AUTH
    )
    assert response.json() == {"created": 0, "updated": 8}
    assert client.get("/api/products/B3", headers=AUTH).json() == shoots
