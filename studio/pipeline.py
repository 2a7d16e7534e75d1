"""From a recording (+ event log, catalog, transcript) to clips on disk.

``prepare`` checks the inputs and places the recording on the event clock;
``make_plan`` chooses clips; ``render_plan`` renders them in a thread pool of
ffmpeg subprocesses (one per core) and yields ``Progress`` updates as they
come, so the CLI can draw them and a test can simply drain the generator.

A finished clip gets a sidecar ``.studio/<clip>.json`` holding a hash of its
plan entry and every option that changes the picture; a re-run skips clips
whose hash still matches, and re-renders the ones a helper edited.

``Options.edits`` carries what a helper changed per clip on the studio page
(``server.studio_api``): caption cues, the product card, the framing. A clip
without an edit hashes and renders exactly as from the command line.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from studio.align import Alignment, align_from_cards
from studio.catalog import Product
from studio.errors import StudioError
from studio.events import Event, price_at, product_windows
from studio.media import MediaInfo, audio_envelope, check_ffmpeg, probe
from studio.plan import (
    ClipPlan,
    candidate_regions,
    clip_title,
    plan_from_transcript,
    plan_from_windows,
)
from studio.post import post_caption
from studio.reframe import Reframe, analyse, plan_crop
from studio.render import RenderJob, frame_size, render, thumbnail
from studio.subtitles import EditedCue, write_captions
from studio.track import OverlayTimeline, overlay_timeline
from transcribe.audio import Region, merge_regions
from transcribe.types import Segment

__all__ = [
    "ClipEdit",
    "Options",
    "Progress",
    "Source",
    "Timings",
    "make_plan",
    "prepare",
    "render_plan",
    "resolve_recording_start",
]

log = logging.getLogger(__name__)

SILENCE_DBFS = -55.0
RENDER_VERSION = 2  # bump when the look of a clip changes, to re-render old ones (2: tracking)
STATE_DIR = ".studio"

# Gets the regions to transcribe (None: the whole recording), gives the segments.
Transcribe = Callable[[Sequence[Region] | None], Sequence[Segment]]


Framing = str  # follow (track the seller) | fixed (crop centre at x) | full (letterbox)


@dataclass(frozen=True)
class ClipEdit:
    """A helper's changes to one clip, beyond its plan entry's start and end."""

    captions: tuple[EditedCue, ...] = ()  # recording seconds; replace what they overlap
    card: bool = True
    framing: Framing = "follow"
    x: float = 0.5  # crop centre across the source, 0..1, for "fixed"
    style: str | None = None  # karaoke | plain | none; None: Options.captions


@dataclass(frozen=True)
class Options:
    out_dir: Path
    aspect: str = "9:16"
    captions: str = "karaoke"  # karaoke | plain | none
    min_len: float = 15.0
    max_len: float = 60.0
    max_clips: int | None = None
    preset: str = "veryfast"
    jobs: int = 0  # 0: one per core
    language: str = "vi"  # of the speech and the post text
    transcribe_all: bool = False  # with an event log, transcribe the whole recording anyway
    align: bool = True  # without a start flag, look for the pinned cards in the recording
    edits: Mapping[str, ClipEdit] = field(default_factory=dict)  # by clip file name


class Timings:
    """Seconds spent in each stage of a run. Stages that run once per clip
    (``track``, ``captions``, ``encode``, ``thumbnail``) are summed over the clips,
    which render in parallel: ``render`` is the wall time of all of them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.seconds: dict[str, float] = {}

    def add(self, stage: str, seconds: float) -> None:
        with self._lock:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - started)

    def as_dict(self) -> dict[str, float]:
        with self._lock:
            return {k: round(v, 3) for k, v in self.seconds.items()}


@dataclass(frozen=True)
class Source:
    """Everything known about the input, checked."""

    info: MediaInfo
    loudness: object  # numpy array of dBFS per half second
    events: list[Event] | None = None
    recording_start: datetime | None = None
    products: dict[str, Product] = field(default_factory=dict)
    segments: list[Segment] = field(default_factory=list)
    regions: tuple[Region, ...] | None = None  # what was transcribed, when not everything
    alignment: Alignment | None = None  # when the start came from the burned-in cards
    notes: tuple[str, ...] = ()  # why the cards were not used, for the editor
    timings: Timings = field(default_factory=Timings, compare=False, repr=False)


@dataclass(frozen=True)
class Progress:
    file: str
    fraction: float  # of this clip
    done: int  # clips finished (rendered or skipped) so far
    total: int
    state: str = "rendering"  # rendering | done | skipped | failed
    overall: float = 0.0  # of all clips, 0..1
    message: str = ""


