"""The clip studio over HTTP: review, trim, fix captions and re-render after the live.

``POST /api/sessions/{id}/clips`` plans a session's clips and renders them in the
background (:mod:`server.studio_jobs`); ``GET`` lists them; ``PATCH /api/clips/{id}``
trims (snapped to word edges), edits captions, the card, the framing and the
decision; ``POST /api/clips/{id}/render`` re-renders what changed. The page
``/studio`` is a static shell like the report: the token rides in its URL fragment.

Videos and thumbnails are played by ``<video>`` and ``<img>``, which cannot send a
header: their links carry a signature of the file's path made with the helper
token (``/studio/files/...?sig=``), so a link opens that one file and nothing else.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import io
import logging
import re
import threading
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from overlays import STATIC_DIR
from studio.catalog import Product
from studio.events import parse_time
from studio.session import logged_recordings

from .context import AppContext, Helper, HelperLink
from .db import live_sessions
from .dialect import is_postgres
from .errors import InvalidInput, NotFound, error_body
from .studio_jobs import JobRunner
from .studio_work import (
    PlanRequest,
    Store,
    clip_json,
    corrected_words,
    edited_cues,
    execute,
    find_clip,
    recover,
    resolve_recording,
    session_events,
    session_of,
    spec_of_plan,
    spec_of_render,
    trimmed,
    words_of,
)

if TYPE_CHECKING:
    from .studio_queue import NoQueue, QueueRunner

__all__ = ["router"]

logger = logging.getLogger(__name__)

_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,150}\.(mp4|jpg|srt|txt)$")
WORDS_AROUND = 30.0  # seconds of transcript words offered around a clip for trimming
LISTED_SESSIONS = 30


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # Per shop: its own clips folder and job list (session ids repeat across shops).
    app.state.studio = {}
    app.state.studio_lock = threading.Lock()
    # The default shop's, under the names they had before shops.
    app.state.studio_store, app.state.studio_jobs = _studio(app, app.state.ctx)
    try:
        yield
    finally:
        for _, runner in app.state.studio.values():
            runner.close()


router = APIRouter(lifespan=_lifespan)


class PlanBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    recording: str | None = Field(default=None, max_length=1000)
    recording_start: str | None = Field(default=None, max_length=40)
    transcript: str | None = Field(default=None, max_length=1000)
    min_len: float = Field(default=15.0, ge=1, le=600)
    max_len: float = Field(default=60.0, ge=1, le=600)
    max_clips: int | None = Field(default=None, ge=1, le=100)
    replan: bool = False  # plan afresh: the clips' edits are dropped


class Cue(BaseModel):
    model_config = ConfigDict(extra="ignore")

    start: float = Field(ge=0)
    end: float = Field(ge=0)
    text: str = Field(max_length=500)


class Framing(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: Literal["follow", "fixed", "full"] = "follow"
    x: float = Field(default=0.5, ge=0, le=1)


class ClipPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: float | None = Field(default=None, ge=0)
    end: float | None = Field(default=None, ge=0)
    captions: list[Cue] | None = Field(default=None, max_length=500)
    card: bool | None = None
    framing: Framing | None = None
    status: Literal["approved", "rejected", "later"] | None = None
    style: Literal["karaoke", "plain", "none"] | None = None


# -- plumbing ---------------------------------------------------------------------------


def _open_studio(
    ctx: AppContext, shared: JobRunner | QueueRunner | NoQueue | None = None
) -> tuple[Store, JobRunner | QueueRunner | NoQueue]:
    if not is_postgres(ctx.engine):
        store = Store(ctx.data_dir)
        recover(store)
        return store, JobRunner()
    # Render workers (``chotdon render-worker``) run the jobs, here or elsewhere;
    # a restarted server leaves their clips alone. A job names its shop, and the
    # worker opens that shop's store; the shops share the default one's queue pool.
    from .studio_queue import NoQueue, QueueRunner, available

    store = Store(ctx.data_dir, shared=True)
    if available():
        base = shared if isinstance(shared, QueueRunner) else None
        return store, QueueRunner(ctx.engine, ctx.settings.database_url, ctx.shop.slug, base)
    logger.warning("no clip jobs: procrastinate is missing (pip install 'chotdon[hub]')")
    return store, NoQueue()


def _studio(app: Any, ctx: AppContext) -> tuple[Store, JobRunner | QueueRunner | NoQueue]:
    """The shop's studio store and job runner, made on first use."""
    with app.state.studio_lock:
        return _studio_locked(app, ctx)


