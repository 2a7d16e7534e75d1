"""Helpers shared by several test folders (importable as ``tests.support``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from server.settings import Settings

__all__ = ["app_settings"]


def app_settings(data_dir: Path, *, helper: str, overlay: str, **overrides: Any) -> Settings:
    """Settings for an app on ``data_dir``: demo catalog, no simulated audience, fixed secrets."""
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "helper_token": helper,
        "overlay_key": overlay,
        "demo": True,
        "demo_comments": False,
        "heartbeat_seconds": 30.0,
        # TestClient's Host; production answers only to names in server.hosts.
        "allowed_hosts": ["testserver"],
        **overrides,
    }
    return Settings(**values)
