"""One error shape for every JSON route: ``{"error": str, "field": str | None}``.

Every HTTP route of the app is sent bad input (no token, wrong token, malformed JSON,
wrong types, unknown ids); every 4xx JSON answer must have exactly that shape (catalog
imports add ``row`` and ``column``). A route added later without being listed here
fails ``test_every_route_is_covered``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from .conftest import AUTH

# Pages and files: they answer HTML, CSS, images or SVG, never a JSON error.
NON_JSON = {
    ("GET", "/"),
    ("GET", "/panel"),
    ("GET", "/overlay"),
    ("GET", "/theme.css"),
    ("GET", "/placeholder.png"),
    ("GET", "/report/{session_id}"),
    ("GET", "/studio"),
}

COVERED = {
    ("GET", "/media/{name}"),
    ("GET", "/media/shops/{slug}/{name}"),
    ("GET", "/api/join"),
    ("GET", "/api/qr/join.svg"),
    ("GET", "/api/qr/payment.svg"),
    ("GET", "/api/products"),
    ("POST", "/api/products"),
    ("GET", "/api/products/{code}"),
    ("PATCH", "/api/products/{code}"),
    ("DELETE", "/api/products/{code}"),
    ("POST", "/api/products/{code}/image"),
    ("POST", "/api/catalog/import"),
    ("GET", "/api/catalog/export"),
    ("GET", "/api/live"),
    ("POST", "/api/live/pin"),
    ("POST", "/api/live/unpin"),
    ("POST", "/api/live/price"),
    ("POST", "/api/live/stock"),
    ("POST", "/api/live/countdown"),
    ("POST", "/api/live/countdown/stop"),
    ("POST", "/api/live/element"),
    ("POST", "/api/live/session/start"),
    ("POST", "/api/live/session/stop"),
    ("GET", "/api/sessions"),
    ("GET", "/api/sessions/{session_id}/events"),
    ("POST", "/api/comments"),
    ("POST", "/api/comments/manual"),
    ("GET", "/api/comments"),
    ("GET", "/api/comments/{comment_id}"),
    ("POST", "/api/comments/{comment_id}/confirm"),
    ("POST", "/api/comments/{comment_id}/reject"),
    ("GET", "/api/parser/alias-suggestions"),
    ("POST", "/api/comments/{comment_id}/show"),
    ("POST", "/api/comments/hide"),
    ("GET", "/api/orders"),
    ("POST", "/api/orders/lines/{line_id}/status"),
    ("POST", "/api/orders/buyers/{customer_id}/status"),
    ("POST", "/api/orders/waitlist/{code}/promote"),
    ("GET", "/api/orders/export.csv"),
    ("GET", "/api/orders/export.xlsx"),
    ("GET", "/api/orders/slips"),
    ("GET", "/api/customers"),
    ("GET", "/api/customers/{customer_id}"),
    ("PATCH", "/api/customers/{customer_id}"),
    ("GET", "/api/connectors"),
    ("GET", "/api/sessions/{session_id}/stats"),
    ("GET", "/api/sessions/{session_id}/report"),
    ("GET", "/api/sessions/{session_id}/report/{chart}.svg"),
    ("GET", "/api/sessions/{session_id}/report.{kind}"),
    # The setup page's routes answer 403 off the laptop; test_setup.py sends the laptop's.
    ("GET", "/api/obs"),
    ("POST", "/api/obs/record"),
    ("GET", "/setup"),
    ("GET", "/api/setup"),
    ("PUT", "/api/setup"),
    ("PATCH", "/api/setup"),
    ("POST", "/api/setup/test/{platform}"),
    ("GET", "/api/studio/sessions"),
    ("POST", "/api/sessions/{session_id}/clips"),
    ("GET", "/api/sessions/{session_id}/clips"),
    ("GET", "/api/sessions/{session_id}/clips.zip"),
    ("PATCH", "/api/clips/{clip_id}"),
    ("POST", "/api/clips/{clip_id}/render"),
    ("GET", "/api/clips/{clip_id}/words"),
    ("GET", "/api/jobs/{job_id}"),
    ("GET", "/studio/files/{session_id}/{name}"),
}

CATALOG_IMPORT = ("POST", "/api/catalog/import")
_PARAM = re.compile(r"\{(\w+)\}")
# Path parameters: one value of the wrong type (where it can be), one unknown value.
_BAD_PARAMS = ["not-a-number", "999999", "ZZ9"]
_BAD_QUERY = {
    "format": "pdf",
    "limit": "lots",
    "before": "x",
    "session": "x",
    "scope": "everything",
    "by": "nothing",
    "paper": "scroll",
    "status": "?",
    "intent": "?",
    "code": "ZZ9",
    "key": "wrong",
    "q": "x" * 5000,
}


def _api_routes(routes: Iterable[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        # Newer FastAPI keeps included routers as one entry wrapping the original.
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _api_routes(inner.routes)


def _app_routes(app: FastAPI) -> set[tuple[str, str]]:
    return {
        (method, route.path)
        for route in _api_routes(app.routes)
        for method in route.methods
        if method != "HEAD"
    }


def _urls(path: str) -> list[str]:
    if not _PARAM.search(path):
        return [path]
    return [_PARAM.sub(value, path) for value in _BAD_PARAMS]


def _bad_requests(method: str, path: str) -> Iterator[dict[str, Any]]:
    """Keyword arguments for ``client.request``: bad auth, bad bodies, bad queries."""
    for url in _urls(path):
        yield {"url": url}
        yield {"url": url, "headers": {"Authorization": "Bearer wrong-token-0000"}}
        yield {"url": url, "headers": AUTH, "params": _BAD_QUERY}
        if method in ("POST", "PATCH"):
            json_headers = {**AUTH, "Content-Type": "application/json"}
            yield {"url": url, "headers": json_headers, "content": b"{not json"}
            yield {"url": url, "headers": AUTH, "json": "a string, not an object"}
            yield {"url": url, "headers": AUTH, "json": {"code": [1], "qty": "many", "items": 3}}
            yield {"url": url, "headers": AUTH, "json": [{"qty": -1}]}
            yield {"url": url, "headers": AUTH, "files": {"file": ("x.txt", b"\x00\xff", "a/b")}}


def assert_error_shape(response: httpx.Response, *, catalog: bool = False) -> None:
    body = response.json()
    keys = {"error", "field", "row", "column"} if catalog else {"error", "field"}
    where = f"{response.request.method} {response.request.url} -> {response.status_code}"
    assert isinstance(body, dict), where
    assert set(body) == keys, f"{where}: {body}"
    assert isinstance(body["error"], str) and body["error"].strip(), f"{where}: {body}"
    assert body["field"] is None or isinstance(body["field"], str), f"{where}: {body}"
    if catalog:
        assert body["row"] is None or isinstance(body["row"], int), f"{where}: {body}"
        assert body["column"] is None or isinstance(body["column"], str), f"{where}: {body}"


def test_every_route_is_covered(client: TestClient) -> None:
    app = client.app
    assert isinstance(app, FastAPI)
    assert _app_routes(app) == COVERED | NON_JSON


@pytest.mark.parametrize(("method", "path"), sorted(COVERED))
def test_every_4xx_answer_has_the_one_shape(client: TestClient, method: str, path: str) -> None:
    refused = 0
    for request in _bad_requests(method, path):
        response = client.request(method, **request)
        assert response.status_code < 500, f"{method} {request}: {response.text}"
        if response.status_code < 400:
            continue
        refused += 1
        assert response.headers["content-type"].startswith("application/json")
        is_import = (method, path) == CATALOG_IMPORT and response.status_code == 422
        assert_error_shape(response, catalog=is_import and "row" in response.json())
    assert refused, f"{method} {path} refused none of the bad requests"


def test_validation_error_names_the_field(client: TestClient) -> None:
    body = {"code": "Q1", "name": "Tương", "price": -5, "unit": "chai"}
    response = client.post("/api/products", headers=AUTH, json=body)
    assert response.status_code == 422
    assert_error_shape(response)
    assert response.json()["field"] == "price"
    assert response.json()["error"].startswith("price: ")


def test_nested_validation_field_is_dotted(client: TestClient) -> None:
    body = {"code": "Q1", "name": "Tương", "price": 5, "unit": "chai", "aliases": ["ok", 7]}
    response = client.post("/api/products", headers=AUTH, json=body)
    assert response.status_code == 422
    assert response.json()["field"] == "aliases.1"
    assert response.json()["error"].startswith("aliases.1: ")


def test_catalog_import_error_names_row_and_column(client: TestClient) -> None:
    csv = "code,name,price,unit,stock,aliases\nA9,Gạo,abc,kg,3,\n".encode()
    files = {"file": ("catalog.csv", csv, "text/csv")}
    response = client.post("/api/catalog/import", headers=AUTH, files=files)
    assert response.status_code == 422
    assert_error_shape(response, catalog=True)
    assert response.json()["row"] == 2
    assert response.json()["column"] == "price"
    assert response.json()["field"] == "price"


def test_unknown_route_and_wrong_method_have_the_shape(client: TestClient) -> None:
    missing = client.get("/api/no-such-thing", headers=AUTH)
    assert missing.status_code == 404
    assert_error_shape(missing)
    wrong = client.put("/api/products", headers=AUTH, json={})
    assert wrong.status_code == 405
    assert_error_shape(wrong)
    assert "GET" in wrong.headers["allow"]
