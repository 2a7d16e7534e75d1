"""The setup page's "test connection" buttons: one short, real call per platform.

Each probe answers a :class:`Probe`: ``ok``, a ``code`` the page translates
(``setup.result.<code>`` in the catalogs, with ``vars``) and ``detail``, the
platform's own words when something failed. Nothing here keeps a connection
open or changes what the connectors do; tokens never appear in the answer.

- TikTok: TikTokLive is an optional extra; without it the answer says so. With
  it, the library is asked whether the @handle is live now.
- Facebook: ``GET me/live_videos?broadcast_status=["LIVE"]`` with the Page token,
  the same call the connector uses to find the current live.
- Shopee: one signed ``get_latest_comment_list`` call for the session.
- OBS: obs-websocket v5 Hello / Identify with the documented authentication;
  OBS closes with 4009 when the password is wrong.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import importlib
import importlib.util
import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import httpx

from .connectors._http import get_json
from .connectors.base import ConnectorError
from .connectors.facebook import error_from_graph
from .connectors.shopee import ShopeeConnector, error_from_shopee
from .connectors.tiktok import INSTALL_HINT
from .settings import Settings

__all__ = ["PLATFORMS", "Probe", "obs_auth", "probe"]

logger = logging.getLogger(__name__)

Platform = Literal["tiktok", "facebook", "shopee", "obs"]
PLATFORMS: tuple[Platform, ...] = ("tiktok", "facebook", "shopee", "obs")
TIMEOUT = 10.0  # seconds for one probe, connection included
OBS_AUTH_FAILED = 4009  # obs-websocket's close code for a wrong password
_FACEBOOK_VERSION = "v21.0"
Checker = Callable[[httpx.Response, Any], ConnectorError | None]


@dataclass(frozen=True)
class Probe:
    """The result of one test, in words the page can translate."""

    platform: str
    ok: bool
    code: str
    detail: str = ""
    vars: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


async def probe(platform: str, settings: Settings) -> Probe:
    """Test ``platform`` with ``settings``; never raises for a platform's failure."""
    runner = _PROBES.get(platform)
    if runner is None:
        return Probe(platform, False, "unknown_platform")
    try:
        return await asyncio.wait_for(runner(settings), TIMEOUT)
    except TimeoutError:
        return Probe(platform, False, "timeout", vars={"seconds": int(TIMEOUT)})
    except ConnectorError as exc:
        return Probe(platform, False, "failed", str(exc))


async def _tiktok(settings: Settings) -> Probe:
    if importlib.util.find_spec("TikTokLive") is None:
        return Probe("tiktok", False, "tiktok_no_library", vars={"install": INSTALL_HINT})
    handle = settings.tiktok_unique_id
    if not handle:
        return Probe("tiktok", False, "missing", vars={"field": "tiktok_unique_id"})
    library = importlib.import_module("TikTokLive")
    client = library.TikTokLiveClient(unique_id=handle)
    try:
        live = bool(await client.is_live())
    except Exception as exc:  # the library's errors vary by version; report them by name
        return Probe("tiktok", False, "failed", f"{type(exc).__name__}: {exc}")
    finally:
        web = getattr(client, "web", None)
        if web is not None:
            with contextlib.suppress(Exception):
                await web.close()
    code = "tiktok_live" if live else "tiktok_not_live"
    return Probe("tiktok", True, code, vars={"handle": handle})


async def _facebook(settings: Settings) -> Probe:
    token = settings.facebook_page_token
    if not token:
        return Probe("facebook", False, "missing", vars={"field": "facebook_page_token"})
    url = f"{settings.facebook_base_url.rstrip('/')}/{_FACEBOOK_VERSION}/me/live_videos"
    params = {
        "broadcast_status": '["LIVE"]',
        "fields": "id,status,creation_time",
        "access_token": token,
    }
    body = await _get(url, params, "Facebook", error_from_graph)
    videos = [v for v in body.get("data") or [] if isinstance(v, dict) and v.get("id")]
    if not videos:
        return Probe("facebook", True, "facebook_no_live")
    newest = max(videos, key=lambda v: str(v.get("creation_time") or ""))
    return Probe("facebook", True, "facebook_live", vars={"video": str(newest["id"])})


