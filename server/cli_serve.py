"""``chotdon serve``, ``chotdon session`` and ``chotdon catalog``.

Flags override ``CHOTDON_*`` environment variables, which override defaults: the
flags are passed to :class:`Settings` as init values only when given.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import click

from chotdon.catalog import CatalogError

__all__ = ["UVICORN_OPTIONS", "catalog", "serve", "session"]

# What `chotdon serve` (and the benchmarks, to measure the same thing) give uvicorn.
# Small JSON on a LAN: per-message compression per socket costs more than it saves.
UVICORN_OPTIONS: dict[str, Any] = {
    "ws_max_size": 64 * 1024,
    "ws_per_message_deflate": False,
    "log_level": "warning",
    # uvicorn believes X-Forwarded-For from 127.0.0.1 by default, which let any local
    # process pick its address for the rate limits; see server.ratelimit.proxy_options.
    "proxy_headers": False,
}

logger = logging.getLogger(__name__)

_data_option = click.option(
    "--data",
    "data_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Data directory (database, images). Default: the user data folder.",
)


def _settings(**flags: Any) -> Any:
    from pydantic import ValidationError

    from .settings import Settings

    given = {k: v for k, v in flags.items() if v is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise click.ClickException(f"setting {first['loc'][0]}: {first['msg']}") from exc


@click.command()
@click.option("--host", help="Address to listen on (default 0.0.0.0: the whole LAN).")
@click.option("--port", type=int, help="Port (default 8800).")
@_data_option
@click.option("--demo", is_flag=True, default=None, help="Load the demo catalog and audience.")
@click.option("--helper-token", help="Fix the helpers' join token instead of a generated one.")
@click.option("--overlay-key", help="Fix the overlay key instead of a generated one.")
@click.option(
    "--lang", "language", type=click.Choice(["vi", "en", "id"]), help="Interface language."
)
@click.option("--no-qr", is_flag=True, help="Do not print the join QR code in the terminal.")
@click.option(
    "--workers",
    type=int,
    default=1,
    show_default=True,
    help="Server processes sharing the port (PostgreSQL only; see docs/postgres.md).",
)
def serve(no_qr: bool, workers: int, **flags: Any) -> None:
    """Start the live server: overlay, helper panel, comments and orders."""
    import uvicorn
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    from .connlimit import ConnectionGuard, raise_fd_limit
    from .ratelimit import proxy_options
    from .workers import WorkersError, check_workers

    settings = _settings(**flags)
    try:
        check_workers(workers, settings.database_url)  # before anything is opened
    except WorkersError as exc:
        raise click.ClickException(str(exc)) from exc
    if settings.demo and settings.data_dir is None:
        import platformdirs

        settings.data_dir = Path(platformdirs.user_data_dir("chotdon", appauthor=False)) / "demo"
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    lock = _lock_data_folder(settings)  # before the database: one server per folder
    raise_fd_limit()
    options = {**UVICORN_OPTIONS, **proxy_options(settings)}
    if workers > 1:
        try:
            _serve_workers(settings, lock, workers, options, no_qr)
        finally:
            lock.release()
        return
    app = _build_app(settings, lock.folder)
    ctx = app.state.ctx
    _announce(settings, ctx.data_dir, ctx.secrets, no_qr)
    guard = ConnectionGuard(settings.max_connections_per_address, settings.request_header_timeout)
    http = guard.protocol_class(AutoHTTPProtocol)
    try:
        uvicorn.run(app, host=settings.host, port=settings.port, http=http, **options)
    finally:
        lock.release()


def _announce(settings: Any, data_dir: Path, secrets: Any, no_qr: bool) -> None:
    from .netinfo import lan_address, overlay_url, panel_url

    host = lan_address() if settings.host in ("0.0.0.0", "::") else settings.host
    join = panel_url(host, settings.port, secrets.helper_token)
    click.echo(f"chotdon: data in {data_dir}")
    click.echo(f"  Laptop page : http://127.0.0.1:{settings.port}/")
    click.echo(f"  Helper panel: {join}")
    for layout in ("portrait", "landscape"):
        url = overlay_url("127.0.0.1", settings.port, secrets.overlay_key, layout)
        click.echo(f"  Overlay ({layout}): {url}")
    if not no_qr:
        _print_qr(join)


def _serve_workers(
    settings: Any, lock: Any, workers: int, options: dict[str, Any], no_qr: bool
) -> None:
    """``--workers N``: what must happen once (schema, demo catalog, secrets) happens
    here, then the workers start (see server.workers)."""
    from .auth import load_secrets
    from .context import load_demo_catalog
    from .db import open_database
    from .workers import run_workers

    folder = lock.folder
    try:
        engine = open_database(folder / "chotdon.db", settings.database_url)
    except _storage_errors() as exc:
        raise click.ClickException(f"cannot use {_store_name(settings, folder)}: {exc}") from exc
    try:
        if settings.demo:
            load_demo_catalog(engine, folder)
    finally:
        engine.dispose()
    secrets = load_secrets(settings, folder)
    settings.helper_token, settings.overlay_key = secrets.helper_token, secrets.overlay_key
    _announce(settings, folder, secrets, no_qr)
    click.echo(f"  Workers     : {workers}")
    run_workers(settings, workers, lock.fileno(), options)


def _lock_data_folder(settings: Any) -> Any:
    """The data folder's lock (see server.datalock), or a CLI error naming the folder."""
    from .datalock import DataFolderError, DataLock, check_writable

    folder = _data_dir(settings)
    try:
        lock = DataLock.acquire(folder)
        check_writable(folder)
    except DataFolderError as exc:
        raise click.ClickException(exc.message) from exc
    return lock


