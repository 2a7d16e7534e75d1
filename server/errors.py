"""Domain errors. Raised inside, translated to HTTP responses or CLI messages at the edges."""

from __future__ import annotations

from typing import Any

__all__ = ["Conflict", "DomainError", "InvalidInput", "NotFound", "OutOfStock", "error_body"]


class DomainError(Exception):
    """Base class; ``status`` is the HTTP status the API edge answers with."""

    status = 400

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(DomainError):
    status = 422


class NotFound(DomainError):
    status = 404


class Conflict(DomainError):
    status = 409


class OutOfStock(Conflict):
    pass


def error_body(message: str, field: str | None = None, **extra: Any) -> dict[str, Any]:
    """The one error shape every HTTP route answers with: ``{"error", "field"}`` (+ extras)."""
    return {"error": message, "field": field, **extra}
