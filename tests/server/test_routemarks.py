"""Middlewares configured per route (issue 9): the upload-size limit and the ingestion
rate limit apply to the routes that declare them, whatever the path looks like."""

from __future__ import annotations

import io

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from server.app import ROUTERS
from server.routemarks import ingests, marked_routes, upload_limit

from .conftest import AUTH

TWO_MB = 2 * 1024 * 1024  # over max_body_bytes (1 MiB), under max_upload_bytes (5 MiB)


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def _names(marker: object) -> set[str]:
    routes = [route for router in ROUTERS for route in router.routes]
    return {getattr(r, "name", "") for r in marked_routes(routes, marker)}  # type: ignore[arg-type]


def test_the_marked_routes_are_the_upload_and_ingestion_routes() -> None:
    assert _names(upload_limit) == {"upload_image", "import_catalog"}
    assert _names(ingests) == {"post_comments", "ingest_socket"}


def test_a_two_megabyte_image_is_accepted_on_the_upload_route(client: TestClient) -> None:
    # Trailing bytes after IEND: a valid PNG of the size under test.
    big = _png() + b"\0" * (TWO_MB - len(_png()))
    response = client.post(
        "/api/products/A1/image", files={"file": ("a.png", big, "image/png")}, headers=AUTH
    )
    assert response.status_code == 200, response.text
    assert response.json()["image"].startswith("A1-")


def test_a_two_megabyte_catalog_reaches_the_import_route(client: TestClient) -> None:
    # A file the importer refuses at its header, so the test does not import 2 MB of rows.
    body = b"not,a,catalog\n" + b"x" * TWO_MB
    response = client.post(
        "/api/catalog/import", files={"file": ("c.csv", body, "text/csv")}, headers=AUTH
    )
    assert response.status_code == 422, response.text
    assert "over" not in response.json()["error"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/products"),  # a JSON route
        ("POST", "/api/products/import-foo"),  # "/import" in the path, not an upload route
        ("PATCH", "/api/products/image"),  # a product coded IMAGE is not an upload either
        ("POST", "/api/products?next=/image"),  # nor is a query string naming one
        ("POST", "/api/comments?x=/import"),
        ("GET", "/api/products/A1/image"),  # the upload route's path, another method
    ],
)
def test_two_megabytes_elsewhere_get_413(client: TestClient, method: str, path: str) -> None:
    response = client.request(
        method, path, content=b"x" * TWO_MB, headers={**AUTH, "Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json() == {"error": f"request body over {1024 * 1024} bytes", "field": None}


def test_a_streamed_body_without_length_is_cut_at_the_route_limit(client: TestClient) -> None:
    def chunks() -> object:
        for _ in range(4):
            yield b"x" * (512 * 1024)

    headers = {**AUTH, "Content-Type": "application/json"}
    response = client.post("/api/products", content=chunks(), headers=headers)  # type: ignore[arg-type]
    assert response.status_code == 413  # was a 400: FastAPI hid the limit's own error
    assert response.json()["error"] == f"request body over {1024 * 1024} bytes"
