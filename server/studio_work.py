"""The clip studio's state per session, and the work its jobs do (plan, render).

State is a JSON file per session, ``<data>/studio/session-<id>/state.json``, next
to the session's clips folder (``clips/``, the same layout ``chotdon clips --out``
writes, with its ``clips.json`` and ``.studio/`` hashes) and the transcript
(``transcript.json``). Not a table: the state belongs to that folder (copy the
folder, and the clips, the plan and the edits go together), it is written by one
worker thread and read by a few requests, and it never joins the live tables.

Times are recording seconds everywhere (clip bounds and edited caption cues), so a
trim never moves a fixed caption. The recording is never deleted or copied: a
trim may reach past the planned bounds anywhere inside it.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import Engine

from studio import ClipEdit, ClipPlan, Options, Source, make_plan, prepare, render_plan, write_plan
from studio.catalog import Product
from studio.errors import StudioError
from studio.events import Event, parse_events, product_windows
from studio.session import recording_from_events
from studio.subtitles import clip_cues
from studio.transcript import load_transcript, segments_from_json, transcribe_recording
from transcribe.types import Segment, segments_to_json

from .errors import InvalidInput, NotFound
from .events import read_session_events

__all__ = [
    "PlanRequest",
    "Store",
    "clip_json",
    "execute",
    "plan_session",
    "recover",
    "render_clips",
    "snap",
    "spec_of_plan",
    "spec_of_render",
]

logger = logging.getLogger(__name__)

SNAP_REACH = 1.0  # seconds: a trim lands on a word edge this close, else where it was put
MIN_CLIP = 1.0
MAX_GLOSSARY = 200  # words; hotwords go in a prompt of a few hundred characters anyway
PUNCTUATION = ".,!?;:…\"'()"
PRICE_WORDS = ("giá", "nghìn", "ngàn", "đồng", "k ")
Progress = Callable[[float], None]


class StateLock:
    """A re-entrant lock for the state files: a thread lock, plus with ``shared`` an
    exclusive ``flock`` on ``<studio>/.lock``, so that the server processes and the
    render workers on PostgreSQL (one shared data folder) never lose each other's
    change to a state file. Without ``shared`` (the laptop) only this process writes."""

    def __init__(self, path: Path | None) -> None:
        self._thread = threading.RLock()
        self._path = path
        self._depth = 0
        self._fd: int | None = None

    def __enter__(self) -> None:
        self._thread.acquire()
        try:
            if self._depth == 0 and self._path is not None:
                self._fd = _flock(self._path)
        except BaseException:
            self._thread.release()
            raise
        self._depth += 1

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._depth -= 1
        if self._depth == 0 and self._fd is not None:
            os.close(self._fd)  # closing the file releases the flock
            self._fd = None
        self._thread.release()


def _flock(path: Path) -> int:
    import fcntl  # Unix only: shared state files are the PostgreSQL setup's, on Linux

    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    except BaseException:
        os.close(fd)
        raise
    return fd


class Store:
    """The studio folders under the data folder; one lock for every state file
    (``shared``: also across processes, see :class:`StateLock`)."""

    def __init__(self, data_dir: Path, *, shared: bool = False) -> None:
        self.root = data_dir / "studio"
        self.lock = StateLock(self.root / ".lock" if shared else None)
        self.progress: dict[str, float] = {}  # clip id -> render progress, while rendering

    def folder(self, session_id: int) -> Path:
        return self.root / f"session-{session_id}"

    def clips_dir(self, session_id: int) -> Path:
        return self.folder(session_id) / "clips"

    def load(self, session_id: int) -> dict[str, Any] | None:
        path = self.folder(session_id) / "state.json"
        with self.lock:
            if not path.is_file():
                return None
            data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            return data

    def save(self, state: dict[str, Any]) -> None:
        folder = self.folder(int(state["session"]))
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / "state.json.tmp"
        with self.lock:
            tmp.write_text(json.dumps(state, ensure_ascii=False, indent=1), encoding="utf-8")
            tmp.replace(folder / "state.json")

    def update_clip(self, clip_id: str, **changes: Any) -> dict[str, Any]:
        """Read, change one clip, write: under the lock, so the worker and a PATCH
        never lose each other's change."""
        session_id = session_of(clip_id)
        with self.lock:
            state = self.load(session_id)
            clip = find_clip(state, clip_id)
            clip.update(changes)
            assert state is not None
            self.save(state)
            return clip

    def glossary(self) -> list[str]:
        """The shop's corrected words (from caption fixes): hotwords for the next live."""
        path = self.root / "glossary.json"
        with self.lock:
            if not path.is_file():
                return []
            words: list[str] = json.loads(path.read_text(encoding="utf-8"))
            return words

    def learn(self, words: Sequence[str]) -> None:
        known = self.glossary()
        fresh = [
            w for w in dict.fromkeys(words) if w.casefold() not in {k.casefold() for k in known}
        ]
        if not fresh:
            return
        self.root.mkdir(parents=True, exist_ok=True)
        with self.lock:
            tmp = self.root / "glossary.json.tmp"
            tmp.write_text(json.dumps([*known, *fresh][-MAX_GLOSSARY:], ensure_ascii=False))
            tmp.replace(self.root / "glossary.json")

    def segments(self, session_id: int) -> list[Segment]:
        path = self.folder(session_id) / "transcript.json"
        if not path.is_file():
            return []
        return segments_from_json(json.loads(path.read_text(encoding="utf-8")), str(path))


