"""Small HTTP helpers shared by the polling connectors (Facebook, Shopee).

Both platforms take secrets in the query string (``access_token``, and the
Shopee ``sign``), and httpx logs every request URL at INFO level. A filter
on the ``httpx`` logger masks those parameters, so turning on INFO logging
to debug a live never writes a token to disk.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import httpx

from server.connectors.base import ConnectorError, Emit, Sleep

__all__ = [
    "HttpPoller",
    "SecretQueryFilter",
    "get_json",
    "header_seconds",
    "install_secret_filter",
    "post_json",
    "redact",
]


class HttpPoller:
    """A connector that reads an HTTP API: ``poll`` every ``poll_interval`` seconds,
    on one client kept for the whole run (its connection pool survives polls)."""

    poll_interval: float
    timeout: float
    _sleep: Sleep

    async def poll(self, client: httpx.AsyncClient, emit: Emit) -> None:
        raise NotImplementedError

    async def run(self, emit: Emit) -> None:
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            while True:
                await self.poll(client, emit)
                await self._sleep(self.poll_interval)


_SECRET_PARAM = re.compile(r"(?i)\b(access_token|refresh_token|sign|partner_key)=[^&\s\"']*")


def redact(text: str) -> str:
    """``text`` with the values of secret query parameters replaced by ``***``."""
    return _SECRET_PARAM.sub(lambda m: f"{m.group(1)}=***", text)


class SecretQueryFilter(logging.Filter):
    """Masks secret query parameters in log records (URLs logged by httpx)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact(str(a)) if isinstance(a, httpx.URL | str) else a for a in record.args
            )
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def install_secret_filter() -> None:
    """Mask secrets in the ``httpx`` logger's records (idempotent)."""
    target = logging.getLogger("httpx")
    if not any(isinstance(f, SecretQueryFilter) for f in target.filters):
        target.addFilter(SecretQueryFilter())


async def get_json(
    client: httpx.AsyncClient, url: str, params: dict[str, Any], *, what: str
) -> tuple[httpx.Response, Any]:
    """GET ``url`` and decode JSON; network trouble becomes a retryable error.

    The URL is never put in messages: its query string carries access tokens.
    """
    return await _send(client, "GET", url, params, None, what=what)


async def post_json(
    client: httpx.AsyncClient, url: str, params: dict[str, Any], body: Any, *, what: str
) -> tuple[httpx.Response, Any]:
    """POST ``body`` as JSON to ``url`` and decode the JSON answer, like :func:`get_json`."""
    return await _send(client, "POST", url, params, body, what=what)


async def _send(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    params: dict[str, Any],
    body: Any,
    *,
    what: str,
) -> tuple[httpx.Response, Any]:
    install_secret_filter()
    try:
        response = await client.request(method, url, params=params, json=body)
    except httpx.TimeoutException as exc:
        raise ConnectorError(f"{what}: request timed out") from exc
    except httpx.HTTPError as exc:
        raise ConnectorError(f"{what}: network error ({type(exc).__name__})") from exc
    try:
        decoded: Any = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        decoded = None
    return response, decoded


def header_seconds(response: httpx.Response, name: str = "Retry-After") -> float | None:
    """A delay in seconds from a header such as ``Retry-After``, if present and numeric."""
    value = response.headers.get(name)
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None
