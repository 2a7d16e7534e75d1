"""The app on a real SQLite file in tmp_path with the demo catalog, driven in-process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from server.app import create_app
from server.settings import Settings
from tests.support import app_settings

HELPER = "orders-helper-token"
OVERLAY = "orders-overlay-key"
AUTH = {"Authorization": f"Bearer {HELPER}"}


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    return app_settings(data_dir, helper=HELPER, overlay=OVERLAY, **overrides)


def comment(
    cid: str, text: str, user: str = "lan", nickname: str = "Lan", **extra: Any
) -> dict[str, Any]:
    return {"platform": "sim", "id": cid, "user": user, "nickname": nickname, "text": text, **extra}


class Api:
    """Thin helpers over the TestClient so tests read as a helper's actions."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def post(self, path: str, body: Any = None, status: int = 200) -> Any:
        response = self.client.post(path, json=body, headers=AUTH)
        assert response.status_code == status, response.text
        return response.json()

    def get(self, path: str) -> Any:
        response = self.client.get(path, headers=AUTH)
        assert response.status_code == 200, response.text
        return response.json()

    def ingest(self, *comments: dict[str, Any]) -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = self.post("/api/comments", list(comments))["results"]
        return results

    def pin(self, code: str) -> None:
        self.post("/api/live/pin", {"code": code})

    def stock(self, code: str) -> int:
        stock: int = self.get(f"/api/products/{code}")["stock"]
        return stock

    def set_stock(self, code: str, stock: int) -> None:
        self.post("/api/live/stock", {"code": code, "stock": stock})

    def lines(self, scope: str = "all") -> list[dict[str, Any]]:
        return [ln for buyer in self.get(f"/api/orders?scope={scope}") for ln in buyer["lines"]]

    def state(self) -> dict[str, Any]:
        state: dict[str, Any] = self.get("/api/live")["state"]
        return state


@pytest.fixture(autouse=True)
def _on_database(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every app a test here builds uses the test's database (tests/pg.py: SQLite, PostgreSQL)."""
    monkeypatch.setenv("CHOTDON_DATABASE_URL", database_url)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data")


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def api(client: TestClient) -> Api:
    return Api(client)
