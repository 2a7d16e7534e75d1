"""Untrusted input, item by item: safe JSON decoding and comment batches that keep
their good items.

Two rules hold on every socket and on ``POST /api/comments``:

* **Decoding never raises past the edge.** Python's JSON decoder raises
  ``ValueError`` on an integer of more than 4,300 digits (the int-from-string
  limit) and ``RecursionError`` on deep nesting; neither is a
  ``JSONDecodeError``, so a handler catching only that let one message kill its
  socket. :func:`loads` turns all three into :class:`BadJSON`.
* **One bad item never fails its batch.** :func:`split_batch` validates each
  comment on its own: the good ones are stored and acknowledged, each refused
  one is named by its index and field. Only a batch with nothing good in it is
  refused as a whole (REST 422, socket ``{"type": "error"}``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import ValidationError

from .comments import UNTRUSTED, CommentIn
from .errors import DomainError, InvalidInput, error_body

__all__ = [
    "BATCH_OPENAPI",
    "BadJSON",
    "Refused",
    "ingest_body",
    "ingest_message",
    "loads",
    "split_batch",
]

logger = logging.getLogger(__name__)

# What the REST route documents, since it reads its body itself (see ingest_body).
BATCH_OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"type": "array", "items": CommentIn.model_json_schema()}
            }
        },
    }
}


_NAMED = 20  # refused items spelled out in a 422's message


class BadJSON(ValueError):
    """Text that is not JSON this server will read; ``message`` says why, for the client."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def loads(text: str | bytes) -> Any:
    """``json.loads`` that raises only :class:`BadJSON`, whatever the text."""
    try:
        return json.loads(text)
    except RecursionError:
        raise BadJSON("JSON nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise BadJSON(f"not valid JSON ({exc.msg} at character {exc.pos})") from None
    except ValueError as exc:  # the int-from-string limit, or bytes that are not UTF-8
        reason = "a number too long to read" if "digits" in str(exc) else "not UTF-8 JSON"
        raise BadJSON(f"not valid JSON: {reason}") from None


@dataclass(frozen=True, slots=True)
class Refused:
    """One item of a batch that was not stored, and why."""

    index: int
    field: str | None
    error: str

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "field": self.field, "error": self.error}


def split_batch(items: list[Any]) -> tuple[list[CommentIn], list[int], list[Refused]]:
    """Validate each item alone: the comments, their indexes in ``items``, the refused."""
    good: list[CommentIn] = []
    kept: list[int] = []
    refused: list[Refused] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            refused.append(Refused(index, None, f"item {index}: a comment is a JSON object"))
            continue
        try:
            good.append(CommentIn.model_validate(item, context={UNTRUSTED: True}))
        except ValidationError as exc:
            refused.append(_refusal(index, exc))
            continue
        kept.append(index)
    return good, kept, refused


def _refusal(index: int, exc: ValidationError) -> Refused:
    first = exc.errors(include_url=False, include_input=False)[0]
    field = ".".join(str(part) for part in first.get("loc", ())) or None
    message = str(first.get("msg") or "invalid value").removeprefix("Value error, ")
    return Refused(index, field, f"item {index}: {field or 'comment'} {message}".strip())


class Ingests(Protocol):
    async def ingest(self, batch: list[CommentIn]) -> list[Any]: ...


def _results(stored: list[Any], kept: list[int]) -> list[dict[str, Any]]:
    return [{**s.to_dict(), "index": i} for s, i in zip(stored, kept, strict=True)]


async def ingest_body(service: Ingests, body: bytes) -> tuple[int, dict[str, Any]]:
    """``POST /api/comments``: (status, JSON body). Domain errors propagate to the edge."""
    try:
        data = loads(body)
    except BadJSON as exc:
        raise InvalidInput(exc.message, field="body") from None
    if not isinstance(data, list):
        raise InvalidInput("the body is a JSON list of comments", field="body")
    good, kept, refused = split_batch(data)
    if refused and not good:
        return 422, _all_refused(refused)
    stored = await service.ingest(good) if good else []
    return 200, {"results": _results(stored, kept), "refused": [r.to_dict() for r in refused]}


def _all_refused(refused: list[Refused]) -> dict[str, Any]:
    """The one error shape: every item named in the message, the first one's path as field
    (``"0.ts"``, as FastAPI names a field of a list body)."""
    first = refused[0]
    shown = "; ".join(r.error for r in refused[:_NAMED])
    more = f" (and {len(refused) - _NAMED} more)" if len(refused) > _NAMED else ""
    field = str(first.index) + (f".{first.field}" if first.field else "")
    return error_body(f"no comment stored: {shown}{more}", field)


async def ingest_message(service: Ingests, text: str, max_bytes: int) -> dict[str, Any]:
    """One ``/ws/ingest`` message (a comment or a list of them) -> its one reply.

    Good items give ``{"type": "ack", "results", "refused"}``; a message with no good
    item gives ``{"type": "error", "error", "field", "index", "refused"}``. Nothing
    here raises: the socket stays open whatever the client sends.
    """
    if len(text) > max_bytes:
        return {"type": "error", "error": f"message over {max_bytes} bytes"}
    try:
        data = loads(text)
    except BadJSON as exc:
        return {"type": "error", "error": exc.message, "field": None}
    good, kept, refused = split_batch(data if isinstance(data, list) else [data])
    listed = [r.to_dict() for r in refused]
    if refused and not good:
        first = refused[0]
        return {"type": "error", "error": first.error, "field": first.field,
                "index": first.index, "refused": listed}  # fmt: skip
    try:
        stored = await service.ingest(good) if good else []
    except DomainError as exc:
        return {"type": "error", "error": exc.message, "field": exc.field}
    except Exception:  # a bug must not cost the connector its socket; it is logged
        logger.exception("could not store an ingested batch")
        return {"type": "error", "error": "could not store this batch", "field": None}
    reply: dict[str, Any] = {"type": "ack", "results": _results(stored, kept)}
    if listed:
        reply["refused"] = listed
    return reply