def recover(store: Store) -> None:
    """After a restart no job runs: a clip left "rendering" failed with the server."""
    for path in sorted(store.root.glob("session-*/state.json")):
        state = json.loads(path.read_text(encoding="utf-8"))
        stopped = [c for c in state.get("clips", []) if c["status"] == "rendering"]
        for clip in stopped:
            clip.update(status="failed", error="the server stopped during the render")
        if stopped:
            store.save(state)


def session_of(clip_id: str) -> int:
    head, _, _ = clip_id.partition("-")
    if not head.isdigit():
        raise NotFound(f"no clip {clip_id}", field="clip")
    return int(head)


def find_clip(state: dict[str, Any] | None, clip_id: str) -> dict[str, Any]:
    for clip in (state or {}).get("clips", []):
        if clip["id"] == clip_id:
            found: dict[str, Any] = clip  # the state's own dict: callers change it
            return found
    raise NotFound(f"no clip {clip_id}", field="clip")


# -- the session's inputs --------------------------------------------------------------


@dataclass(frozen=True)
class PlanRequest:
    session_id: int
    recording: Path | None
    recording_start: datetime | None
    transcript: Path | None
    whisper_model: str
    hotwords: tuple[str, ...]
    language: str
    products: dict[str, Product]
    lengths: dict[str, Any]  # min_len, max_len, max_clips: Options' fields


def session_events(engine: Engine, session_id: int) -> list[Event]:
    """The session's event log from the server's database (SQLite or PostgreSQL)."""
    try:
        records = read_session_events(None, session_id, engine=engine)
    except NotFound as exc:
        raise NotFound(exc.message, field="session") from None
    return parse_events(records, source=f"session {session_id}")


def resolve_recording(
    events: list[Event], session_id: int, recording: Path | None, start: datetime | None
) -> tuple[Path, datetime | None]:
    """The file and its start, from the request or the OBS log; checked before queuing."""
    try:
        path, start = recording_from_events(
            events, f"session {session_id}", recording=recording, start=start, offset=None
        )
    except StudioError as exc:
        raise InvalidInput(str(exc), field="recording") from None
    if not path.is_file():
        raise InvalidInput(f"recording not found: {path}", field="recording")
    return path, start


def _options(
    store: Store,
    session_id: int,
    lengths: dict[str, Any],
    edits: dict[str, ClipEdit] | None = None,
) -> Options:
    # One clip at a time: the live may still be running on the same two cores.
    return Options(out_dir=store.clips_dir(session_id), jobs=1, edits=edits or {}, **lengths)


def _source(
    store: Store,
    state: dict[str, Any],
    events: list[Event],
    products: dict[str, Product],
    options: Options,
) -> Source:
    start = state.get("recording_start")
    return prepare(
        Path(state["recording"]),
        options=options,
        events=events,
        products=products,
        segments=store.segments(int(state["session"])),
        start_flag=datetime.fromisoformat(start) if start else None,
    )


# -- planning ----------------------------------------------------------------------------


