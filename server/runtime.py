"""Background work started with the app: the demo audience and configured connectors."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .app import AppContext

__all__ = ["start_background"]

logger = logging.getLogger(__name__)


async def start_background(ctx: AppContext) -> None:
    """Nothing yet beyond the heartbeat; connectors are wired by the orders work."""
    logger.debug("background started for %s", ctx.data_dir)
