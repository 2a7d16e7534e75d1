"""The catalog file: one reader and one writer for CSV and XLSX.

The format is the one sellers keep in a spreadsheet:
``code,name,price,unit,stock,aliases[,sale_price,image,ocop_stars,origin,variant]``
with aliases separated by ``|``. The server's import, ``chotdon clips --catalog`` and the
transcriber's hotwords all read files through :func:`read_catalog`, so a file one of
them accepts the others accept too, with the same messages.

Files are validated whole: :func:`read_catalog` either returns every row or raises
:class:`CatalogError` naming the row and the column, so a bad row never leaves a
half-imported catalog.

Variants (a colour, a size, a pack weight) are rows of their own: the same
``code``, a ``variant`` key (``xanh``, ``500g``; spelt like a code by
:func:`chotdon.codes.normalize_variant_key`), and the variant's own ``name``,
``aliases``, ``price``, ``sale_price`` and ``stock``. The product's row (empty
``variant``) comes first; a variant row leaves ``unit``, ``image``,
``ocop_stars`` and ``origin`` empty (they are the product's) and an empty
``price`` takes the product's price and sale price.

Exports never write a live formula (see :mod:`chotdon.sheets`): in XLSX a name
like ``=HYPERLINK(...)`` is a string cell, in CSV it gets one leading ``'``. The
CSV reader removes exactly that apostrophe (only in front of text a spreadsheet
would take for a formula, or text that itself looks quoted), so an exported
catalog reads back with the original names; XLSX cells are read as they are.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chotdon.codes import (
    MAX_CODE_LENGTH,
    is_valid_code,
    normalize_code,
    normalize_variant_key,
)
from chotdon.limits import MAX_PRICE, MAX_STOCK
from chotdon.money import parse_price, parse_whole, price_now
from chotdon.sheets import append_row, safe_cell, unquote_cell

__all__ = [
    "COLUMNS",
    "IMAGE_NAME",
    "MAX_NAME_LENGTH",
    "MAX_ORIGIN_LENGTH",
    "MAX_UNIT_LENGTH",
    "OPTIONAL_COLUMNS",
    "REQUIRED_COLUMNS",
    "CatalogError",
    "ProductRow",
    "VariantRow",
    "parse_catalog_bytes",
    "read_catalog",
    "rows_to_csv",
    "rows_to_xlsx",
    "split_aliases",
]

REQUIRED_COLUMNS: tuple[str, ...] = ("code", "name", "price", "unit", "stock", "aliases")
OPTIONAL_COLUMNS: tuple[str, ...] = ("sale_price", "image", "ocop_stars", "origin", "variant")
# Columns a variant row shares with its product's row: left empty there.
_PRODUCT_ONLY: tuple[str, ...] = ("unit", "image", "ocop_stars", "origin")
MAX_VARIANTS = 50
COLUMNS: tuple[str, ...] = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
MAX_NAME_LENGTH = 200
MAX_UNIT_LENGTH = 20
MAX_ORIGIN_LENGTH = 500
MAX_ALIAS_LENGTH = 80
# What the media route serves (server.pages): a plain name, one of its extensions.
IMAGE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,120}\.(png|jpg|webp)")


class CatalogError(ValueError):
    """A catalog file or row that cannot be used; says where (row is 1-based, header = 1)."""

    def __init__(self, message: str, *, row: int | None = None, column: str | None = None):
        self.row = row
        self.column = column
        self.reason = message
        where = []
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column '{column}'")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)


@dataclass(frozen=True, slots=True)
class VariantRow:
    """One variant of a product: its key (``XANH``), name, aliases, price and stock."""

    key: str
    name: str
    price: int
    stock: int
    aliases: tuple[str, ...] = ()
    sale_price: int | None = None

    @property
    def price_now(self) -> int:
        """What a buyer pays now for this variant (see :func:`chotdon.money.price_now`)."""
        return price_now(self.price, self.sale_price)


@dataclass(frozen=True, slots=True)
class ProductRow:
    """One validated catalog row."""

    code: str
    name: str
    price: int
    unit: str
    stock: int
    aliases: tuple[str, ...] = ()
    sale_price: int | None = None
    image: str | None = None
    ocop_stars: int | None = None
    origin: str = ""
    variants: tuple[VariantRow, ...] = ()

    @property
    def price_now(self) -> int:
        """What a buyer pays now (see :func:`chotdon.money.price_now`)."""
        return price_now(self.price, self.sale_price)

    def variant(self, key: str) -> VariantRow | None:
        """The variant with this key (any spelling of it), if the product has it."""
        wanted = normalize_variant_key(key)
        return next((v for v in self.variants if v.key == wanted), None)


def read_catalog(path: str | Path) -> list[ProductRow]:
    """Read and validate a ``.csv`` or ``.xlsx`` catalog file."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CatalogError(f"cannot read catalog file {path}: {exc.strerror}") from exc
    return parse_catalog_bytes(data, filename=path.name)