def resolve_recording_start(
    info: MediaInfo,
    events: Sequence[Event],
    start_flag: datetime | None = None,
    offset: float | None = None,
) -> datetime:
    """The wall-clock time of the recording's first frame: the flag (or what
    :mod:`studio.align` found from the cards), else the session start shifted by
    ``offset`` (where the session began in the recording), else the file's
    ``creation_time``, else the session start."""
    session = next((e.t for e in events if e.type == "session_started"), None)
    if start_flag is not None:
        return start_flag
    if offset is not None:
        if session is None:
            raise StudioError("--offset needs a session_started event in the log")
        return session - timedelta(seconds=offset)
    if info.creation_time is not None:
        return info.creation_time
    if session is not None:
        return session
    raise StudioError("cannot tell when the recording started: give --recording-start or --offset")


def check_recording(info: MediaInfo, min_len: float) -> object:
    """Refuse recordings that cannot make a clip; return their loudness envelope."""
    if not info.has_audio:
        raise StudioError(f"{info.path.name} has no audio track: clips need the seller's voice")
    if info.duration < min_len:
        raise StudioError(
            f"{info.path.name} is {info.duration:.1f}s long, "
            f"shorter than a clip (--min-len {min_len:g})"
        )
    loudness = audio_envelope(info.path)
    if loudness.size == 0 or float(loudness.max()) < SILENCE_DBFS:
        raise StudioError(
            f"{info.path.name}: the audio is silent (nothing above {SILENCE_DBFS:g} dBFS)"
        )
    return loudness


def prepare(
    recording: Path,
    *,
    options: Options,
    events: list[Event] | None,
    products: dict[str, Product],
    segments: Sequence[Segment] | Transcribe,
    start_flag: datetime | None = None,
    offset: float | None = None,
) -> Source:
    """Check the tools and the recording, then get the transcript.

    A callable is only called once the recording has passed, so a bad file fails
    fast. With an event log it gets the candidate regions (see
    :func:`studio.plan.candidate_regions`): a long live is transcribed only where
    clips can be, not end to end. Without one, or with ``transcribe_all``, it gets
    None: the whole recording."""
    timings = Timings()
    with timings.stage("probe"):
        check_ffmpeg()
        info = probe(recording)
        loudness = check_recording(info, options.min_len)
    alignment: Alignment | None = None
    notes: tuple[str, ...] = ()
    if events is not None and start_flag is None and offset is None and options.align:
        with timings.stage("align"):
            alignment, notes = _align(info, events, products)
        start_flag = alignment.recording_start if alignment else None
    start = (
        resolve_recording_start(info, events, start_flag, offset) if events is not None else None
    )
    if not callable(segments):
        said, regions = list(segments), None
    else:
        regions = _regions(events, start, info.duration, options)
        with timings.stage("transcribe"):
            said = list(segments(regions))
    return Source(info, loudness, events, start, products, said, regions, alignment, notes, timings)


def _align(
    info: MediaInfo, events: Sequence[Event], products: dict[str, Product]
) -> tuple[Alignment | None, tuple[str, ...]]:
    """The start from the burned-in cards, or why not (the next source is used then)."""
    photos = {code: p.image for code, p in products.items() if p.image is not None}
    try:
        return align_from_cards(info, events, photos), ()
    except StudioError as exc:
        log.info("%s", exc)
        return None, (str(exc),)


def _regions(
    events: list[Event] | None, start: datetime | None, duration: float, options: Options
) -> tuple[Region, ...] | None:
    if events is None or start is None or options.transcribe_all:
        return None
    windows = product_windows(events, start, duration)
    regions = candidate_regions(windows, min_len=options.min_len, max_len=options.max_len)
    return tuple(merge_regions(regions)) if regions else None


def make_plan(source: Source, options: Options) -> list[ClipPlan]:
    with source.timings.stage("plan"):
        return _make_plan(source, options)


