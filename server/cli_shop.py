"""``chotdon shop add NAME`` and ``chotdon shop list``: the shops one server hosts.

Run beside a running server: it finds a new shop on the first sign-in with the
shop's secret, no restart needed (see :class:`server.context.ShopRegistry`).
"""

from __future__ import annotations

from pathlib import Path

import click

from .cli_serve import _data_option, _open_engine, _settings

__all__ = ["shop"]


@click.group()
def shop() -> None:
    """Shops hosted by this server (a cooperative's members)."""


@shop.command("add")
@click.argument("name")
@click.option("--slug", help="Short ASCII name for folders and URLs (default: from NAME).")
@click.option("--port", type=int, help="Port the server listens on, for the URLs (default 8800).")
@_data_option
def shop_add(name: str, slug: str | None, port: int | None, data_dir: Path | None) -> None:
    """Add shop NAME with its own helper token and overlay key, and print its URLs."""
    from .errors import InvalidInput
    from .netinfo import lan_address, overlay_url, panel_url
    from .shops import add_shop

    settings = _settings(data_dir=data_dir, port=port)
    engine = _open_engine(data_dir)
    try:
        added = add_shop(engine, name, slug)
    except InvalidInput as exc:
        raise click.ClickException(exc.message) from exc
    assert added.helper_token and added.overlay_key
    click.echo(f"shop {added.slug} ({added.id}) added: {added.name}")
    click.echo(f"  Helper panel: {panel_url(lan_address(), settings.port, added.helper_token)}")
    for layout in ("portrait", "landscape"):
        url = overlay_url("127.0.0.1", settings.port, added.overlay_key, layout)
        click.echo(f"  Overlay ({layout}): {url}")


@shop.command("list")
@_data_option
def shop_list(data_dir: Path | None) -> None:
    """List the shops: id, slug and name (the default shop is 1)."""
    from .shops import list_shops

    engine = _open_engine(data_dir)
    with engine.connect() as conn:
        found = list_shops(conn)
    for row in found:
        click.echo(f"{row.id}\t{row.slug}\t{row.name}")
