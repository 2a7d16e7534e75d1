"""Helper commands: one table serves the REST routes and the panel socket alike.

Handlers are coroutines: the database part of a command runs in the writer
thread (see :mod:`server.live`), so callers ``await run_command(...)``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from .errors import InvalidInput
from .live import LiveService

__all__ = ["COMMANDS", "run_command"]


class _Empty(BaseModel):
    pass


class _Code(BaseModel):
    code: str = Field(min_length=1, max_length=17)


class _Price(_Code):
    price: int | None = Field(default=None, ge=0, le=1_000_000_000)
    sale_price: int | None = Field(default=None, ge=0, le=1_000_000_000)
    clear_sale_price: bool = False


class _Stock(_Code):
    stock: int = Field(ge=0, le=1_000_000)


class _Countdown(BaseModel):
    seconds: int = Field(ge=1, le=24 * 3600)
    label: str = Field(default="", max_length=60)


class _Element(BaseModel):
    element: str = Field(min_length=1, max_length=20)
    visible: bool


class _Session(BaseModel):
    title: str = Field(default="", max_length=200)


Handler = Callable[[LiveService, Any], Awaitable[Any]]

# op -> (arguments model, handler). The op is also the REST path under /api/live/.
COMMANDS: dict[str, tuple[type[BaseModel], Handler]] = {
    "pin": (_Code, lambda live, a: live.pin(a.code)),
    "unpin": (_Empty, lambda live, a: live.unpin()),
    "price": (
        _Price,
        lambda live, a: live.change_price(a.code, a.price, a.sale_price, a.clear_sale_price),
    ),
    "stock": (_Stock, lambda live, a: live.change_stock(a.code, a.stock)),
    "countdown": (_Countdown, lambda live, a: live.start_countdown(a.seconds, a.label)),
    "countdown/stop": (_Empty, lambda live, a: live.stop_countdown()),
    "element": (_Element, lambda live, a: live.set_element(a.element, a.visible)),
    "session/start": (_Session, lambda live, a: live.start_session(a.title)),
    "session/stop": (_Empty, lambda live, a: live.stop_session()),
}


async def run_command(live: LiveService, op: str, args: Any) -> Any:
    """Validate ``args`` for ``op`` and run it; errors name the field that is wrong."""
    if op not in COMMANDS:
        raise InvalidInput(f"unknown command {op!r}", field="op")
    model, handler = COMMANDS[op]
    try:
        parsed = model.model_validate(args if args is not None else {})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise InvalidInput(f"{where}: {first['msg']}", field=where) from exc
    return await handler(live, parsed)
