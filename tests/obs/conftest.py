"""Fixtures for OBS: the fake obs-websocket server and a live service on a real database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import Engine

from server.db import open_database
from server.hub import Hub
from server.live import LiveService

from .fake_obs import FakeObs

PASSWORD = "mật-khẩu-obs"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def fake_obs() -> AsyncIterator[FakeObs]:
    fake = await FakeObs(PASSWORD).start()
    try:
        yield fake
    finally:
        await fake.stop()


@dataclass
class Studio:
    """What server.obs.start_obs reads from the app context, built for real."""

    settings: Any
    engine: Engine
    hub: Hub
    live: LiveService
    tasks: list[Any] = field(default_factory=list)


@pytest.fixture
def studio(tmp_path: Path, fake_obs: FakeObs) -> Iterator[Studio]:
    engine = open_database(tmp_path / "chotdon.db")
    hub = Hub()
    live = LiveService(engine, hub)
    live.load()
    settings = SimpleNamespace(obs_url=fake_obs.url, obs_password=PASSWORD)
    studio = Studio(settings, engine, hub, live)
    yield studio
    engine.dispose()