def _build_app(settings: Any, folder: Path) -> Any:
    from .app import create_app

    try:
        return create_app(settings)
    except _storage_errors() as exc:
        raise click.ClickException(f"cannot use {_store_name(settings, folder)}: {exc}") from exc


def _store_name(settings: Any, folder: Path) -> str:
    """What a storage error is about: the data folder, or the PostgreSQL database."""
    if settings.database_url:
        from .dialect import safe_url

        return f"the database {safe_url(settings.database_url)}"
    return f"the data folder {folder}"


def _storage_errors() -> tuple[type[Exception], ...]:
    """What opening a data folder raises when its files cannot be read or written."""
    import sqlite3

    from sqlalchemy.exc import OperationalError

    return (OSError, OperationalError, sqlite3.OperationalError)


def _data_dir(settings: Any) -> Path:
    """The data folder, created if needed; a CLI error naming it when that fails."""
    try:
        folder: Path = settings.resolved_data_dir()
    except OSError as exc:
        folder = settings.data_dir or Path("?")
        raise click.ClickException(f"cannot use the data folder {folder}: {exc}") from exc
    return folder


_shop_option = click.option(
    "--shop", "shop", help="The shop's slug (`chotdon shop list`). Default: the laptop's shop."
)


def _open_engine(data_dir: Path | None, shop: str | None = None) -> Any:
    """The database of the ``--data`` folder, for the commands that run beside a server;
    with ``shop``, that shop's store (server.shops)."""
    from .db import open_database
    from .shops import list_shops, open_shop_store, shop_data_dir

    settings = _settings(data_dir=data_dir)
    folder = _data_dir(settings)
    try:
        engine = open_database(folder / "chotdon.db", settings.database_url)
        # Closed with the command: no pooled connection left behind (psycopg warns).
        click.get_current_context().call_on_close(engine.dispose)
        if not shop:
            return engine
        with engine.connect() as conn:
            found = next((s for s in list_shops(conn) if s.slug == shop), None)
        if found is None:
            raise click.ClickException(f"no shop {shop!r} (see chotdon shop list)")
        store = open_shop_store(engine, shop_data_dir(folder, found), found)
        if store.url != engine.url:  # its own SQLite file (PostgreSQL: the same pool)
            click.get_current_context().call_on_close(store.dispose)
        return store
    except _storage_errors() as exc:
        raise click.ClickException(f"cannot use {_store_name(settings, folder)}: {exc}") from exc


def _print_qr(text: str) -> None:
    import qrcode

    code = qrcode.QRCode(border=1)
    code.add_data(text)
    try:
        code.print_ascii(out=sys.stdout, invert=True)
    except UnicodeEncodeError:  # a Windows console without UTF-8: the URL above is enough
        logger.info("terminal cannot draw the QR code; use the laptop page instead")


@click.group()
def session() -> None:
    """Live sessions and their event logs."""


@session.command("list")
@_data_option
@_shop_option
def session_list(data_dir: Path | None, shop: str | None) -> None:
    """List live sessions, newest first."""
    from sqlalchemy import select

    from .db import live_sessions

    engine = _open_engine(data_dir, shop)
    with engine.connect() as conn:
        for row in conn.execute(select(live_sessions).order_by(live_sessions.c.id.desc())):
            click.echo(f"{row.id}\t{row.started_at}\t{row.stopped_at or 'live'}\t{row.title}")


@session.command("events")
@click.argument("session_id", type=int)
@_data_option
@_shop_option
def session_events(session_id: int, data_dir: Path | None, shop: str | None) -> None:
    """Print a session's event log as JSONL (what `chotdon clips --events` reads)."""
    from .errors import NotFound
    from .events import read_session_events, to_jsonl

    folder = _data_dir(_settings(data_dir=data_dir))
    engine = _open_engine(data_dir, shop) if shop else None
    try:
        records = read_session_events(folder, session_id, engine=engine)
    except NotFound as exc:
        raise click.ClickException(exc.message) from exc
    for line in to_jsonl(records):
        click.echo(line, nl=False)


@click.group()
def catalog() -> None:
    """Import or export the product catalog (CSV or XLSX)."""


@catalog.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_data_option
@_shop_option
def catalog_import(file: Path, data_dir: Path | None, shop: str | None) -> None:
    """Add or update products from FILE; nothing is stored if any row is wrong."""
    from chotdon.catalog import read_catalog

    from . import catalog as products

    try:
        rows = read_catalog(file)
    except CatalogError as exc:
        raise click.ClickException(f"{file}: {exc}") from exc
    engine = _open_engine(data_dir, shop)
    with engine.begin() as conn:
        created, updated = products.import_rows(conn, rows)
    click.echo(f"{created} added, {updated} updated")


@catalog.command("export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@_data_option
@_shop_option
def catalog_export(file: Path, data_dir: Path | None, shop: str | None) -> None:
    """Write the catalog to FILE (.csv or .xlsx)."""
    from chotdon.catalog import rows_to_csv, rows_to_xlsx

    from . import catalog as products

    engine = _open_engine(data_dir, shop)
    with engine.connect() as conn:
        rows = products.to_rows(products.list_products(conn))
    if file.suffix.lower() == ".xlsx":
        file.write_bytes(rows_to_xlsx(rows))
    elif file.suffix.lower() == ".csv":
        file.write_text("\ufeff" + rows_to_csv(rows), encoding="utf-8")
    else:
        raise click.ClickException(f"{file}: use a .csv or .xlsx file name")
    click.echo(f"{len(rows)} products written to {file}")
