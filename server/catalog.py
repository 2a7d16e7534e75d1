"""The product catalog in the database: the single source of prices and stock."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, Field, computed_field, field_validator, model_validator
from sqlalchemy import Connection, Row, delete, func, insert, select, update

from chotdon.catalog import ProductRow
from chotdon.codes import MAX_CODE_LENGTH, is_valid_code, normalize_code
from chotdon.limits import MAX_PRICE, MAX_STOCK
from chotdon.money import price_now

from .db import products, utcnow_iso
from .errors import Conflict, InvalidInput, NotFound

__all__ = [
    "Product",
    "ProductCreate",
    "ProductPatch",
    "create_product",
    "delete_product",
    "get_product",
    "import_rows",
    "list_products",
    "patch_product",
    "set_image",
    "to_rows",
]


class ProductPatch(BaseModel):
    """Fields a helper may change; ``None`` leaves a field as it is."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    price: int | None = Field(default=None, ge=0, le=MAX_PRICE)
    sale_price: int | None = Field(default=None, ge=0, le=MAX_PRICE)
    clear_sale_price: bool = False
    unit: str | None = Field(default=None, min_length=1, max_length=20)
    stock: int | None = Field(default=None, ge=0, le=MAX_STOCK)
    aliases: list[str] | None = Field(default=None, max_length=50)
    ocop_stars: int | None = Field(default=None, ge=3, le=5)
    origin: str | None = Field(default=None, max_length=500)
    position: int | None = None


class ProductCreate(BaseModel):
    # Room for a '#', spaces or full-width letters before normalising; the real cap is
    # MAX_CODE_LENGTH, checked on the normalised code.
    code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    price: int = Field(ge=0, le=MAX_PRICE)
    unit: str = Field(min_length=1, max_length=20)
    stock: int = Field(default=0, ge=0, le=MAX_STOCK)
    aliases: list[str] = Field(default_factory=list, max_length=50)
    sale_price: int | None = Field(default=None, ge=0, le=MAX_PRICE)
    ocop_stars: int | None = Field(default=None, ge=3, le=5)
    origin: str = Field(default="", max_length=500)

    @field_validator("code")
    @classmethod
    def _code(cls, value: str) -> str:
        code = normalize_code(value)
        if not is_valid_code(code):
            raise ValueError(f"a code is letters and digits, up to {MAX_CODE_LENGTH} (e.g. A3)")
        return code

    @model_validator(mode="after")
    def _sale_below_price(self) -> ProductCreate:
        if self.sale_price is not None and self.sale_price >= self.price:
            raise ValueError("sale_price must be below price")
        return self


class Product(BaseModel):
    """A product as the API, the panel and the overlay see it."""

    code: str
    name: str
    price: int
    sale_price: int | None
    unit: str
    stock: int
    aliases: list[str]
    image: str | None
    ocop_stars: int | None
    origin: str
    position: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def price_now(self) -> int:
        """What a buyer pays now; sent with every product so no page decides it."""
        return price_now(self.price, self.sale_price)


def _product(row: Row[Any]) -> Product:
    data = dict(row._mapping)
    data["aliases"] = json.loads(data["aliases"] or "[]")
    return Product.model_validate(data)


def list_products(conn: Connection) -> list[Product]:
    query = select(products).order_by(products.c.position, products.c.code)
    return [_product(r) for r in conn.execute(query)]


def get_product(conn: Connection, code: str) -> Product:
    row = conn.execute(select(products).where(products.c.code == normalize_code(code))).first()
    if row is None:
        raise NotFound(f"no product with code {normalize_code(code)}", field="code")
    return _product(row)


def create_product(conn: Connection, data: ProductCreate) -> Product:
    if conn.execute(select(products.c.id).where(products.c.code == data.code)).first():
        raise Conflict(f"product {data.code} already exists", field="code")
    position = conn.scalar(select(func.coalesce(func.max(products.c.position), 0))) or 0
    values = data.model_dump()
    values["aliases"] = json.dumps(values["aliases"], ensure_ascii=False)
    conn.execute(insert(products).values(**values, position=position + 1, updated_at=utcnow_iso()))
    return get_product(conn, data.code)


def patch_product(conn: Connection, code: str, patch: ProductPatch) -> Product:
    current = get_product(conn, code)
    values: dict[str, Any] = patch.model_dump(exclude_none=True, exclude={"clear_sale_price"})
    if patch.clear_sale_price:
        values["sale_price"] = None
    price = values.get("price", current.price)
    sale = values.get("sale_price", current.sale_price)
    if sale is not None and sale >= price:
        raise InvalidInput(f"sale price {sale} must be below the price {price}", field="sale_price")
    if "aliases" in values:
        values["aliases"] = json.dumps(values["aliases"], ensure_ascii=False)
    if values:
        values["updated_at"] = utcnow_iso()
        conn.execute(update(products).where(products.c.code == current.code).values(**values))
    return get_product(conn, current.code)


def set_image(conn: Connection, code: str, image: str | None) -> Product:
    current = get_product(conn, code)
    conn.execute(
        update(products)
        .where(products.c.code == current.code)
        .values(image=image, updated_at=utcnow_iso())
    )
    return get_product(conn, current.code)


def delete_product(conn: Connection, code: str) -> None:
    current = get_product(conn, code)
    conn.execute(delete(products).where(products.c.code == current.code))


def import_rows(conn: Connection, rows: Iterable[ProductRow]) -> tuple[int, int]:
    """Upsert validated rows by code inside the caller's transaction: (created, updated)."""
    existing: Mapping[str, int] = {
        r.code: r.position for r in conn.execute(select(products.c.code, products.c.position))
    }
    created = updated = 0
    next_position = max(existing.values(), default=0)
    for row in rows:
        values = {
            "name": row.name,
            "price": row.price,
            "sale_price": row.sale_price,
            "unit": row.unit,
            "stock": row.stock,
            "aliases": json.dumps(list(row.aliases), ensure_ascii=False),
            "ocop_stars": row.ocop_stars,
            "origin": row.origin,
            "updated_at": utcnow_iso(),
        }
        if row.image:
            values["image"] = row.image
        if row.code in existing:
            conn.execute(update(products).where(products.c.code == row.code).values(**values))
            updated += 1
        else:
            next_position += 1
            conn.execute(insert(products).values(code=row.code, position=next_position, **values))
            created += 1
    return created, updated


def to_rows(items: Iterable[Product]) -> list[ProductRow]:
    return [
        ProductRow(
            code=p.code,
            name=p.name,
            price=p.price,
            unit=p.unit,
            stock=p.stock,
            aliases=tuple(p.aliases),
            sale_price=p.sale_price,
            image=p.image,
            ocop_stars=p.ocop_stars,
            origin=p.origin,
        )
        for p in items
    ]