def plan_session(store: Store, engine: Engine, request: PlanRequest, progress: Progress) -> None:
    """Transcribe (or take the given transcript), plan, then render every clip."""
    session_id = request.session_id
    events = session_events(engine, session_id)
    recording, start = resolve_recording(
        events, session_id, request.recording, request.recording_start
    )
    folder = store.folder(session_id)
    folder.mkdir(parents=True, exist_ok=True)
    options = _options(store, session_id, request.lengths)

    def transcript(regions: Sequence[tuple[float, float]] | None) -> list[Segment]:
        if request.transcript is not None:
            segments = load_transcript(request.transcript)
        else:
            segments = transcribe_recording(
                recording,
                request.whisper_model or None,
                lambda done, total: progress(0.3 * done / total if total else 0.0),
                request.language,
                regions,
                request.hotwords,
            )
        text = json.dumps({"segments": segments_to_json(segments)}, ensure_ascii=False)
        (folder / "transcript.json").write_text(text, encoding="utf-8")
        return segments

    source = prepare(
        recording,
        options=options,
        events=events,
        products=request.products,
        segments=transcript,
        start_flag=start,
    )
    plans = make_plan(source, options)
    options.out_dir.mkdir(parents=True, exist_ok=True)
    began = source.recording_start.isoformat() if source.recording_start else None
    meta = {"recording": recording.name, "duration": round(source.info.duration, 3)}
    write_plan(options.out_dir / "clips.json", plans, {**meta, "recording_start": began})
    clips = [_new_clip(session_id, n, plan, source) for n, plan in enumerate(plans, start=1)]
    state = {
        "session": session_id,
        "recording": str(recording),
        "recording_start": began,
        "duration": source.info.duration,
        "lengths": request.lengths,
        "clips": sorted(clips, key=lambda c: -c["score"]),
    }
    store.save(state)
    progress(0.35)
    render_clips(store, engine, session_id, None, request.products, progress, 0.35)


def _new_clip(session_id: int, number: int, plan: ClipPlan, source: Source) -> dict[str, Any]:
    return {
        "id": f"{session_id}-{number}",
        "file": plan.file,
        "code": plan.code,
        "title": plan.title,
        "score": plan.score,
        "start": plan.start,
        "end": plan.end,
        "planned": [plan.start, plan.end],
        "reason_parts": _reason(plan, source),
        "status": "planned",
        "decision": None,
        "error": None,
        "captions": [],  # the helper's edited cues only: [start, end, text]
        "card": True,
        "framing": {"mode": "follow", "x": 0.5},
        "stale": False,
    }


def _reason(plan: ClipPlan, source: Source) -> dict[str, Any]:
    """Why the clip was chosen, as numbers the page words in its own language."""
    orders, minutes = 0, 0.0
    if plan.code and source.events and source.recording_start is not None:
        for window in product_windows(source.events, source.recording_start, source.info.duration):
            if window.code == plan.code and window.end > plan.start and window.start < plan.end:
                orders += len(window.orders)
                minutes += window.duration / 60
    said = " ".join(s.text.lower() for s in source.segments if plan.start <= s.start < plan.end)
    return {
        "code": plan.code,
        "orders": orders,
        "minutes": max(1, round(minutes)) if orders else 0,
        "price_said": any(w in said + " " for w in PRICE_WORDS),
    }


def reason_text(parts: dict[str, Any]) -> str:
    """The reason in English words, for the API (the page words it in Vietnamese)."""
    words = []
    if parts.get("code"):
        words.append(f"{parts['code']} on screen")
    if parts.get("orders"):
        unit = "minute" if parts["minutes"] == 1 else "minutes"
        words.append(f"{parts['orders']} orders in {parts['minutes']} {unit}")
    if parts.get("price_said"):
        words.append("price said")
    return ", ".join(words) or "selling talk"


# -- rendering ---------------------------------------------------------------------------


def _edit(clip: dict[str, Any]) -> ClipEdit:
    framing = clip.get("framing") or {}
    return ClipEdit(
        captions=tuple((float(s), float(e), str(t)) for s, e, t in clip.get("captions", [])),
        card=bool(clip.get("card", True)),
        framing=str(framing.get("mode", "follow")),
        x=float(framing.get("x", 0.5)),
        style=clip.get("style"),
    )


def _plan(clip: dict[str, Any]) -> ClipPlan:
    return ClipPlan(
        clip["file"], clip["code"], clip["start"], clip["end"], clip["score"], clip["title"]
    )


