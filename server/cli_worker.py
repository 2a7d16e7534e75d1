"""``chotdon render-worker``: run the clip studio's jobs queued on PostgreSQL.

Start one per machine that should render (each runs one job at a time, and ffmpeg
uses that machine's cores). It needs the same ``CHOTDON_DATABASE_URL`` as the
server and the server's data folder and recordings at the same paths (a shared
folder): docs/studio.md, "Render workers".
"""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path

import click

from .cli_serve import _data_dir, _data_option, _open_engine, _settings

__all__ = ["render_worker"]


@click.command("render-worker")
@_data_option
@click.option("--name", help="How the page names this worker [default: host-pid].")
@click.option(
    "--stalled-after",
    type=click.FloatRange(min=1),
    default=30.0,
    show_default=True,
    help="Seconds without a worker's heartbeat before its job is queued again.",
)
@click.option(
    "--heartbeat",
    type=click.FloatRange(min=0.1),
    default=10.0,
    show_default=True,
    help="Seconds between this worker's heartbeats (well under --stalled-after).",
)
@click.option(
    "--check-every",
    type=click.FloatRange(min=0.1),
    default=15.0,
    show_default=True,
    help="Seconds between looks for jobs of stopped workers.",
)
def render_worker(
    data_dir: Path | None,
    name: str | None,
    stalled_after: float,
    heartbeat: float,
    check_every: float,
) -> None:
    """Render clips queued by the servers on PostgreSQL, until Ctrl+C."""
    settings = _settings(data_dir=data_dir)
    if not settings.database_url:
        raise click.ClickException(
            "render workers take their jobs from PostgreSQL: set CHOTDON_DATABASE_URL "
            "(on SQLite the server renders the clips itself)"
        )
    if heartbeat >= stalled_after:
        raise click.BadParameter("must be under --stalled-after", param_hint="--heartbeat")
    folder = _data_dir(settings)
    if not (folder / "studio").is_dir():
        click.echo(
            f"Note: {folder / 'studio'} does not exist yet; is this the server's data "
            "folder, shared at the same path?",
            err=True,
        )
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from .studio_queue import WorkerOptions, run_worker

    engine = _open_engine(data_dir)
    options = WorkerOptions(
        name=name or f"{socket.gethostname()}-{os.getpid()}",
        stalled_after=stalled_after,
        heartbeat=heartbeat,
        check_every=check_every,
    )
    click.echo(f"Render worker {options.name}: data folder {folder}", err=True)
    try:
        run_worker(engine, settings.database_url, folder, options)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        engine.dispose()