def parse_catalog_bytes(data: bytes, *, filename: str) -> list[ProductRow]:
    """Validate catalog content; the file type is taken from ``filename``'s extension."""
    suffix = Path(filename).suffix.lower()
    if suffix == ".xlsx":
        table = list(_xlsx_rows(data))
    elif suffix in (".csv", ".txt"):
        table = list(_csv_rows(data))
    else:
        raise CatalogError(f"{filename}: unsupported file type '{suffix}' (use .csv or .xlsx)")
    return _validate_table(table)


def _csv_rows(data: bytes) -> Iterator[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CatalogError(f"the file is not UTF-8 text (byte {exc.start})") from exc
    try:
        for cells in csv.reader(io.StringIO(text, newline="")):
            yield [unquote_cell(c) for c in cells]
    except csv.Error as exc:
        raise CatalogError(f"not a readable CSV file ({exc})") from exc


def _xlsx_rows(data: bytes) -> Iterator[list[str]]:
    # Imported here: openpyxl is slow to import and most commands never read a workbook.
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a broken zip/xml
        raise CatalogError(f"not a readable XLSX workbook ({exc.__class__.__name__})") from exc
    try:
        sheet = workbook.worksheets[0]
        for values in sheet.iter_rows(values_only=True):
            yield [_cell_text(v) for v in values]
    finally:
        workbook.close()


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _validate_table(table: Sequence[Sequence[str]]) -> list[ProductRow]:
    rows = [r for r in table if any(c.strip() for c in r)]
    if not rows:
        raise CatalogError("the file is empty")
    header = [h.strip().lower() for h in rows[0]]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise CatalogError(f"missing column(s) {', '.join(missing)}", row=1)
    unknown = [h for h in header if h and h not in COLUMNS]
    if unknown:
        raise CatalogError(f"unknown column(s) {', '.join(unknown)}", row=1)
    products: dict[str, ProductRow] = {}
    seen: dict[str, int] = {}
    start = table.index(rows[0]) + 2  # blank lines above the header still count as rows
    for number, raw in enumerate(table[start - 1 :], start=start):
        if not any(c.strip() for c in raw):
            continue
        record = {name: (raw[i].strip() if i < len(raw) else "") for i, name in enumerate(header)}
        if record.get("variant", ""):
            _add_variant(products, seen, record, number)
            continue
        product = _validate_row(record, number)
        if product.code in seen:
            raise CatalogError(
                f"duplicate code {product.code} (first on row {seen[product.code]})",
                row=number,
                column="code",
            )
        seen[product.code] = number
        products[product.code] = product
    return list(products.values())


def _add_variant(
    products: dict[str, ProductRow], seen: dict[str, int], record: dict[str, str], row: int
) -> None:
    """Validate a variant row and attach it to its product (whose row came before)."""
    code = normalize_code(record.get("code", ""))
    product = products.get(code)
    if product is None:
        raise CatalogError(
            f"variant of {code or '?'} before a row for the product {code or '?'} itself "
            "(put the product's row, with an empty variant, first)",
            row=row,
            column="code",
        )
    key = normalize_variant_key(record["variant"])
    if not is_valid_code(key):
        raise CatalogError(
            f"invalid variant '{record['variant'][:40]}' (letters and digits, "
            f"up to {MAX_CODE_LENGTH}, e.g. xanh or 500g)",
            row=row,
            column="variant",
        )
    if product.variant(key) is not None:
        raise CatalogError(f"duplicate variant {code}/{key}", row=row, column="variant")
    if len(product.variants) >= MAX_VARIANTS:
        raise CatalogError(
            f"more than {MAX_VARIANTS} variants of {code}", row=row, column="variant"
        )
    for column in _PRODUCT_ONLY:
        if record.get(column, "") and record[column] != str(getattr(product, column) or ""):
            raise CatalogError(
                f"{column} is the product's: leave it empty on a variant row",
                row=row,
                column=column,
            )
    products[code] = _replace_variants(
        product, (*product.variants, _variant(record, key, product, row))
    )


def _variant(record: dict[str, str], key: str, product: ProductRow, row: int) -> VariantRow:
    name = record.get("name", "") or key.lower()
    if len(name) > MAX_NAME_LENGTH:
        raise CatalogError(f"name is up to {MAX_NAME_LENGTH} characters", row=row, column="name")
    price = _number(record, "price", row, parse_price, MAX_PRICE, required=False)
    sale_price = _number(record, "sale_price", row, parse_price, MAX_PRICE, required=False)
    if price is None:  # the product's price, and its sale unless the row sets one
        price = product.price
        sale_price = product.sale_price if sale_price is None else sale_price
    if sale_price is not None and sale_price >= price:
        raise CatalogError(
            f"sale price {sale_price} must be below the price {price}", row=row, column="sale_price"
        )
    stock = _number(record, "stock", row, parse_whole, MAX_STOCK)
    assert stock is not None  # required: _number raised otherwise
    return VariantRow(
        key=key,
        name=name,
        price=price,
        stock=stock,
        aliases=split_aliases(record.get("aliases", "")),
        sale_price=sale_price,
    )


def _replace_variants(product: ProductRow, variants: tuple[VariantRow, ...]) -> ProductRow:
    fields = {name: getattr(product, name) for name in ProductRow.__dataclass_fields__}
    fields["variants"] = variants
    return ProductRow(**fields)


def _validate_row(record: dict[str, str], row: int) -> ProductRow:
    code = normalize_code(record.get("code", ""))
    if not is_valid_code(code):
        raise CatalogError(
            f"invalid code '{record.get('code', '')}' "
            f"(letters and digits, up to {MAX_CODE_LENGTH})",
            row=row,
            column="code",
        )
    name = record.get("name", "")
    if not name or len(name) > MAX_NAME_LENGTH:
        raise CatalogError(
            f"name is required (up to {MAX_NAME_LENGTH} characters)", row=row, column="name"
        )
    unit = record.get("unit", "")
    if not unit or len(unit) > MAX_UNIT_LENGTH:
        raise CatalogError("unit is required (e.g. kg, gói, hộp)", row=row, column="unit")
    price = _number(record, "price", row, parse_price, MAX_PRICE)
    stock = _number(record, "stock", row, parse_whole, MAX_STOCK)
    assert price is not None and stock is not None  # required: _number raised otherwise
    sale_price = _number(record, "sale_price", row, parse_price, MAX_PRICE, required=False)
    if sale_price is not None and sale_price >= price:
        raise CatalogError(
            f"sale price {sale_price} must be below the price {price}",
            row=row,
            column="sale_price",
        )
    stars = _number(record, "ocop_stars", row, parse_whole, 5, required=False)
    if stars is not None and stars < 3:
        raise CatalogError("OCOP stars must be 3, 4 or 5", row=row, column="ocop_stars")
    return ProductRow(
        code=code,
        name=name,
        price=price,
        unit=unit,
        stock=stock,
        aliases=split_aliases(record.get("aliases", "")),
        sale_price=sale_price,
        image=_image_name(record.get("image", ""), row),
        ocop_stars=stars,
        origin=record.get("origin", "")[:MAX_ORIGIN_LENGTH],
    )


def _image_name(value: str, row: int) -> str | None:
    """The ``image`` cell: empty, or a plain file name in the images folder.

    It is joined to a folder when images are copied and served, so a path
    (``../secrets.json``, ``C:\\x.png``) or a name the media route would not serve
    is refused here, naming the row, instead of failing later or escaping the folder.
    """
    if not value:
        return None
    if not IMAGE_NAME.fullmatch(value) or ".." in value:
        raise CatalogError(
            f"image '{value[:60]}' must be a plain file name such as a2.png "
            "(letters, digits, '.', '_' or '-'; .png, .jpg or .webp; no folders)",
            row=row,
            column="image",
        )
    return value


def _number(
    record: dict[str, str],
    column: str,
    row: int,
    parse: Callable[[str], int],
    maximum: int,
    *,
    required: bool = True,
) -> int | None:
    text = record.get(column, "")
    if not text.strip():
        if required:
            raise CatalogError(f"{column} is required", row=row, column=column)
        return None
    try:
        value = parse(text)
    except ValueError as exc:
        raise CatalogError(str(exc), row=row, column=column) from None
    if value > maximum:
        raise CatalogError(f"{value} is above the limit {maximum}", row=row, column=column)
    return value


def split_aliases(text: str) -> tuple[str, ...]:
    """``"hạt dẻ| dẻ |"`` -> ``("hạt dẻ", "dẻ")``, keeping order and dropping repeats."""
    out: list[str] = []
    for part in text.split("|"):
        alias = part.strip()[:MAX_ALIAS_LENGTH]
        if alias and alias not in out:
            out.append(alias)
    return tuple(out)


def _row_values(p: ProductRow) -> list[str | int]:
    return [
        p.code,
        p.name,
        p.price,
        p.unit,
        p.stock,
        "|".join(p.aliases),
        "" if p.sale_price is None else p.sale_price,
        p.image or "",
        "" if p.ocop_stars is None else p.ocop_stars,
        p.origin,
        "",
    ]


def _variant_values(p: ProductRow, v: VariantRow) -> list[str | int]:
    sale = "" if v.sale_price is None else v.sale_price
    return [p.code, v.name, v.price, "", v.stock, "|".join(v.aliases), sale, "", "", "", v.key]


def _table(rows: Iterable[ProductRow]) -> Iterator[list[str | int]]:
    for p in rows:
        yield _row_values(p)
        for v in p.variants:
            yield _variant_values(p, v)


def rows_to_csv(rows: Iterable[ProductRow]) -> str:
    """The export format; reading it back gives the same rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for values in _table(rows):
        writer.writerow([safe_cell(v) for v in values])
    return buffer.getvalue()


def rows_to_xlsx(rows: Iterable[ProductRow]) -> bytes:
    """The export format as a workbook; reading it back gives the same rows."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "catalog"
    sheet.append(list(COLUMNS))
    for values in _table(rows):
        append_row(sheet, values)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