def _studio_locked(app: Any, ctx: AppContext) -> tuple[Store, JobRunner | QueueRunner | NoQueue]:
    found: tuple[Store, JobRunner | QueueRunner | NoQueue] | None = app.state.studio.get(
        ctx.shop.id
    )
    if found is None:
        shared = None
        if not ctx.shop.is_default and is_postgres(ctx.engine):
            shared = _studio_locked(app, ctx.shops.default)[1]
        found = app.state.studio[ctx.shop.id] = _open_studio(ctx, shared)
    return found


def _runner(request: Request, ctx: AppContext) -> JobRunner | QueueRunner | NoQueue:
    return _studio(request.app, ctx)[1]


def _submit(
    request: Request,
    ctx: AppContext,
    kind: str,
    session_id: int,
    spec: dict[str, Any],
    clip_id: str | None = None,
) -> int:
    """Queue a job: on PostgreSQL for the render workers, else for this server's thread."""
    runner = _runner(request, ctx)
    if isinstance(runner, JobRunner):
        store, engine = _store(request, ctx), ctx.engine
        return runner.submit(
            kind, session_id, lambda progress: execute(spec, store, engine, progress), clip_id
        ).id
    return runner.submit(kind, session_id, spec, clip_id).id


def _clip_progress(request: Request, ctx: AppContext, session_id: int) -> dict[str, float]:
    runner = _runner(request, ctx)
    if isinstance(runner, JobRunner):
        return _store(request, ctx).progress
    return runner.clip_progress(session_id)


def _store(request: Request, ctx: AppContext) -> Store:
    # One per shop: its lock guards the state files.
    return _studio(request.app, ctx)[0]


def _products(ctx: AppContext) -> dict[str, Product]:
    products = {}
    for code, p in ctx.live.products.items():
        image = ctx.images_dir / p["image"] if p.get("image") else None
        products[code] = Product(
            code=code,
            name=str(p.get("name") or code),
            price=int(p.get("price") or 0),
            unit=p.get("unit") or None,
            sale_price=p.get("sale_price"),
            ocop_stars=p.get("ocop_stars"),
            aliases=tuple(p.get("aliases") or ()),
            image=image if image is not None and image.is_file() else None,
            origin=p.get("origin") or None,
        )
    return products


def _signature(ctx: AppContext, session_id: int, name: str) -> str:
    key = (ctx.secrets.helper_token or "").encode()
    return hmac.new(key, f"{session_id}/{name}".encode(), hashlib.sha256).hexdigest()[:32]


def _links(ctx: AppContext, store: Store, session_id: int) -> Any:
    folder = store.clips_dir(session_id)

    def link(name: str) -> str | None:
        path = folder / name
        if not path.is_file():
            return None
        version = path.stat().st_mtime_ns  # a re-rendered file gets a new link: no stale cache
        sig = _signature(ctx, session_id, name)
        shop = "" if ctx.shop.is_default else f"&shop={ctx.shop.slug}"
        return f"/studio/files/{session_id}/{name}?v={version}&sig={sig}{shop}"

    return link


def _session_exists(ctx: AppContext, session_id: int) -> None:
    with ctx.engine.connect() as conn:
        found = conn.scalar(select(live_sessions.c.id).where(live_sessions.c.id == session_id))
    if found is None:
        raise NotFound(f"no live session {session_id}", field="session")


def _state(store: Store, session_id: int) -> dict[str, Any]:
    state = store.load(session_id)
    if state is None:
        raise NotFound(f"session {session_id} has no clips yet", field="session")
    return state


# -- sessions and plans -----------------------------------------------------------------


@router.get("/api/studio/sessions")
def studio_sessions(ctx: Helper, request: Request) -> dict[str, Any]:
    """The latest sessions, with the recording OBS logged and the clips' counts."""
    store = _store(request, ctx)
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            select(live_sessions).order_by(live_sessions.c.id.desc()).limit(LISTED_SESSIONS)
        ).all()
    listed = []
    for row in rows:
        logged = [r for r in logged_recordings(session_events(ctx.engine, row.id)) if r.path]
        state = store.load(row.id)
        clips = state["clips"] if state else []
        listed.append(
            {
                "id": row.id,
                "title": row.title,
                "started_at": row.started_at,
                "stopped_at": row.stopped_at,
                "recording": str(logged[-1].path) if logged else None,
                "recording_found": bool(logged and logged[-1].path and logged[-1].path.is_file()),
                "clips": len(clips),
                "approved": sum(1 for c in clips if c.get("decision") == "approved"),
            }
        )
    return {"sessions": listed}


