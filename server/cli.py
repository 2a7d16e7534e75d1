"""The ``chotdon`` command line.

Subcommands live next to the code they drive and are imported only when used,
so ``chotdon --help`` stays fast and ``chotdon serve`` does not load Whisper.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import click

__all__ = ["main"]

# name -> "module:attribute" of a click.Command
_COMMANDS: dict[str, str] = {
    "serve": "server.cli_serve:serve",
    "session": "server.cli_serve:session",
    "shop": "server.cli_shop:shop",
    "catalog": "server.cli_serve:catalog",
    "parse": "server.parse.cli:parse",
    "transcribe": "transcribe.cli:transcribe",
    "clips": "studio.cli:clips",
    "render-worker": "server.cli_worker:render_worker",
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = _COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        command: Any = getattr(importlib.import_module(module_name), attr)
        return command


@click.group(cls=_LazyGroup)
@click.version_option(package_name="chotdon")
@click.pass_context
def main(ctx: click.Context) -> None:
    """chotdon: overlays, orders and clips for livestream selling."""
    # `chotdon clips --session N` reads the log through the server's storage (the
    # studio never imports the server): the same key as studio.cli.SESSION_READER.
    ctx.meta["chotdon.read_session_events"] = _read_session_events


def _read_session_events(data_dir: Path | None, session_id: int) -> list[dict[str, Any]]:
    """A session's events for ``chotdon clips``: from PostgreSQL when
    ``CHOTDON_DATABASE_URL`` names one, else straight from the SQLite file as before."""
    from studio.errors import StudioError

    from .settings import Settings

    settings = Settings(data_dir=data_dir)
    if not settings.database_url:
        from studio.session import read_session_events

        return read_session_events(data_dir, session_id)
    from sqlalchemy.exc import SQLAlchemyError

    from .db import open_database
    from .dialect import safe_url
    from .errors import NotFound
    from .events import read_session_events as from_database

    where = safe_url(settings.database_url)
    try:
        engine = open_database(Path(), settings.database_url)  # no file on PostgreSQL
    except SQLAlchemyError as exc:
        raise StudioError(f"cannot open {where}: {exc}") from None
    try:
        return from_database(None, session_id, engine=engine)
    except NotFound as exc:
        raise StudioError(f"{exc.message} in {where}") from None
    except SQLAlchemyError as exc:
        raise StudioError(f"cannot read the event log in {where}: {exc}") from None
    finally:
        engine.dispose()
