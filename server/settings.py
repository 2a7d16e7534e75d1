"""Typed settings: defaults, then ``CHOTDON_*`` environment variables, then CLI flags.

Nothing here touches the disk at import time; :meth:`Settings.resolved_data_dir`
creates the data directory only when the app starts.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import platformdirs
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

__all__ = ["Language", "Settings"]

Language = Literal["vi", "en", "id"]
_HOST_NAME = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*$")


class Settings(BaseSettings):
    """Everything the server needs to start; every field is also ``CHOTDON_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="CHOTDON_", extra="ignore")

    data_dir: Path | None = Field(default=None, description="Where the database and images live")
    # Empty: the SQLite file in the data folder. Else a PostgreSQL server, for example
    # postgresql+psycopg://chotdon:secret@127.0.0.1/chotdon (needs the `postgres` extra).
    database_url: str = Field(default="", pattern=r"^(postgresql(\+psycopg)?://\S+)?$")
    host: str = "0.0.0.0"
    port: int = Field(default=8800, ge=0, le=65535)
    # Names besides loopback and the machine's own addresses and hostname that the
    # server answers to (see server.hosts); CHOTDON_ALLOWED_HOSTS takes "a.lan,b.lan".
    allowed_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Addresses of reverse proxies whose X-Forwarded-For is believed (see
    # server.ratelimit.proxy_options). Empty, as on a LAN with no proxy: the header is
    # ignored, or any local process could pose as a new address to every limit.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    demo: bool = False
    language: Language = "vi"
    # Shown on the setup page and in reports; also set from the page (server.setup).
    shop_name: str = Field(default="", max_length=100)

    helper_token: str | None = Field(default=None, min_length=8)
    overlay_key: str | None = Field(default=None, min_length=8)

    # Payment QR (VietQR). Empty bank_bin hides the QR element.
    bank_bin: str = Field(default="", pattern=r"^(\d{6})?$")
    bank_account: str = Field(default="", pattern=r"^[0-9A-Za-z]{0,19}$")
    bank_account_name: str = ""

    order_confidence: float = Field(default=0.8, ge=0.0, le=1.0)
    mask_nicknames: bool = True
    heartbeat_seconds: float = Field(default=15.0, gt=0)
    max_upload_bytes: int = Field(default=5 * 1024 * 1024, gt=0)
    max_body_bytes: int = Field(default=1024 * 1024, gt=0)
    # Rate limits per client address (see server.ratelimit): wrong tokens, and
    # comments ingested over REST or /ws/ingest (10x the busiest live we expect).
    auth_failures_per_minute: int = Field(default=10, ge=1, le=10_000)
    ingest_rate: float = Field(default=2000.0, gt=0)
    ingest_burst: int = Field(default=4000, ge=1)
    # Connection limits below HTTP (see server.connlimit): TCP connections one client
    # address may hold open (a phone's browser uses about 6, OBS and the load test
    # about 100 from the laptop), and how long a connection may stay open without
    # starting a request (a header that never finishes included).
    max_connections_per_address: int = Field(default=128, ge=1, le=100_000)
    request_header_timeout: float = Field(default=10.0, gt=0, le=3600)
    # FastAPI's /docs, /redoc and /openapi.json: off, since they describe every
    # control route to anyone on the LAN and Swagger UI loads from a CDN anyway.
    api_docs: bool = False
    demo_comments: bool = True
    demo_comment_speed: float = Field(default=1.0, gt=0)

    # Comment connectors; each runs when its required fields are set.
    tiktok_unique_id: str = ""
    tiktok_sign_api_key: str = ""
    facebook_live_video_id: str = ""
    facebook_page_token: str = ""
    # Read comments from Graph's live_comments stream too (polling fills its gaps); off
    # by default: the docs do not say whether the stream drops short "low quality" ones.
    facebook_stream: bool = False
    shopee_partner_id: str = ""
    shopee_partner_key: str = ""
    shopee_access_token: str = ""
    shopee_session_id: str = ""
    shopee_shop_id: str = ""
    # The livestream guide signs with the authorised user_id; shop_id is the fallback.
    shopee_user_id: str = ""
    # Trades for a new access token before the current one expires (they live 4 hours).
    shopee_refresh_token: str = ""
    # Where the platform APIs live: Shopee's sandbox is https://partner.test-stable.shopeemobile.com;
    # tests point both at loopback fakes. Environment only, never on the setup page.
    facebook_base_url: str = Field(default="https://graph.facebook.com", pattern=r"^https?://\S+$")
    shopee_base_url: str = Field(
        default="https://partner.shopeemobile.com", pattern=r"^https?://\S+$"
    )

    # OBS recording follows the live session (server.obs): obs-websocket v5 address,
    # for example ws://127.0.0.1:4455; empty turns it off.
    obs_url: str = Field(default="", pattern=r"^(wss?://\S+)?$")
    obs_password: str = ""

    # The clip studio's transcriber (server.studio_api): a faster-whisper model name
    # or a folder holding one; empty: the transcriber's default.
    whisper_model: str = Field(default="", max_length=500)

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _host_names(cls, value: Any) -> Any:
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, list | tuple):
            return value
        return [_host_name(str(item)) for item in items if str(item).strip()]

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxy_addresses(cls, value: Any) -> Any:
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, list | tuple):
            return value
        return [str(ipaddress.ip_address(str(item).strip())) for item in items if str(item).strip()]

    def resolved_data_dir(self) -> Path:
        path = self.data_dir or Path(platformdirs.user_data_dir("chotdon", appauthor=False))
        # Owner only when we create it: the database holds buyers' phones and addresses.
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        (path / "images").mkdir(exist_ok=True)
        return path


def _host_name(text: str) -> str:
    """One ``allowed_hosts`` entry: a bare name or IP address, no scheme, port or wildcard."""
    name = text.strip().lower().rstrip(".")
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        pass
    if not _HOST_NAME.match(name):
        raise ValueError(f"allowed_hosts: {text.strip()!r} is not a host name (no scheme or port)")
    return name