async def _get(url: str, params: dict[str, Any], what: str, check: Checker) -> Any:
    async with httpx.AsyncClient(timeout=TIMEOUT) as client:
        response, body = await get_json(client, url, params, what=what)
    error = check(response, body)
    if error is not None:
        raise error
    return body


async def _shopee(settings: Settings) -> Probe:
    if not settings.shopee_partner_id or not settings.shopee_session_id:
        return Probe("shopee", False, "missing", vars={"field": "shopee_partner_id"})
    connector = ShopeeConnector(
        settings.shopee_partner_id,
        settings.shopee_partner_key,
        settings.shopee_access_token,
        settings.shopee_session_id,
        shop_id=settings.shopee_shop_id or None,
        user_id=settings.shopee_user_id or None,
        base_url=settings.shopee_base_url,
    )
    params = connector.params()
    owner = "user_id" if "user_id" in params else "shop_id"
    sent = time.time()

    def check(response: httpx.Response, body: Any) -> ConnectorError | None:
        # Which id signed and when: a rejected signature then names its likely cause.
        return error_from_shopee(response, body, owner_param=owner, local_time=sent)

    body = await _get(connector.url, params, "Shopee", check)
    payload = body.get("response") if isinstance(body.get("response"), dict) else {}
    comments = payload.get("list") or payload.get("comment_list") or []
    count = len(comments) if isinstance(comments, list) else 0
    return Probe("shopee", True, "shopee_ok", vars={"comments": count})


def obs_auth(password: str, salt: str, challenge: str) -> str:
    """obs-websocket v5: ``base64(sha256(base64(sha256(password + salt)) + challenge))``."""
    secret = base64.b64encode(hashlib.sha256((password + salt).encode()).digest()).decode()
    return base64.b64encode(hashlib.sha256((secret + challenge).encode()).digest()).decode()


async def _obs(settings: Settings) -> Probe:
    if not settings.obs_url:
        return Probe("obs", False, "missing", vars={"field": "obs_url"})
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
    from websockets.typing import Subprotocol

    try:
        async with connect(
            settings.obs_url, subprotocols=[Subprotocol("obswebsocket.json")], open_timeout=TIMEOUT
        ) as ws:
            hello = json.loads(await ws.recv())
            data = hello.get("d") or {}
            identify: dict[str, Any] = {"rpcVersion": 1}
            challenge = data.get("authentication")
            if challenge:
                if not settings.obs_password:
                    return Probe("obs", False, "obs_needs_password")
                identify["authentication"] = obs_auth(
                    settings.obs_password, challenge["salt"], challenge["challenge"]
                )
            await ws.send(json.dumps({"op": 1, "d": identify}))
            reply = json.loads(await ws.recv())
    except ConnectionClosed as exc:
        if exc.rcvd is not None and exc.rcvd.code == OBS_AUTH_FAILED:
            return Probe("obs", False, "obs_wrong_password")
        return Probe("obs", False, "failed", f"OBS closed the connection ({exc})")
    except (OSError, InvalidHandshake, InvalidURI) as exc:
        return Probe("obs", False, "obs_unreachable", f"{type(exc).__name__}: {exc}")
    except (json.JSONDecodeError, AttributeError, KeyError, TypeError) as exc:
        return Probe("obs", False, "failed", f"not obs-websocket v5 ({type(exc).__name__})")
    if reply.get("op") != 2:
        return Probe("obs", False, "failed", f"unexpected answer (op {reply.get('op')})")
    version = str(data.get("obsWebSocketVersion") or "5")
    return Probe("obs", True, "obs_ok", vars={"version": version})


_PROBES = {"tiktok": _tiktok, "facebook": _facebook, "shopee": _shopee, "obs": _obs}
