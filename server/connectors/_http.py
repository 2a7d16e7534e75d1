"""Small HTTP helpers shared by the polling connectors (Facebook, Shopee)."""

from __future__ import annotations

import json
from typing import Any

import httpx

from server.connectors.base import ConnectorError

__all__ = ["get_json", "header_seconds"]


async def get_json(
    client: httpx.AsyncClient, url: str, params: dict[str, Any], *, what: str
) -> tuple[httpx.Response, Any]:
    """GET ``url`` and decode JSON; network trouble becomes a retryable error.

    The URL is never put in messages: its query string carries access tokens.
    """
    try:
        response = await client.get(url, params=params)
    except httpx.TimeoutException as exc:
        raise ConnectorError(f"{what}: request timed out") from exc
    except httpx.HTTPError as exc:
        raise ConnectorError(f"{what}: network error ({type(exc).__name__})") from exc
    try:
        body: Any = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    return response, body


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
