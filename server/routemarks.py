"""Route-level settings for the middlewares, declared on the routes themselves.

A middleware runs before routing, so it cannot ask FastAPI which route a request
goes to. Instead a route declares a dependency on a marker, the middleware is
given the routers' routes and keeps the marked ones, and each request is matched
against those routes, method included.
Nothing is decided by looking for a word in the path: ``/api/products/import-foo``
or ``?next=/image`` is not an upload route.

- a route with an :data:`UploadLimit` parameter takes file uploads: its body may
  reach ``max_upload_bytes`` (:class:`server.app.BodyLimit`); the parameter's
  value is that limit, for reading the file;
- a route declared with ``dependencies=[INGESTS]`` takes comments: each draws from
  the ingestion rate limit (:class:`server.ratelimit.IngestLimit`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from starlette.routing import BaseRoute, Match
from starlette.types import Scope

__all__ = ["INGESTS", "RouteMarks", "UploadLimit", "ingests", "marked_routes", "upload_limit"]


def upload_limit(request: Request) -> int:
    """The most bytes this route's body may carry: the route takes file uploads."""
    return int(request.app.state.ctx.settings.max_upload_bytes)


UploadLimit = Annotated[int, Depends(upload_limit)]


def ingests() -> None:
    """Marks a route whose comments draw from the ingestion rate limit."""


INGESTS = Depends(ingests)


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def marked_routes(routes: Sequence[BaseRoute], marker: Callable[..., Any]) -> list[BaseRoute]:
    """The routes that depend on ``marker``, directly or through another dependency."""
    found = []
    for route in routes:
        dependant = getattr(route, "dependant", None)
        if isinstance(dependant, Dependant) and marker in _calls(dependant):
            found.append(route)
    return found


class RouteMarks:
    """The routes among ``routes`` marked with ``marker``."""

    def __init__(self, routes: Sequence[BaseRoute], marker: Callable[..., Any]) -> None:
        self.routes = marked_routes(routes, marker)

    def matches(self, scope: Scope) -> bool:
        """Whether the request or socket in ``scope`` goes to a marked route."""
        return any(route.matches(scope)[0] is Match.FULL for route in self.routes)