def _make_plan(source: Source, options: Options) -> list[ClipPlan]:
    import numpy as np

    if source.events is not None and source.recording_start is not None:
        windows = product_windows(source.events, source.recording_start, source.info.duration)
        if not windows:
            raise StudioError(
                "no product was pinned while the recording ran (it starts at "
                f"{source.recording_start.isoformat()}); check --recording-start/--offset"
            )
        plans = plan_from_windows(
            windows,
            source.products,
            source.segments,
            min_len=options.min_len,
            max_len=options.max_len,
            max_clips=options.max_clips,
            regions=source.regions,
            language=options.language,
        )
        if not plans:
            longest = max((w.duration for w in windows), default=0.0)
            raise StudioError(
                f"every product window is shorter than --min-len {options.min_len:g}s "
                f"(longest {longest:.1f}s)"
            )
        # Titles carry the price in effect when each clip starts, not the catalog's.
        return [
            replace(p, title=clip_title(product_for(p, source), p.code, ())) if p.code else p
            for p in plans
        ]
    if not source.segments:
        raise StudioError("without an event log the plan needs speech, and the transcript is empty")
    loudness = np.asarray(source.loudness, dtype=np.float32)
    plans = plan_from_transcript(
        source.segments,
        source.products,
        loudness,
        source.info.duration,
        min_len=options.min_len,
        max_len=options.max_len,
        max_clips=options.max_clips,
        language=options.language,
    )
    if not plans:
        raise StudioError("no product name or selling phrase was heard; nothing to clip")
    return plans


def product_for(plan: ClipPlan, source: Source) -> Product | None:
    """The product with the price in effect when the clip starts."""
    product = source.products.get(plan.code) if plan.code else None
    if product is None or not source.events or source.recording_start is None:
        return product
    moment = source.recording_start + timedelta(seconds=plan.start)
    changed = price_at(source.events, product.code, moment)
    return product.with_prices(*changed) if changed else product


