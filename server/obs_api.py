"""REST routes for OBS (helper token): its state, and the panel's record buttons.

``GET /api/obs`` answers what the panel shows (connected, recording, duration, the
last file's path; never the password); ``POST /api/obs/record`` with
``{"action": "start"|"stop"}`` starts or stops recording. The same state is pushed to
panels as ``{"type": "obs", "state": {...}}`` whenever it changes (see server.obs).
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel

from .context import Helper
from .obs import ObsUnavailable, follower_for

__all__ = ["router"]

router = APIRouter(prefix="/api")

_OFF = {
    "enabled": False,
    "url": "",
    "connected": False,
    "recording": False,
    "duration": None,
    "path": None,
    "error": None,
    "session": None,
}


class RecordAction(BaseModel):
    action: Literal["start", "stop"]


@router.get("/obs")
async def obs_state(ctx: Helper) -> dict[str, Any]:
    follower = follower_for(ctx)
    return follower.view() if follower is not None else dict(_OFF)


@router.post("/obs/record")
async def obs_record(ctx: Helper, body: RecordAction) -> dict[str, Any]:
    follower = follower_for(ctx)
    if follower is None:
        raise ObsUnavailable("OBS recording is not running (the server is starting or stopping)")
    if body.action == "start":
        return await follower.start_recording()
    return await follower.stop_recording()
