"""The product catalog in the database: the single source of prices and stock.

A product may have variants (colour, size, pack weight), each with its own name,
aliases, price and stock; the product's ``stock`` is then the sum of theirs, and
orders reserve a variant's stock (server.orders.book).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, Field, computed_field, field_validator, model_validator
from sqlalchemy import Connection, Row, delete, func, insert, select, update

from chotdon.catalog import ProductRow, VariantRow
from chotdon.codes import MAX_CODE_LENGTH, is_valid_code, normalize_code, normalize_variant_key
from chotdon.limits import MAX_PRICE, MAX_STOCK
from chotdon.money import price_now

from .db import products, utcnow_iso, variants
from .errors import Conflict, InvalidInput, NotFound

__all__ = [
    "Product",
    "ProductCreate",
    "ProductPatch",
    "Variant",
    "VariantIn",
    "create_product",
    "delete_product",
    "get_product",
    "import_rows",
    "list_products",
    "patch_product",
    "set_image",
    "set_variants",
    "to_rows",
]


class VariantIn(BaseModel):
    """A variant as a helper writes it; ``key`` is spelt like a code (``xanh`` is XANH)."""

    key: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    price: int = Field(ge=0, le=MAX_PRICE)
    sale_price: int | None = Field(default=None, ge=0, le=MAX_PRICE)
    stock: int = Field(default=0, ge=0, le=MAX_STOCK)
    aliases: list[str] = Field(default_factory=list, max_length=50)

    @field_validator("key")
    @classmethod
    def _key(cls, value: str) -> str:
        key = normalize_variant_key(value)
        if not is_valid_code(key):
            raise ValueError(f"a variant key is letters and digits, up to {MAX_CODE_LENGTH}")
        return key

    @model_validator(mode="after")
    def _sale_below_price(self) -> VariantIn:
        if self.sale_price is not None and self.sale_price >= self.price:
            raise ValueError("sale_price must be below price")
        return self


class Variant(VariantIn):
    """A variant as the API, the panel and the overlay see it."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def price_now(self) -> int:
        """What a buyer pays now for this variant (the one rule, chotdon.money)."""
        return price_now(self.price, self.sale_price)


def _unique_keys(items: list[VariantIn] | None) -> list[VariantIn] | None:
    keys = [v.key for v in items or ()]
    if len(set(keys)) < len(keys):
        raise ValueError("two variants have the same key")
    return items


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
    # Given: the product's variants become exactly these (an empty list removes them).
    variants: list[VariantIn] | None = Field(default=None, max_length=50)

    _keys = field_validator("variants")(_unique_keys)


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
    variants: list[VariantIn] = Field(default_factory=list, max_length=50)

    _keys = field_validator("variants")(_unique_keys)

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
    variants: list[Variant] = Field(default_factory=list)

    def variant(self, key: str) -> Variant | None:
        wanted = normalize_variant_key(key)
        return next((v for v in self.variants if v.key == wanted), None)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def price_now(self) -> int:
        """What a buyer pays now; sent with every product so no page decides it."""
        return price_now(self.price, self.sale_price)


def _product(row: Row[Any], own: list[Variant] | None = None) -> Product:
    data = dict(row._mapping)
    data["aliases"] = json.loads(data["aliases"] or "[]")
    data["variants"] = own or []
    if own:  # what is left of the product is what is left of its variants
        data["stock"] = sum(v.stock for v in own)
    return Product.model_validate(data)


def _variants_of(conn: Connection, code: str | None = None) -> dict[str, list[Variant]]:
    query = select(variants).order_by(variants.c.product_code, variants.c.position, variants.c.id)
    if code is not None:
        query = query.where(variants.c.product_code == code)
    found: dict[str, list[Variant]] = {}
    for r in conn.execute(query):
        found.setdefault(r.product_code, []).append(
            Variant(
                key=r.key,
                name=r.name,
                price=r.price,
                sale_price=r.sale_price,
                stock=r.stock,
                aliases=json.loads(r.aliases or "[]"),
            )
        )
    return found


def list_products(conn: Connection) -> list[Product]:
    query = select(products).order_by(products.c.position, products.c.code)
    own = _variants_of(conn)
    return [_product(r, own.get(r.code)) for r in conn.execute(query)]


def get_product(conn: Connection, code: str) -> Product:
    row = conn.execute(select(products).where(products.c.code == normalize_code(code))).first()
    if row is None:
        raise NotFound(f"no product with code {normalize_code(code)}", field="code")
    return _product(row, _variants_of(conn, row.code).get(row.code))


def set_variants(conn: Connection, code: str, items: Iterable[VariantIn | VariantRow]) -> None:
    """Replace a product's variants with ``items`` (in this order)."""
    conn.execute(delete(variants).where(variants.c.product_code == code))
    rows = [
        {
            "product_code": code,
            "key": v.key,
            "name": v.name,
            "aliases": json.dumps(list(v.aliases), ensure_ascii=False),
            "price": v.price,
            "sale_price": v.sale_price,
            "stock": v.stock,
            "position": n,
        }
        for n, v in enumerate(items, start=1)
    ]
    if rows:
        conn.execute(insert(variants), rows)


def create_product(conn: Connection, data: ProductCreate) -> Product:
    if conn.execute(select(products.c.id).where(products.c.code == data.code)).first():
        raise Conflict(f"product {data.code} already exists", field="code")
    position = conn.scalar(select(func.coalesce(func.max(products.c.position), 0))) or 0
    values = data.model_dump(exclude={"variants"})
    values["aliases"] = json.dumps(values["aliases"], ensure_ascii=False)
    conn.execute(insert(products).values(**values, position=position + 1, updated_at=utcnow_iso()))
    set_variants(conn, data.code, data.variants)
    return get_product(conn, data.code)


def patch_product(conn: Connection, code: str, patch: ProductPatch) -> Product:
    current = get_product(conn, code)
    values: dict[str, Any] = patch.model_dump(
        exclude_none=True, exclude={"clear_sale_price", "variants"}
    )
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
    if patch.variants is not None:
        set_variants(conn, current.code, patch.variants)
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
        set_variants(conn, row.code, row.variants)
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
            variants=tuple(
                VariantRow(v.key, v.name, v.price, v.stock, tuple(v.aliases), v.sale_price)
                for v in p.variants
            ),
        )
        for p in items
    ]
