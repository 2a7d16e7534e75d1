"""Comment connectors: one module per platform, all producing :class:`CommentIn`.

Build one by name with :func:`build_connector` (options as keyword arguments,
straight from settings or the CLI), run it under a :class:`Supervisor`, and
give it an ``emit`` callback that stores the comments::

    connector = build_connector("facebook", live_video_id="123", access_token=token)
    supervisor = Supervisor(connector, ingest, on_state=panel.show)
    supervisor.start()

Platform modules import only what they need; TikTokLive in particular is
imported when the TikTok connector runs, never here.
"""

from __future__ import annotations

import inspect
from typing import Any

from server.connectors.base import (
    Connector,
    ConnectorError,
    ConnectorState,
    Emit,
    Health,
    SeenIds,
    Status,
    Supervisor,
)
from server.connectors.facebook import FacebookConnector
from server.connectors.manual import ManualConnector, ManualInputError, manual_comment
from server.connectors.shopee import ShopeeConnector
from server.connectors.sim import SimConnector, SimScriptError, load_script
from server.connectors.tiktok import TikTokConnector, comment_from_event

__all__ = [
    "KINDS",
    "Connector",
    "ConnectorError",
    "ConnectorState",
    "Emit",
    "FacebookConnector",
    "Health",
    "ManualConnector",
    "ManualInputError",
    "SeenIds",
    "ShopeeConnector",
    "SimConnector",
    "SimScriptError",
    "Status",
    "Supervisor",
    "TikTokConnector",
    "build_connector",
    "comment_from_event",
    "load_script",
    "manual_comment",
]

KINDS: dict[str, type] = {
    "sim": SimConnector,
    "manual": ManualConnector,
    "tiktok": TikTokConnector,
    "facebook": FacebookConnector,
    "shopee": ShopeeConnector,
}


# Injection points for tests and embedding: accepted, but not advertised to users.
_HOOKS = frozenset({"sleep", "clock", "now", "client_factory", "comment_event"})


def build_connector(kind: str, **options: Any) -> Connector:
    """Make the connector called ``kind`` from keyword ``options``.

    Raises :class:`ConnectorError` (fatal) for an unknown kind, a missing
    required option or an option the connector does not take, naming them all.
    """
    cls = KINDS.get(kind.strip().lower())
    if cls is None:
        raise ConnectorError(
            f"unknown connector {kind!r}; choose one of: {', '.join(KINDS)}", fatal=True
        )
    params = inspect.signature(cls).parameters
    known = [n for n, p in params.items() if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise ConnectorError(
            f"{kind} connector does not take {', '.join(unknown)}; "
            f"its options are: {', '.join(n for n in known if n not in _HOOKS)}",
            fatal=True,
        )
    missing = [
        n for n in known if params[n].default is inspect.Parameter.empty and n not in options
    ]
    if missing:
        raise ConnectorError(f"{kind} connector needs: {', '.join(missing)}", fatal=True)
    connector: Connector = cls(**options)
    return connector
