"""The ``chotdon`` command line.

Subcommands live next to the code they drive and are imported only when used,
so ``chotdon --help`` stays fast and ``chotdon serve`` does not load Whisper.
"""

from __future__ import annotations

import importlib
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
def main() -> None:
    """chotdon: overlays, orders and clips for livestream selling."""
