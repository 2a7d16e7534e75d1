"""Product details for the card and the post caption, from a catalog file.

The file is read by :mod:`chotdon.catalog`, the same reader the server's import
uses, so every catalog the server imports or exports (CSV or XLSX, prices like
``150.000``, lowercase codes) works here too, with the same messages naming the
row and column. The studio keeps its own small :class:`Product` view because the
card needs the image as a path next to the file, not the name in the cell.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from chotdon.catalog import CatalogError, ProductRow
from chotdon.catalog import read_catalog as read_catalog_rows
from chotdon.money import price_now
from studio.errors import StudioError

__all__ = ["Product", "product_from_row", "read_catalog"]


@dataclass(frozen=True)
class Product:
    code: str
    name: str
    price: int
    unit: str | None = None
    sale_price: int | None = None
    ocop_stars: int | None = None
    aliases: tuple[str, ...] = ()
    image: Path | None = None
    origin: str | None = None

    @property
    def shown_price(self) -> int:
        """The price a buyer pays now (:func:`chotdon.money.price_now`)."""
        return price_now(self.price, self.sale_price)

    def with_prices(self, price: int | None, sale_price: int | None) -> Product:
        return replace(
            self, price=price if price is not None else self.price, sale_price=sale_price
        )


def product_from_row(row: ProductRow, folder: Path) -> Product:
    """The studio's view of one core row; the image is looked up in ``folder``
    and dropped when the file is not there (the card then has no picture)."""
    image = folder / row.image if row.image else None
    return Product(
        code=row.code,
        name=row.name,
        price=row.price,
        unit=row.unit or None,
        sale_price=row.sale_price,
        ocop_stars=row.ocop_stars,
        aliases=row.aliases,
        image=image if image is not None and image.is_file() else None,
        origin=row.origin or None,
    )


def read_catalog(path: Path) -> dict[str, Product]:
    """Products by (normalised) code from a ``.csv`` or ``.xlsx`` catalog."""
    try:
        rows = read_catalog_rows(path)
    except CatalogError as exc:
        raise StudioError(f"catalog {path}: {exc}") from None
    return {row.code: product_from_row(row, path.parent) for row in rows}