def render_clips(
    store: Store,
    engine: Engine,
    session_id: int,
    clip_ids: Sequence[str] | None,
    products: dict[str, Product],
    progress: Progress,
    base: float = 0.0,
) -> None:
    """Render the clips (all when ``clip_ids`` is None) whose plan or edits changed;
    the pipeline's hash skips the rest. Each clip's status is saved as it goes."""
    state = store.load(session_id)
    if state is None:
        raise NotFound(f"session {session_id} has no clips yet", field="session")
    chosen = [c for c in state["clips"] if clip_ids is None or c["id"] in clip_ids]
    by_file = {c["file"]: c["id"] for c in chosen}
    # An edit saved while its clip renders leaves it stale: this render predates it.
    revs = {c["id"]: c.get("rev", 0) for c in chosen}
    for clip in chosen:
        store.update_clip(clip["id"], status="rendering", error=None)
    edits = {c["file"]: _edit(c) for c in chosen}
    options = _options(store, session_id, state.get("lengths", {}), edits)
    failed: list[str] = []
    try:
        check_inputs(state, products)
        source = _source(store, state, session_events(engine, session_id), products, options)
        for update in render_plan(source, [_plan(c) for c in chosen], options):
            clip_id = by_file[update.file]
            store.progress[clip_id] = update.fraction
            progress(base + (1 - base) * update.overall)
            if update.state in ("done", "skipped"):
                current = find_clip(store.load(session_id), clip_id)
                stale = current.get("rev", 0) != revs[clip_id]
                store.update_clip(clip_id, status="ready", error=None, stale=stale)
            elif update.state == "failed":
                store.update_clip(clip_id, status="failed", error=update.message)
                failed.append(f"clip {clip_id} ({update.file}): {update.message}")
    except Exception as exc:
        for clip in chosen:  # whatever did not finish failed with the job
            current = find_clip(store.load(session_id), clip["id"])
            if current["status"] == "rendering":
                store.update_clip(clip["id"], status="failed", error=str(exc))
        names = ", ".join(f"{c['id']} ({c['file']})" for c in chosen)
        raise RenderFailed(f"clips {names}: {exc}") from exc
    finally:
        for clip in chosen:
            store.progress.pop(clip["id"], None)
    if failed:  # the job fails too, naming each clip and why: the page shows the job's error
        raise RenderFailed("; ".join(failed))


class RenderFailed(Exception):
    """A render job's failure, naming the clips and the cause."""


def check_inputs(state: dict[str, Any], products: dict[str, Product]) -> None:
    """The files a render reads, present here: a render worker on another machine sees
    the recording and the product images only through the shared folders."""
    recording = Path(state["recording"])
    if not recording.is_file():
        raise StudioError(
            f"recording not found on this machine: {recording} (render workers need the "
            "recordings folder at the same path as the server)"
        )
    for product in products.values():
        if product.image is not None and not product.image.is_file():
            raise StudioError(
                f"product image not found on this machine: {product.image} "
                f"(product {product.code}; the data folder must be shared at the same path)"
            )


# -- jobs as data -------------------------------------------------------------------------
# What a job does, as JSON: the in-process runner and the PostgreSQL queue
# (server.studio_queue) run the same spec through :func:`execute`.


def _products_json(products: dict[str, Product]) -> list[dict[str, Any]]:
    return [
        {**dataclasses.asdict(p), "aliases": list(p.aliases), "image": str(p.image or "") or None}
        for p in products.values()
    ]


def _products_of(items: Sequence[dict[str, Any]]) -> dict[str, Product]:
    products = {}
    for item in items:
        image = Path(item["image"]) if item.get("image") else None
        products[item["code"]] = Product(
            **{**item, "aliases": tuple(item.get("aliases") or ()), "image": image}
        )
    return products


def spec_of_plan(request: PlanRequest) -> dict[str, Any]:
    start = request.recording_start
    return {
        "kind": "plan",
        "session": request.session_id,
        "recording": str(request.recording) if request.recording else None,
        "recording_start": start.isoformat() if start else None,
        "transcript": str(request.transcript) if request.transcript else None,
        "whisper_model": request.whisper_model,
        "hotwords": list(request.hotwords),
        "language": request.language,
        "products": _products_json(request.products),
        "lengths": request.lengths,
    }


def spec_of_render(
    session_id: int, clip_ids: Sequence[str] | None, products: dict[str, Product]
) -> dict[str, Any]:
    return {
        "kind": "render",
        "session": session_id,
        "clips": list(clip_ids) if clip_ids is not None else None,
        "products": _products_json(products),
    }


def execute(spec: dict[str, Any], store: Store, engine: Engine, progress: Progress) -> None:
    """Run one job described by its spec (``spec_of_plan`` / ``spec_of_render``)."""
    products = _products_of(spec["products"])
    session_id = int(spec["session"])
    if spec["kind"] == "render":
        render_clips(store, engine, session_id, spec["clips"], products, progress)
        return
    start = spec["recording_start"]
    request = PlanRequest(
        session_id,
        Path(spec["recording"]) if spec["recording"] else None,
        datetime.fromisoformat(start) if start else None,
        Path(spec["transcript"]) if spec["transcript"] else None,
        spec["whisper_model"],
        tuple(spec["hotwords"]),
        spec["language"],
        products,
        dict(spec["lengths"]),
    )
    plan_session(store, engine, request, progress)