@router.post("/api/sessions/{session_id}/clips")
def plan_clips(
    ctx: Helper, request: Request, session_id: int, body: PlanBody | None = None
) -> dict[str, Any]:
    body = body or PlanBody()
    _session_exists(ctx, session_id)
    store = _store(request, ctx)
    if store.load(session_id) is not None and not body.replan:
        # Planned already: render whatever changed (the edits are kept).
        spec = spec_of_render(session_id, None, _products(ctx))
        return {"job": _submit(request, ctx, "render", session_id, spec)}
    if body.min_len > body.max_len:
        raise InvalidInput("min_len must not exceed max_len", field="min_len")
    start = None
    if body.recording_start:
        try:
            start = parse_time(body.recording_start)
        except ValueError:
            raise InvalidInput("not an ISO-8601 time", field="recording_start") from None
    transcript = Path(body.transcript) if body.transcript else None
    if transcript is not None and not transcript.is_file():
        raise InvalidInput(f"transcript not found: {transcript}", field="transcript")
    recording = Path(body.recording) if body.recording else None
    # Checked now, so a wrong path is a 422 here and not a failed job later.
    resolve_recording(session_events(ctx.engine, session_id), session_id, recording, start)
    plan = PlanRequest(
        session_id,
        recording,
        start,
        transcript,
        ctx.settings.whisper_model,
        tuple(_store(request, ctx).glossary()) + tuple(p.name for p in _products(ctx).values()),
        ctx.settings.language,
        _products(ctx),
        {"min_len": body.min_len, "max_len": body.max_len, "max_clips": body.max_clips},
    )
    return {"job": _submit(request, ctx, "plan", session_id, spec_of_plan(plan))}


@router.get("/api/sessions/{session_id}/clips")
def list_clips(ctx: Helper, request: Request, session_id: int) -> dict[str, Any]:
    _session_exists(ctx, session_id)
    store = _store(request, ctx)
    state = store.load(session_id) or {"clips": [], "recording": None}
    segments = store.segments(session_id)
    link = _links(ctx, store, session_id)
    progress = _clip_progress(request, ctx, session_id)
    clips = [clip_json(c, segments, link, progress.get(c["id"], 0.0)) for c in state["clips"]]
    jobs = [j.to_json() for j in _runner(request, ctx).active(session_id)]
    runner = _runner(request, ctx)
    latest = runner.latest(session_id)
    # On PostgreSQL, how many render workers run: none means queued jobs wait.
    workers = None if isinstance(runner, JobRunner) else runner.live_workers()
    return {
        "session": session_id,
        "recording": state.get("recording"),
        "duration": state.get("duration"),
        "clips": clips,
        "jobs": jobs,
        "last_job": latest.to_json() if latest else None,
        "render_workers": workers,
        "glossary": store.glossary(),
    }


@router.get("/api/sessions/{session_id}/clips.zip")
def approved_zip(ctx: HelperLink, request: Request, session_id: int) -> Response:
    """Every approved clip with its thumbnail, captions and post text."""
    store = _store(request, ctx)
    state = _state(store, session_id)
    folder = store.clips_dir(session_id)
    buffer = io.BytesIO()
    count = 0
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:  # mp4 is compressed
        for clip in state["clips"]:
            if clip.get("decision") != "approved" or not (folder / clip["file"]).is_file():
                continue
            count += 1
            stem = Path(clip["file"]).stem
            for name in (clip["file"], f"{stem}.jpg", f"{stem}.txt", f"{stem}.srt"):
                if (folder / name).is_file():
                    archive.write(folder / name, f"{stem}/{name}")
    if not count:
        raise NotFound("no approved clip to download", field="session")
    name = f"clips-phien-{session_id}.zip"
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
    return Response(buffer.getvalue(), media_type="application/zip", headers=headers)


# -- one clip --------------------------------------------------------------------------


