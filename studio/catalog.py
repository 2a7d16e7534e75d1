"""Product details for the card and the post caption, from the catalog export CSV.

Read with the stdlib ``csv`` module (header ``code,name,price,unit,stock,aliases,
sale_price,image,ocop_stars,origin``) so the studio does not need the server's
database to run on an editor's laptop.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, replace
from pathlib import Path

from studio.errors import StudioError

__all__ = ["Product", "read_catalog"]


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
        """The price a buyer pays now: the sale price when it is lower."""
        if self.sale_price is not None and self.sale_price < self.price:
            return self.sale_price
        return self.price

    def with_prices(self, price: int | None, sale_price: int | None) -> Product:
        return replace(
            self, price=price if price is not None else self.price, sale_price=sale_price
        )


def _int(value: str | None, path: Path, row: int, field: str) -> int | None:
    if value is None or not value.strip():
        return None
    try:
        return int(value.strip())
    except ValueError:
        raise StudioError(
            f"{path}, row {row}: '{field}' is not a whole number: {value!r}"
        ) from None


def read_catalog(path: Path) -> dict[str, Product]:
    """Products by code. Images are resolved next to the CSV (and ignored if absent)."""
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise StudioError(f"cannot read catalog {path}: {exc.strerror}") from None
    products: dict[str, Product] = {}
    with handle:
        reader = csv.DictReader(handle)
        missing = {"code", "name", "price"} - set(reader.fieldnames or ())
        if missing:
            raise StudioError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        for row_number, row in enumerate(reader, start=2):
            code = (row.get("code") or "").strip()
            if not code:
                continue
            price = _int(row.get("price"), path, row_number, "price")
            if price is None:
                raise StudioError(f"{path}, row {row_number}: 'price' is empty")
            image = (row.get("image") or "").strip()
            image_path = path.parent / image if image else None
            products[code] = Product(
                code=code,
                name=(row.get("name") or code).strip(),
                price=price,
                unit=(row.get("unit") or "").strip() or None,
                sale_price=_int(row.get("sale_price"), path, row_number, "sale_price"),
                ocop_stars=_int(row.get("ocop_stars"), path, row_number, "ocop_stars"),
                aliases=tuple(
                    a.strip() for a in (row.get("aliases") or "").split("|") if a.strip()
                ),
                image=image_path if image_path and image_path.is_file() else None,
                origin=(row.get("origin") or "").strip() or None,
            )
    return products
