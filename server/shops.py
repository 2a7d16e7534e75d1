"""Shops: one server, several sellers, each with its own store and secrets.

A shop owns its catalog, sessions, comments, orders, buyers, live state, event
log, images, studio files, helper token and overlay key. Each shop's data lives
in its own store, so no query needs a shop filter to stay inside its shop:

- SQLite: the default shop is ``chotdon.db`` in the data folder, as before shops
  existed; shop ``slug`` is ``shops/<slug>/chotdon.db`` beside its own files.
- PostgreSQL: the default shop is the database's default schema; shop ``id`` is
  the schema ``shop_<id>`` of the same database, reached through the same
  connection pool (SQLAlchemy's ``schema_translate_map``).

The list of shops is the ``shops`` table of the default shop's store (migration
7). Row 1 is the default shop: the single-laptop mode, with today's URLs, its
secrets in ``secrets.json`` and its files in the data folder itself.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine, select

from .db import open_database, shops, utcnow_iso
from .dialect import is_postgres
from .errors import InvalidInput

__all__ = [
    "DEFAULT_SHOP",
    "Shop",
    "add_shop",
    "list_shops",
    "open_shop_store",
    "shop_data_dir",
    "slugify",
]

DEFAULT_SHOP = 1
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")


@dataclass(frozen=True)
class Shop:
    """A shop as the server knows it. ``id`` is its stable identifier everywhere
    (the per-shop context's ``shop.id``); ``slug`` names its folder and URLs."""

    id: int
    slug: str
    name: str
    helper_token: str | None = None  # None for the default shop: secrets.json holds it
    overlay_key: str | None = None

    @property
    def is_default(self) -> bool:
        return self.id == DEFAULT_SHOP


def slugify(name: str) -> str:
    """``"Chè Thái Nguyên"`` -> ``"che-thai-nguyen"``: ASCII, for folders and URLs."""
    text = unicodedata.normalize("NFKD", name.replace("đ", "d").replace("Đ", "D"))
    text = text.encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:40].strip("-")


def _row_shop(row: object) -> Shop:
    return Shop(
        id=row.id,  # type: ignore[attr-defined]
        slug=row.slug,  # type: ignore[attr-defined]
        name=row.name,  # type: ignore[attr-defined]
        helper_token=row.helper_token,  # type: ignore[attr-defined]
        overlay_key=row.overlay_key,  # type: ignore[attr-defined]
    )


def list_shops(conn: Connection) -> list[Shop]:
    """Every shop of the main store, the default one first."""
    return [_row_shop(row) for row in conn.execute(select(shops).order_by(shops.c.id))]


def add_shop(engine: Engine, name: str, slug: str | None = None) -> Shop:
    """Register a shop with fresh secrets in the main store (its own store is made
    when first opened). Raises :class:`InvalidInput` for a bad or taken name."""
    name = " ".join(name.split())
    if not name or len(name) > 100:
        raise InvalidInput("the shop name must have 1 to 100 characters", field="name")
    slug = slug if slug is not None else slugify(name)
    if not SLUG.match(slug) or slug == "default":
        raise InvalidInput(
            f"{slug!r} cannot name a shop: use a-z, 0-9 and '-' (not 'default')", field="slug"
        )
    with engine.begin() as conn:
        if conn.scalar(select(shops.c.id).where(shops.c.slug == slug)) is not None:
            raise InvalidInput(f"there is already a shop {slug!r}", field="slug")
        row = {
            "slug": slug,
            "name": name,
            "helper_token": secrets.token_urlsafe(12),
            "overlay_key": secrets.token_urlsafe(12),
            "created_at": utcnow_iso(),
        }
        inserted = conn.execute(shops.insert().values(**row)).inserted_primary_key
        assert inserted is not None
        shop_id = int(inserted[0])
    return Shop(
        id=shop_id,
        slug=slug,
        name=name,
        helper_token=row["helper_token"],
        overlay_key=row["overlay_key"],
    )


def shop_data_dir(data_dir: Path, shop: Shop) -> Path:
    """The shop's folder: images, studio files, setup (the data folder for the default)."""
    if shop.is_default:
        return data_dir
    folder = data_dir / "shops" / shop.slug
    (folder / "images").mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def open_shop_store(main: Engine, folder: Path, shop: Shop) -> Engine:
    """The shop's store, its schema brought up to date (see the module's docstring);
    ``folder`` is the shop's (:func:`shop_data_dir`)."""
    if shop.is_default:
        return main
    if is_postgres(main):
        engine = main.execution_options(schema_translate_map={None: f"shop_{shop.id}"})
        from .db import migrate

        migrate(engine)
        return engine
    return open_database(folder / "chotdon.db")
