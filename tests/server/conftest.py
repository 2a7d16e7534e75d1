"""An app on a real SQLite file in tmp_path, driven in-process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from server.app import create_app
from server.settings import Settings

HELPER = "helper-token-1234"
OVERLAY = "overlay-key-1234"
AUTH = {"Authorization": f"Bearer {HELPER}"}


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": data_dir,
        "helper_token": HELPER,
        "overlay_key": OVERLAY,
        "demo": True,
        "demo_comments": False,
        "heartbeat_seconds": 30.0,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data")


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client
