"""An app on a real SQLite file in tmp_path, driven in-process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from server.app import create_app
from server.settings import Settings
from tests.support import app_settings

HELPER = "helper-token-1234"
OVERLAY = "overlay-key-1234"
AUTH = {"Authorization": f"Bearer {HELPER}"}


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    return app_settings(data_dir, helper=HELPER, overlay=OVERLAY, **overrides)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data")


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client
