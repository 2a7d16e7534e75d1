"""``chotdon clips``: the command-line edge of the studio.

Domain errors (``StudioError``) become ``click.ClickException`` here and only
here. Progress goes to stderr so stdout stays a clean list of written clips.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

import click

from studio.errors import StudioError

__all__ = ["SESSION_READER", "SessionReader", "clips"]

log = logging.getLogger(__name__)


class _ProgressPrinter:
    """One redrawn status line on a terminal; a line per milestone otherwise."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.clips: dict[str, float] = {}
        self.printed: dict[str, int] = {}

    def __call__(self, update: Any) -> None:
        self.clips[update.file] = update.fraction
        if self.tty:
            active = " ".join(
                f"{name[:14]} {_bar(f)}" for name, f in self.clips.items() if 0 < f < 1
            )
            line = f"\r[{update.done}/{update.total}] {_bar(update.overall)} {active}"
            self.stream.write(line[:160].ljust(80))
            if update.done == update.total and update.state != "rendering":
                self.stream.write("\n")
        else:
            step = 100 if update.state != "rendering" else int(update.fraction * 4) * 25
            if self.printed.get(update.file) == step:
                return
            self.printed[update.file] = step
            label = update.state if update.state != "rendering" else f"{step:3d}%"
            self.stream.write(
                f"[{update.done}/{update.total}] {update.file}: {label}"
                f" (overall {update.overall:.0%})\n"
            )
        self.stream.flush()


def _bar(fraction: float, width: int = 10) -> str:
    filled = round(fraction * width)
    return "[" + "#" * filled + "." * (width - filled) + f"] {fraction:4.0%}"


def _parse_start(value: str | None) -> datetime | None:
    if value is None:
        return None
    from studio.events import parse_time

    try:
        return parse_time(value)
    except ValueError:
        raise click.BadParameter(
            f"not an ISO-8601 time: {value!r}", param_hint="--recording-start"
        ) from None


SESSION_READER = "chotdon.read_session_events"
SessionReader = Callable[[Path | None, int], list[dict[str, Any]]]


def _session_reader() -> SessionReader:
    """How ``--session`` reads the log: the SQLite file itself, unless the command
    runs under a group that put its own reader in ``ctx.meta`` (the ``chotdon``
    command does: the server's storage, so a PostgreSQL database works too)."""
    ctx = click.get_current_context(silent=True)
    given = ctx.meta.get(SESSION_READER) if ctx is not None else None
    if given is not None:
        reader: SessionReader = given
        return reader
    from studio.session import read_session_events

    return read_session_events


def _load_events(events_file: Path | None, session: int | None, data: Path | None) -> Any:
    from studio.events import parse_events, read_events

    if events_file is not None and session is not None:
        raise click.UsageError("give --events or --session, not both")
    if events_file is not None:
        return read_events(events_file)
    if session is not None:
        records = _session_reader()(data, session)
        if not records:
            where = data or "the default data folder"
            raise StudioError(f"session {session} has no events in {where}")
        return parse_events(records, source=f"session {session}")
    return None


def _load_segments(
    transcript: Path | None,
    model: str | None,
    recording: Path,
    language: str = "vi",
    regions: Sequence[tuple[float, float]] | None = None,
) -> Any:
    from studio.transcript import load_transcript, transcribe_recording

    if transcript is not None:
        return load_transcript(transcript)
    shown = [-1]

    def progress(done: float, total: float) -> None:
        percent = int(100 * done / total) if total else 100
        if percent // 10 != shown[0]:
            shown[0] = percent // 10
            click.echo(f"Transcribing {what}: {percent}%", err=True)

    what = recording.name
    if regions is not None:
        seconds = sum(end - start for start, end in regions)
        what = f"{recording.name} ({len(regions)} regions, {seconds / 60:.1f} min)"
    return transcribe_recording(recording, model, progress, language, regions)


