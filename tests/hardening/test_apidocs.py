"""FastAPI's API map (/docs, /redoc, /openapi.json) is off unless the ``api_docs`` setting is on."""

from __future__ import annotations

from pathlib import Path

from .conftest import AUTH, FakeClock, open_client

DOCS = ("/docs", "/redoc", "/openapi.json")


def test_api_docs_answer_404_by_default(tmp_path: Path, clock: FakeClock) -> None:
    with open_client(tmp_path / "data", clock) as client:
        for path in DOCS:
            assert client.get(path).status_code == 404, path
            assert client.get(path, headers=AUTH).status_code == 404, path  # a helper too
        assert client.get("/api/live", headers=AUTH).status_code == 200  # the API itself is on


def test_api_docs_are_served_when_the_setting_is_on(tmp_path: Path, clock: FakeClock) -> None:
    with open_client(tmp_path / "data", clock, api_docs=True) as client:
        spec = client.get("/openapi.json")
        assert spec.status_code == 200
        assert "/api/live" in spec.json()["paths"]
        docs = client.get("/docs")
        assert docs.status_code == 200 and "/openapi.json" in docs.text
