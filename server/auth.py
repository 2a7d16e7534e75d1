"""The helper token (full control) and the overlay key (read-only view).

Fixed by ``CHOTDON_HELPER_TOKEN`` / ``CHOTDON_OVERLAY_KEY``; otherwise generated on
first start and kept in ``secrets.json`` in the data directory, so the OBS browser
source URL and the helpers' phones keep working across restarts.
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from .settings import Settings

__all__ = ["Secrets", "load_secrets", "same_secret"]


@dataclass(frozen=True)
class Secrets:
    helper_token: str
    overlay_key: str


def same_secret(given: str | None, expected: str) -> bool:
    return bool(given) and hmac.compare_digest(given.encode(), expected.encode())  # type: ignore[union-attr]


def load_secrets(settings: Settings, data_dir: Path) -> Secrets:
    path = data_dir / "secrets.json"
    stored: dict[str, str] = {}
    if path.exists():
        stored = json.loads(path.read_text(encoding="utf-8"))
        if os.name == "posix" and path.stat().st_mode & 0o077:
            os.chmod(path, 0o600)  # written by an older version, readable by everyone
    generated = {
        "helper_token": stored.get("helper_token") or secrets.token_urlsafe(12),
        "overlay_key": stored.get("overlay_key") or secrets.token_urlsafe(12),
    }
    if generated != stored:
        tmp = path.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)  # O_CREAT keeps the mode of a file already there
        # Created 0600, never readable by others even for a moment.
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
            out.write(json.dumps(generated))
        os.replace(tmp, path)
    return Secrets(
        helper_token=settings.helper_token or generated["helper_token"],
        overlay_key=settings.overlay_key or generated["overlay_key"],
    )