def _fingerprint(plan: ClipPlan, product: Product | None, source: Source, options: Options) -> str:
    stat = source.info.path.stat()
    words = [
        (s.start, s.end, s.text, s.words)
        for s in source.segments
        if s.end > plan.start and s.start < plan.end
    ]
    payload = {
        "v": RENDER_VERSION,
        "plan": asdict(plan),
        "product": asdict(product) if product else None,
        "recording": [source.info.path.name, stat.st_size, stat.st_mtime_ns],
        "options": [options.aspect, options.captions, options.preset, options.language],
        "captions": words,
    }
    edit = options.edits.get(plan.file)
    if edit is not None and edit != ClipEdit():  # unedited clips keep the CLI's hash
        payload["edit"] = asdict(edit)
    blob = json.dumps(payload, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


def _state_file(options: Options, plan: ClipPlan) -> Path:
    return options.out_dir / STATE_DIR / (Path(plan.file).stem + ".json")


def is_current(plan: ClipPlan, product: Product | None, source: Source, options: Options) -> bool:
    state = _state_file(options, plan)
    if not (options.out_dir / plan.file).is_file() or not state.is_file():
        return False
    try:
        stored = json.loads(state.read_text(encoding="utf-8")).get("hash")
    except (OSError, ValueError):
        return False
    return bool(stored == _fingerprint(plan, product, source, options))


def _card_geometry(aspect: str) -> tuple[int, int, int]:
    """(card width, x, y): inside the platforms' safe area, above the face."""
    width, height = frame_size(aspect)
    if aspect == "9:16":
        return 900, (width - 900) // 2, (height - 1386) // 2 + 16
    card_w = int(min(width, height) * 0.7)
    return card_w, (width - card_w) // 2, int(height * 0.04)


def render_one(
    plan: ClipPlan, source: Source, options: Options, report: queue.Queue[tuple[str, float]]
) -> None:
    """Everything for one clip: framing, card, captions, video, thumbnail, post text."""
    out, work = options.out_dir, options.out_dir / STATE_DIR
    work.mkdir(parents=True, exist_ok=True)
    stem = Path(plan.file).stem
    product = product_for(plan, source)
    width, height = frame_size(options.aspect)
    overlay = None  # which overlay elements were on screen, so motion ignores them
    if source.events and source.recording_start is not None:
        overlay = overlay_timeline(source.events, source.recording_start)
    edit = options.edits.get(plan.file, ClipEdit())
    timings = source.timings
    with timings.stage("track"):
        reframe = _framing(edit, source.info, plan, width / height, overlay)
    with timings.stage("captions"):
        card_path, ass_path = _card_and_captions(plan, source, options, edit, product)
    partial = out / f"{stem}.part.mp4"
    job = RenderJob(
        source.info.path,
        plan.start,
        plan.end,
        partial,
        reframe,
        aspect=options.aspect,
        card=card_path,
        card_xy=_card_geometry(options.aspect)[1:],
        subtitles=ass_path,
        preset=options.preset,
    )
    try:
        with timings.stage("encode"):
            render(job, lambda f: report.put((plan.file, f)))
        partial.replace(out / plan.file)
    finally:
        partial.unlink(missing_ok=True)
    with timings.stage("thumbnail"):
        thumbnail(out / plan.file, reframe.thumbnail_t, out / f"{stem}.jpg")
    (out / f"{stem}.txt").write_text(
        post_caption(plan, product, options.language), encoding="utf-8"
    )
    state = {
        "hash": _fingerprint(plan, product, source, options),
        "rendered_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "framing": reframe.mode,
    }
    _state_file(options, plan).write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")


def _card_and_captions(
    plan: ClipPlan, source: Source, options: Options, edit: ClipEdit, product: Product | None
) -> tuple[Path | None, Path | None]:
    """The clip's card PNG and ASS captions (the .srt goes next to the clip)."""
    from overlays.card import render_card

    out, work = options.out_dir, options.out_dir / STATE_DIR
    stem = Path(plan.file).stem
    width, height = frame_size(options.aspect)
    card_path = None
    if product is not None and edit.card:
        card_path = work / f"{stem}.card.png"
        render_card(
            product.name,
            product.price,
            product.unit,
            sale_price=product.sale_price,
            ocop_stars=product.ocop_stars,
            image=product.image,
            width=_card_geometry(options.aspect)[0],
        ).save(card_path)
    style = edit.style or options.captions
    ass_path = write_captions(
        source.segments,
        plan.start,
        plan.end,
        srt=out / f"{stem}.srt",
        ass=work / f"{stem}.ass" if style != "none" else None,
        karaoke=style == "karaoke",
        frame=(width, height),
        edits=edit.captions,
    )
    return card_path, ass_path


def _framing(
    edit: ClipEdit,
    info: MediaInfo,
    plan: ClipPlan,
    aspect: float,
    overlay: OverlayTimeline | None,
) -> Reframe:
    """Follow the seller (the analysis), or what the helper chose: no analysis then."""
    if edit.framing == "follow":
        return analyse(info, plan.start, plan.duration, aspect, overlay)
    middle = plan.duration / 2
    mode, crop_w, crop_h = plan_crop(info.width, info.height, aspect)
    if edit.framing == "full" or mode != "crop":
        chosen = "letterbox" if edit.framing == "full" and mode != "pass" else mode
        return Reframe(chosen, crop_w, crop_h, thumbnail_t=middle)
    x = min(max(edit.x * info.width - crop_w / 2, 0.0), float(info.width - crop_w))
    y = (info.height - crop_h) / 2
    return Reframe("crop", crop_w, crop_h, ((0.0, x),), ((0.0, y),), thumbnail_t=middle)


def render_plan(source: Source, plans: Sequence[ClipPlan], options: Options) -> Iterator[Progress]:
    """Render every clip not already rendered from the same plan entry. Failures
    are reported per clip and raised together at the end."""
    total = len(plans)
    fractions = {p.file: 0.0 for p in plans}
    done = 0

    def overall() -> float:
        return sum(fractions.values()) / max(total, 1)

    todo = []
    for plan in plans:
        if is_current(plan, product_for(plan, source), source, options):
            fractions[plan.file], done = 1.0, done + 1
            yield Progress(plan.file, 1.0, done, total, "skipped", overall())
        else:
            todo.append(plan)
    report: queue.Queue[tuple[str, float]] = queue.Queue()
    failures: list[str] = []
    workers = max(1, min(options.jobs or os.cpu_count() or 1, len(todo) or 1))
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="clip") as pool:
        futures: dict[Future[None], ClipPlan] = {
            pool.submit(render_one, plan, source, options, report): plan for plan in todo
        }
        pending = set(futures)
        while pending:
            try:
                name, fraction = report.get(timeout=0.5)
                fractions[name] = max(fractions[name], min(fraction, 0.99))
                yield Progress(name, fractions[name], done, total, "rendering", overall())
            except queue.Empty:
                pass
            for future in [f for f in pending if f.done()]:
                pending.discard(future)
                plan = futures[future]
                error = future.exception()
                fractions[plan.file], done = 1.0, done + 1
                if error is None:
                    yield Progress(plan.file, 1.0, done, total, "done", overall())
                else:
                    failures.append(f"{plan.file}: {error}")
                    log.error("clip %s failed: %s", plan.file, error)
                    yield Progress(plan.file, 1.0, done, total, "failed", overall(), str(error))
    source.timings.add("render", time.perf_counter() - started)
    if failures:
        raise StudioError("some clips failed:\n  " + "\n  ".join(failures))