# -- trims and captions ------------------------------------------------------------------


def words_of(segments: Sequence[Segment], start: float, end: float) -> list[dict[str, Any]]:
    return [
        {"start": w.start, "end": w.end, "word": w.word.strip()}
        for s in segments
        if s.end >= start and s.start <= end
        for w in s.words
        if w.end >= start and w.start <= end and w.word.strip()
    ]


def snap(value: float, edges: Sequence[float]) -> float:
    """The nearest word edge within reach, else the value itself."""
    near = min(edges, key=lambda e: abs(e - value), default=None)
    return round(near if near is not None and abs(near - value) <= SNAP_REACH else value, 3)


def trimmed(
    segments: Sequence[Segment], duration: float, start: float, end: float
) -> tuple[float, float]:
    """Bounds snapped to word edges (starts to word starts, ends to word ends)."""
    words = [w for s in segments for w in s.words]
    start = snap(max(0.0, start), [w.start for w in words])
    end = snap(min(duration, end), [w.end for w in words])
    if end - start < MIN_CLIP:
        raise InvalidInput(
            f"a clip needs at least {MIN_CLIP:g} s (start {start}, end {end})", field="end"
        )
    return start, end


def cues_json(segments: Sequence[Segment], clip: dict[str, Any]) -> list[dict[str, Any]]:
    """What the clip will show, in recording seconds: the transcript plus the edits."""
    start, end = float(clip["start"]), float(clip["end"])
    edits = [(float(s), float(e), str(t)) for s, e, t in clip.get("captions", [])]
    return [
        {
            "start": round(cue.start + start, 3),
            "end": round(cue.end + start, 3),
            "text": "\n".join(cue.lines),
            "edited": not cue.words,
        }
        for cue in clip_cues(segments, start, end, edits)
    ]


def corrected_words(
    segments: Sequence[Segment], clip: dict[str, Any], edits: Sequence[Sequence[Any]]
) -> list[str]:
    """Words a helper typed that the transcript did not have there (a product name, a
    price): what the glossary learns."""
    start = float(clip["start"])
    heard = {
        word.strip(PUNCTUATION).casefold()
        for cue in clip_cues(segments, start, float(clip["end"]))
        for line in cue.lines
        for word in line.split()
    }
    typed = [w.strip(PUNCTUATION) for _s, _e, text in edits for w in str(text).split()]
    return [w for w in typed if len(w) > 1 and w.casefold() not in heard]


def edited_cues(
    segments: Sequence[Segment], clip: dict[str, Any], given: Sequence[dict[str, Any]]
) -> list[list[Any]]:
    """The cues of ``given`` that differ from the transcript's, plus the earlier edits
    outside the clip (a later trim may bring them back)."""
    start, end = float(clip["start"]), float(clip["end"])
    plain = {
        (round(c.start + start, 2), round(c.end + start, 2)): "\n".join(c.lines)
        for c in clip_cues(segments, start, end)
    }
    edits = [
        [round(float(c["start"]), 3), round(float(c["end"]), 3), str(c["text"]).strip()]
        for c in given
        if plain.get((round(float(c["start"]), 2), round(float(c["end"]), 2)))
        != str(c["text"]).strip()
    ]
    kept = [c for c in clip.get("captions", []) if c[1] <= start or c[0] >= end]
    return sorted(kept + edits)


def clip_json(
    clip: dict[str, Any],
    segments: Sequence[Segment],
    links: Callable[[str], str | None],
    progress: float,
) -> dict[str, Any]:
    """One clip as the API shows it."""
    stem = Path(clip["file"]).stem
    status = clip["status"]
    if status == "ready" and clip.get("decision") in ("approved", "rejected", "later"):
        status = clip["decision"]
    return {
        "id": clip["id"],
        "file": clip["file"],
        "title": clip["title"],
        "code": clip["code"],
        "score": clip["score"],
        "start": clip["start"],
        "end": clip["end"],
        "planned": clip["planned"],
        "reason": reason_text(clip["reason_parts"]),
        "reason_parts": clip["reason_parts"],
        "status": status,
        "render": clip["status"],
        "decision": clip.get("decision"),
        "error": clip.get("error"),
        "progress": progress if clip["status"] == "rendering" else None,
        "stale": clip.get("stale", False),
        "card": clip.get("card", True),
        "framing": clip.get("framing"),
        "style": clip.get("style") or "karaoke",
        "video": links(clip["file"]),
        "thumbnail": links(f"{stem}.jpg"),
        "captions": cues_json(segments, clip),
    }