@click.command()
@click.argument("recording", type=click.Path(path_type=Path, dir_okay=False), required=False)
@click.option(
    "--events",
    "events_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Session event log (JSONL).",
)
@click.option("--session", type=int, help="Read the event log of this session from the server.")
@click.option(
    "--data",
    type=click.Path(path_type=Path, file_okay=False),
    help="The server's data folder (with --session).",
)
@click.option(
    "--catalog",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Catalog CSV for product names and prices on the card and in the post.",
)
@click.option("--recording-start", help="When the recording started (ISO-8601).")
@click.option(
    "--offset", type=float, help="Seconds into the recording at which the session started."
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Output folder [default: RECORDING-clips next to the recording].",
)
@click.option("--max", "max_clips", type=click.IntRange(min=1), help="At most N clips.")
@click.option("--min-len", type=click.FloatRange(min=3), default=15.0, show_default=True)
@click.option("--max-len", type=click.FloatRange(min=3), default=60.0, show_default=True)
@click.option(
    "--aspect", type=click.Choice(["9:16", "1:1", "16:9"]), default="9:16", show_default=True
)
@click.option(
    "--captions",
    type=click.Choice(["karaoke", "plain", "none"]),
    default="karaoke",
    show_default=True,
)
@click.option("--model", help="Whisper model name or folder [default: the transcriber's].")
@click.option(
    "--transcript",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Use this transcript JSON instead of transcribing.",
)
@click.option(
    "--language",
    type=click.Choice(["vi", "id", "en"]),
    default="vi",
    show_default=True,
    help="Language of the speech (transcription) and of the post text.",
)
@click.option(
    "--transcribe-all",
    is_flag=True,
    help="Transcribe the whole recording, not only where clips can be (with an event log).",
)
@click.option(
    "--align/--no-align",
    default=True,
    show_default=True,
    help="Without --recording-start/--offset, find the start from the product cards on screen.",
)
@click.option("--preset", default="veryfast", show_default=True, help="x264 preset.")
@click.option(
    "--jobs",
    type=click.IntRange(min=0),
    default=0,
    help="Clips rendered at once [default: one per core].",
)
@click.option("--plan-only", is_flag=True, help="Write clips.json and stop.")
@click.option("--replan", is_flag=True, help="Plan afresh even if clips.json exists.")
@click.option("-v", "--verbose", is_flag=True)
def clips(
    recording: Path | None,
    events_file: Path | None,
    session: int | None,
    data: Path | None,
    catalog: Path | None,
    recording_start: str | None,
    offset: float | None,
    out_dir: Path | None,
    max_clips: int | None,
    min_len: float,
    max_len: float,
    aspect: str,
    captions: str,
    model: str | None,
    transcript: Path | None,
    language: str,
    transcribe_all: bool,
    align: bool,
    preset: str,
    jobs: int,
    plan_only: bool,
    replan: bool,
    verbose: bool,
) -> None:
    """Cut subtitled vertical clips from a live RECORDING.

    With an event log, there is one candidate per pinned product; without
    one, clips are chosen from what was said. The plan is written to
    OUT/clips.json first; edit it and run again to render your version.
    When OBS followed the session, RECORDING and --recording-start come from
    its event log.
    """
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, stream=sys.stderr)
    if min_len > max_len:
        raise click.BadParameter("must not exceed --max-len", param_hint="--min-len")
    try:
        _run(**locals())
    except StudioError as exc:
        raise click.ClickException(str(exc)) from None


def _report_alignment(source: Any) -> None:
    if source.alignment is not None:
        found = source.alignment
        click.echo(
            f"Recording start found from {len(found.sightings)} product cards on screen: "
            f"{found.recording_start.isoformat()} (confidence {found.confidence:.2f}); "
            "--recording-start or --offset overrides it",
            err=True,
        )
    for note in source.notes:
        click.echo(f"Note: {note}", err=True)


def _write_timings(out_dir: Path, seconds: dict[str, float]) -> None:
    """Seconds per stage of this run, in OUT/.studio/timings.json (the bench reads it)."""
    from studio.pipeline import STATE_DIR

    logging.getLogger(__name__).info("seconds per stage: %s", seconds)
    state = out_dir / STATE_DIR
    state.mkdir(parents=True, exist_ok=True)
    (state / "timings.json").write_text(json.dumps(seconds, indent=2) + "\n", encoding="utf-8")


def _run(**kw: Any) -> None:
    from studio.catalog import read_catalog
    from studio.pipeline import Options, make_plan, prepare, render_plan
    from studio.plan import read_plan, write_plan

    events = _load_events(kw["events_file"], kw["session"], kw["data"])
    recording: Path | None = kw["recording"]
    start_flag = _parse_start(kw["recording_start"])
    if events is not None:
        from studio.session import recording_from_events

        where = f"session {kw['session']}" if kw["session"] is not None else "the event log"
        recording, start_flag = recording_from_events(
            events, where, recording=recording, start=start_flag, offset=kw["offset"]
        )
    if recording is None:
        raise StudioError("give the RECORDING file (or --session N, whose log names it)")
    if not recording.is_file():
        raise StudioError(f"recording not found: {recording}")
    out_dir: Path = kw["out_dir"] or recording.with_name(recording.stem + "-clips")
    options = Options(
        out_dir=out_dir,
        aspect=kw["aspect"],
        captions=kw["captions"],
        min_len=kw["min_len"],
        max_len=kw["max_len"],
        max_clips=kw["max_clips"],
        preset=kw["preset"],
        jobs=kw["jobs"],
        language=kw["language"],
        transcribe_all=kw["transcribe_all"],
        align=kw["align"],
    )
    products = read_catalog(kw["catalog"]) if kw["catalog"] else {}
    source = prepare(
        recording,
        options=options,
        events=events,
        products=products,
        segments=lambda regions: _load_segments(
            kw["transcript"], kw["model"], recording, kw["language"], regions
        ),
        start_flag=start_flag,
        offset=kw["offset"],
    )
    _report_alignment(source)
    plan_path = out_dir / "clips.json"
    if plan_path.is_file() and not (kw["plan_only"] or kw["replan"]):
        plans = read_plan(plan_path, source.info.duration)
        click.echo(f"Using the plan in {plan_path} ({len(plans)} clips)", err=True)
    else:
        plans = make_plan(source, options)
        out_dir.mkdir(parents=True, exist_ok=True)
        meta = {
            "recording": recording.name,
            "duration": round(source.info.duration, 3),
            "recording_start": source.recording_start.isoformat()
            if source.recording_start
            else None,
            "aspect": options.aspect,
        }
        write_plan(plan_path, plans, meta)
        click.echo(f"Planned {len(plans)} clips in {plan_path}", err=True)
    if kw["plan_only"]:
        return
    printer = _ProgressPrinter(sys.stderr)
    try:
        for update in render_plan(source, plans, options):
            printer(update)
    finally:
        _write_timings(out_dir, source.timings.as_dict())
    for plan in plans:
        click.echo(str(out_dir / plan.file))
