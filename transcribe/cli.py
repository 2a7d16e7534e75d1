"""``chotdon transcribe``: a recording in, JSON or captions out.

Progress goes to stderr so that ``-o -`` can pipe the result. The output file
is written only when the transcript is complete, through a temporary file, so
Ctrl-C never leaves half a caption file behind.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import click

from transcribe.captions import atomic_write_text, render_captions
from transcribe.errors import TranscribeError
from transcribe.guard import GuardOptions
from transcribe.hotwords import hotwords_from_catalog
from transcribe.transcriber import TranscribeOptions, Transcriber, Transcript

__all__ = ["transcribe"]


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


class _Bar:
    """A click progress bar in audio seconds, with the speed against real time."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.bar: Any = None
        self.done = 0

    def __call__(self, done: float, total: float) -> None:
        if self.bar is None:
            self.bar = click.progressbar(
                length=max(int(total), 1),
                label="Transcribing",
                file=sys.stderr,
                item_show_func=self._label,
            )
            self.bar.__enter__()
        step = min(int(done), self.bar.length) - self.done
        if step > 0:
            self.done += step
            self.bar.update(step, done)

    def _label(self, done: float | None) -> str:
        if done is None:
            return ""
        speed = done / max(time.perf_counter() - self.started, 1e-6)
        return f"{_clock(done)} of audio, {speed:.1f}x real time"

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


def _write(text: str, output: Path) -> None:
    if str(output) == "-":
        click.echo(text, nl=not text.endswith("\n"))
    else:
        atomic_write_text(output, text)
        click.echo(f"Wrote {output}", err=True)


def _run(transcriber: Transcriber, file: Path, options: TranscribeOptions) -> Transcript:
    bar = _Bar()
    try:
        return transcriber.transcribe(file, options, progress=bar)
    finally:
        bar.close()


@click.command("transcribe")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--model",
    default="small",
    show_default=True,
    help="Whisper model name (downloaded once, when online) or a CTranslate2 model folder.",
)
@click.option("--language", type=click.Choice(["vi", "id", "en"]), default="vi", show_default=True)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "srt", "vtt", "ass"]),
    default="json",
    show_default=True,
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Output file ('-' for stdout). Default: next to FILE, with the format's extension.",
)
@click.option(
    "--catalog",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Catalog CSV (code,name,aliases): product names and codes become hotwords.",
)
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where transcripts are cached. Default: $CHOTDON_CACHE_DIR/transcripts or the "
    "user cache folder.",
)
@click.option("--no-cache", is_flag=True, help="Neither read nor write the cache.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto")
@click.option("--compute-type", help="CTranslate2 compute type. Default: int8 on CPU.")
@click.option("--threads", type=int, default=0, help="CPU threads (default: all cores).")
@click.option("--beam-size", type=int, default=5, show_default=True)
@click.option("--no-guard", is_flag=True, help="Keep segments the loop/hallucination guard drops.")
def transcribe(
    file: Path,
    model: str,
    language: str,
    fmt: str,
    output: Path | None,
    catalog: Path | None,
    cache_dir: Path | None,
    no_cache: bool,
    device: str,
    compute_type: str | None,
    threads: int,
    beam_size: int,
    no_guard: bool,
) -> None:
    """Transcribe a recording (any audio or video file) to timed text."""
    try:
        options = TranscribeOptions(
            language=language,
            hotwords=tuple(hotwords_from_catalog(catalog)) if catalog else (),
            beam_size=beam_size,
            guard=GuardOptions(enabled=not no_guard),
        )
        transcriber = Transcriber(
            model,
            device=device,
            compute_type=compute_type,
            cpu_threads=threads,
            cache_dir=cache_dir,
            use_cache=not no_cache,
            options=options,
        )
        result = _run(transcriber, file, options)
        text = render_captions(result.segments, fmt)  # type: ignore[arg-type]
    except TranscribeError as exc:
        raise click.ClickException(str(exc)) from None
    info = result.info
    if result.cache_hit:
        click.echo(f"Cache hit: {result.cache_path}", err=True)
    else:
        speed = info.duration / max(info.elapsed, 1e-6)
        click.echo(
            f"{len(result.segments)} segments, {_clock(info.duration)} of audio "
            f"in {info.elapsed:.1f} s ({speed:.1f}x real time)",
            err=True,
        )
    _write(text, output or file.with_suffix(f".{fmt}"))
