"""``chotdon parse``: JSON lines of comments in, JSON lines of parse results out.

Every input line gets exactly one output line, in order, so the two files can be
zipped back together. A line that cannot be read (not UTF-8, not JSON, not an
object, no ``id`` or ``text``) gets an error object ``{"id", "line", "error"}`` in
its place and a message on stderr naming the line number; the remaining lines are
still parsed, and the command exits with status 2 at the end so scripts notice.
Output is flushed line by line, so it can sit at the end of a live pipe.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, BinaryIO

import click

from server.parse.parser import Parser

__all__ = ["LineError", "parse", "read_line"]

EXIT_BAD_LINES = 2


class LineError(ValueError):
    """One input line that is not a comment; the message says what is wrong."""

    def __init__(self, message: str, id: Any = None) -> None:
        super().__init__(message)
        self.id = id


def read_line(raw: bytes) -> tuple[Any, str, str | None]:
    """Decode one JSONL input line into ``(id, text, pinned)`` or raise :class:`LineError`."""
    try:
        record = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise LineError(f"not UTF-8 ({err.reason} at byte {err.start})") from None
    except (ValueError, RecursionError) as err:
        raise LineError(f"not valid JSON ({err})") from None
    if not isinstance(record, dict):
        raise LineError(f"expected a JSON object, got {type(record).__name__}")
    comment_id = record.get("id")
    if isinstance(comment_id, bool) or not isinstance(comment_id, (str, int)):
        raise LineError("'id' is missing or not a string/number")
    text = record.get("text")
    if not isinstance(text, str):
        raise LineError("'text' is missing or not a string", comment_id)
    pinned = record.get("pinned")
    if pinned is not None and not isinstance(pinned, str):
        raise LineError("'pinned' must be a product code string or null", comment_id)
    return comment_id, text, pinned


def _load_parser(path: Path, pinned: str | None) -> Parser:
    # Imported here: catalog_io pulls in openpyxl, which `chotdon --help` should not pay for.
    from server.catalog_io import CatalogError, read_catalog

    try:
        rows = read_catalog(path)
    except CatalogError as err:
        raise click.ClickException(f"{path}: {err}") from None
    except OSError as err:
        raise click.ClickException(f"{path}: cannot read catalog ({err.strerror})") from None
    if pinned is not None:
        codes = {row.code.upper() for row in rows}
        if pinned.strip().lstrip("#").upper() not in codes:
            raise click.BadParameter(f"{pinned!r} is not a code in {path}", param_hint="--pinned")
    return Parser(rows)


def _write(out: BinaryIO, record: dict[str, Any]) -> None:
    out.write(json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n")
    out.flush()


@click.command("parse")
@click.option(
    "--catalog",
    "catalog_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Catalog file (CSV or XLSX, the catalog export format).",
)
@click.option(
    "--pinned", default=None, help="Code of the product on screen (a line's 'pinned' wins)."
)
def parse(catalog_path: Path, pinned: str | None) -> None:
    """Read comments as JSON lines on stdin, write one result line per comment to stdout.

    Input: {"id", "user", "text", "pinned"?}. Output: {"id", "intent", "items",
    "phone", "confidence", "evidence"}. Bad lines give {"id", "line", "error"}
    and exit status 2 at the end.
    """
    parser = _load_parser(catalog_path, pinned)
    # Bytes in and out: a stray non-UTF-8 line must become an error line, not a crash.
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    bad = 0
    for number, raw in enumerate(stdin, 1):
        try:
            comment_id, text, line_pinned = read_line(raw)
        except LineError as err:
            bad += 1
            click.echo(f"line {number}: {err}", err=True)
            _write(stdout, {"id": err.id, "line": number, "error": str(err)})
            continue
        result = parser.parse(text, pinned=line_pinned if line_pinned is not None else pinned)
        _write(stdout, result.to_json(comment_id))
    if bad:
        click.echo(f"{bad} line(s) could not be read", err=True)
        click.get_current_context().exit(EXIT_BAD_LINES)
