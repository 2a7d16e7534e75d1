"""``chotdon parse``: JSON lines of comments in, JSON lines of parse results out.

Every input line gets exactly one output line, in order, so the two files can be
zipped back together. A line that cannot be read (not UTF-8, not JSON, not an
object, no ``id`` or ``text``) gets an error object ``{"id", "line", "error"}`` in
its place and a message on stderr naming the line number; the remaining lines are
still parsed, and the command exits with status 2 at the end so scripts notice.
Output is flushed line by line, so it can sit at the end of a live pipe.

``--eval FILE.jsonl`` scores the parser against labelled comments instead
(precision, recall, intent and phone accuracy; the format is in docs/parser.md), and
``--export-decisions --data DIR`` writes the helpers' review decisions stored in a
shop's database as such a labelled file.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, BinaryIO

import click

from chotdon.codes import normalize_code
from server.parse.parser import Parser

__all__ = ["LineError", "parse", "read_line"]

_FIGURES = (
    ("precision", "order-item precision"),
    ("recall", "order-item recall"),
    ("intent", "intent accuracy"),
    ("phone", "phone accuracy"),
)

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
    # Imported here: the catalog reader is not needed by `chotdon --help`.
    from chotdon.catalog import CatalogError, read_catalog

    try:
        rows = read_catalog(path)
    except CatalogError as err:
        raise click.ClickException(f"{path}: {err}") from None
    except OSError as err:
        raise click.ClickException(f"{path}: cannot read catalog ({err.strerror})") from None
    if pinned is not None:
        codes = {row.code.upper() for row in rows}
        if normalize_code(pinned) not in codes:
            raise click.BadParameter(f"{pinned!r} is not a code in {path}", param_hint="--pinned")
    return Parser(rows)


def _write(out: BinaryIO, record: dict[str, Any]) -> None:
    out.write(json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n")
    out.flush()


def _evaluate(
    parser: Parser, path: Path, source: Path | None, threshold: float, as_json: bool
) -> None:
    from server.parse.evaluate import LabelError, hydrate, read_labelled, score

    try:
        rows = read_labelled(path)
        if source is not None:
            rows = hydrate(rows, source)
        missing = [r.get("id") for r in rows if not isinstance(r.get("text"), str)]
        if missing:
            raise LabelError(
                f"{len(missing)} line(s) have only a 'ref' (first: {missing[0]}); pass --source"
            )
    except LabelError as err:
        raise click.ClickException(f"{path}: {err}") from None
    except OSError as err:
        raise click.ClickException(f"cannot read {err.filename}: {err.strerror}") from None
    figures = score(parser, rows, threshold)
    if as_json:
        click.echo(json.dumps(figures.to_json(), indent=2))
        return
    click.echo(f"{path}: {figures.comments} comments")
    for key, label in _FIGURES:
        click.echo(f"  {label:24} {getattr(figures, key):.3f}")
    click.echo(
        f"  {'items ordered / labelled':24} {figures.items_ordered} / {figures.items_labelled}"
    )
    click.echo(
        f"  {'read as orders':24} {figures.called_orders} ({figures.orders_to_review} to review)"
    )
    click.echo(
        f"  {'wrong orders accepted':24} {figures.wrong_auto_accepted} at confidence >= {threshold}"
    )


def _export_decisions(data_dir: Path) -> None:
    from server.db import open_database
    from server.orders.decisions import export_labelled
    from server.settings import Settings

    database, url = data_dir / "chotdon.db", Settings(data_dir=data_dir).database_url
    if not url and not database.is_file():
        raise click.ClickException(f"{database}: no database there")
    engine = open_database(database, url)
    try:
        with engine.connect() as conn:
            lines = export_labelled(conn)
    finally:
        engine.dispose()
    for line in lines:
        click.echo(json.dumps(line, ensure_ascii=False))
    click.echo(f"{len(lines)} decision(s) exported", err=True)


@click.command("parse")
@click.option(
    "--catalog",
    "catalog_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Catalog file (CSV or XLSX, the catalog export format).",
)
@click.option(
    "--pinned", default=None, help="Code of the product on screen (a line's 'pinned' wins)."
)
@click.option(
    "--eval",
    "eval_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Score the parser on a labelled JSONL file instead of reading stdin.",
)
@click.option(
    "--source",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="With --eval: local copy of the source file that 'ref' lines point into.",
)
@click.option(
    "--threshold", default=0.8, show_default=True, help="With --eval: auto-accept confidence."
)
@click.option("--json", "as_json", is_flag=True, help="With --eval: print the figures as JSON.")
@click.option(
    "--export-decisions",
    is_flag=True,
    help="Write the review queue decisions stored under --data as labelled JSONL.",
)
@click.option(
    "--data",
    "data_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="With --export-decisions: the data folder (holds chotdon.db).",
)
def parse(
    catalog_path: Path | None,
    pinned: str | None,
    eval_path: Path | None,
    source: Path | None,
    threshold: float,
    as_json: bool,
    export_decisions: bool,
    data_dir: Path | None,
) -> None:
    """Read comments as JSON lines on stdin, write one result line per comment to stdout.

    Input: {"id", "user", "text", "pinned"?}. Output: {"id", "intent", "items",
    "phone", "confidence", "evidence"}. Bad lines give {"id", "line", "error"}
    and exit status 2 at the end. With --eval FILE: print precision, recall,
    intent and phone accuracy against its labels instead.
    """
    if export_decisions:
        if data_dir is None:
            raise click.UsageError("--export-decisions needs --data DIR")
        _export_decisions(data_dir)
        return
    if catalog_path is None:
        raise click.UsageError("Missing option '--catalog'.")
    parser = _load_parser(catalog_path, pinned)
    if eval_path is not None:
        _evaluate(parser, eval_path, source, threshold, as_json)
        return
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