@router.patch("/api/clips/{clip_id}")
def edit_clip(ctx: Helper, request: Request, clip_id: str, body: ClipPatch) -> dict[str, Any]:
    store = _store(request, ctx)
    session_id = session_of(clip_id)
    segments = store.segments(session_id)
    with store.lock:
        state = _state(store, session_id)
        clip = find_clip(state, clip_id)
        changed = False
        if body.start is not None or body.end is not None:
            start = body.start if body.start is not None else clip["start"]
            end = body.end if body.end is not None else clip["end"]
            bounds = trimmed(segments, float(state["duration"]), start, end)
            changed |= bounds != (clip["start"], clip["end"])
            clip["start"], clip["end"] = bounds
        if body.captions is not None:
            given = [c.model_dump() for c in body.captions]
            captions = edited_cues(segments, clip, given)
            changed |= captions != clip.get("captions", [])
            clip["captions"] = captions
            store.learn(corrected_words(segments, clip, captions))
        if body.card is not None:
            changed |= body.card != clip.get("card", True)
            clip["card"] = body.card
        if body.framing is not None:
            framing = body.framing.model_dump()
            changed |= framing != clip.get("framing")
            clip["framing"] = framing
        if body.style is not None:
            changed |= body.style != clip.get("style", "karaoke")
            clip["style"] = body.style
        if body.status is not None:
            clip["decision"] = body.status
        if changed:
            clip["stale"] = True  # what plays is the old file until it is re-rendered
            clip["rev"] = clip.get("rev", 0) + 1
        store.save(state)
    link = _links(ctx, store, session_id)
    return clip_json(
        clip, segments, link, _clip_progress(request, ctx, session_id).get(clip_id, 0.0)
    )


@router.post("/api/clips/{clip_id}/render")
def render_clip(ctx: Helper, request: Request, clip_id: str) -> dict[str, Any]:
    store = _store(request, ctx)
    session_id = session_of(clip_id)
    find_clip(_state(store, session_id), clip_id)
    spec = spec_of_render(session_id, [clip_id], _products(ctx))
    # Marked before it is queued: a worker elsewhere may finish it before this returns.
    store.update_clip(clip_id, status="rendering", error=None)
    try:
        job_id = _submit(request, ctx, "render", session_id, spec, clip_id)
    except Exception as exc:
        store.update_clip(clip_id, status="failed", error=f"could not queue the render: {exc}")
        raise
    return {"job": job_id}


@router.get("/api/clips/{clip_id}/words")
def clip_words(ctx: Helper, request: Request, clip_id: str) -> dict[str, Any]:
    """The transcript's words around the clip, for "start/end at this word"."""
    store = _store(request, ctx)
    session_id = session_of(clip_id)
    clip = find_clip(_state(store, session_id), clip_id)
    lo, hi = clip["start"] - WORDS_AROUND, clip["end"] + WORDS_AROUND
    return {"words": words_of(store.segments(session_id), lo, hi)}


@router.get("/api/jobs/{job_id}")
def job_status(ctx: Helper, request: Request, job_id: int) -> dict[str, Any]:
    job = _runner(request, ctx).get(job_id)
    if job is None:
        raise NotFound(f"no job {job_id}", field="job")
    return job.to_json()


# -- page and files ---------------------------------------------------------------------


@router.get("/studio", include_in_schema=False)
def studio_page() -> FileResponse:
    # The shell holds nothing secret: the data behind it needs the helper token.
    return FileResponse(
        STATIC_DIR / "studio.html", media_type="text/html", headers={"Cache-Control": "no-cache"}
    )


@router.get("/studio/files/{session_id}/{name}", include_in_schema=False)
def studio_file(
    request: Request, session_id: int, name: str, sig: str = "", shop: str = ""
) -> Response:
    default: AppContext = request.app.state.ctx
    ctx = default.shops.by_slug(shop) if shop else default
    expected = _signature(ctx, session_id, name) if ctx is not None else ""
    if ctx is None or not _FILE_NAME.match(name) or not hmac.compare_digest(sig, expected):
        return JSONResponse(error_body("missing or wrong signature", "sig"), status_code=403)
    path = _store(request, ctx).clips_dir(session_id) / name
    if not path.is_file():
        return JSONResponse(error_body("no such file", "name"), status_code=404)
    return FileResponse(path, headers={"Cache-Control": "private, max-age=3600"})
