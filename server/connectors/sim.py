"""Replay a JSONL file of comments as if an audience were typing them.

Each line holds the :class:`CommentIn` fields (``platform`` defaults to
``"sim"``, ``id`` to ``L<line number>``) plus an optional ``"at"``: seconds
from the start of the replay. Lines without ``at`` follow the previous line at
``rate`` comments per second. The whole file is read and checked when the
connector is built, so a typo fails the demo at start-up with the line number,
not eight minutes into a show.

Replayed comments get the replay time as ``ts``: a stored timestamp from the
file would be hours or days stale. With ``loop=True`` the script starts over
after its last line (plus one spacing); from the second pass on ids get a
``~<pass>`` suffix so ingestion does not drop them as repeats.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from server.comments import CommentIn
from server.connectors.base import ConnectorError, Emit, Sleep, utcnow

__all__ = ["ScriptLine", "SimConnector", "SimScriptError", "load_script"]


class SimScriptError(ConnectorError):
    """The replay file is unreadable or has a bad line."""

    def __init__(self, message: str) -> None:
        super().__init__(message, fatal=True)


@dataclass(frozen=True, slots=True)
class ScriptLine:
    """One scripted comment and when it is due, in seconds from the start."""

    at: float
    comment: CommentIn


def load_script(path: str | Path, *, rate: float = 1.0) -> list[ScriptLine]:
    """Read and check a replay file; raise :class:`SimScriptError` naming the bad line."""
    if rate <= 0:
        raise ValueError("rate must be positive (comments per second)")
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SimScriptError(f"cannot read replay file {path}: {exc}") from exc
    lines: list[ScriptLine] = []
    seen: dict[str, int] = {}
    previous_at: float | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        line = _parse_line(path, number, raw, previous_at, rate)
        if line.comment.id in seen:
            raise SimScriptError(
                f"{path}, line {number}: id {line.comment.id!r} already used on line "
                f"{seen[line.comment.id]}"
            )
        seen[line.comment.id] = number
        lines.append(line)
        previous_at = line.at
    return lines


def _parse_line(
    path: Path, number: int, raw: str, previous_at: float | None, rate: float
) -> ScriptLine:
    where = f"{path}, line {number}"
    try:
        data: Any = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise SimScriptError(f"{where}: not valid JSON ({exc.msg})") from exc
    if not isinstance(data, dict):
        raise SimScriptError(f"{where}: expected a JSON object, got {type(data).__name__}")
    at = _line_at(where, data.pop("at", None), previous_at, rate)
    data.setdefault("platform", "sim")
    data.setdefault("id", f"L{number}")
    try:
        comment = CommentIn.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'line'}: {err['msg']}"
            for err in exc.errors()
        )
        raise SimScriptError(f"{where}: {problems}") from exc
    return ScriptLine(at=at, comment=comment)


def _line_at(where: str, value: Any, previous_at: float | None, rate: float) -> float:
    if value is None:
        return 0.0 if previous_at is None else previous_at + 1.0 / rate
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise SimScriptError(f"{where}: 'at' must be a number of seconds >= 0, got {value!r}")
    if previous_at is not None and value < previous_at:
        raise SimScriptError(
            f"{where}: 'at' {value} is before the previous line's {previous_at}; "
            "keep the file in time order"
        )
    return float(value)


class SimConnector:
    """Replays a script at ``speed`` times real time, optionally looping forever."""

    name = "sim"

    def __init__(
        self,
        path: str | Path,
        *,
        speed: float = 1.0,
        rate: float = 1.0,
        loop: bool = False,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.script = load_script(path, rate=rate)
        if not self.script:
            raise SimScriptError(f"replay file {path} has no comments")
        self.speed = speed
        self.loop = loop
        self._period = self.script[-1].at + 1.0 / rate
        self._sleep = sleep
        self._clock = clock
        self._now = now
        self._pass = 0
        self._index = 0  # next line to emit; kept across restarts so we resume
        self._played = 0.0  # script seconds already played (all passes)

    async def run(self, emit: Emit) -> None:
        await emit([])  # heartbeat: the file is loaded, we are "live"
        # Pretend the replay began long enough ago to have played what was
        # already emitted: a restart resumes with the next line's usual gap.
        started = self._clock() - self._played / self.speed
        while True:
            due_at = self._pass * self._period + self.script[self._index].at
            wait = due_at / self.speed - (self._clock() - started)
            if wait > 0:
                await self._sleep(wait)
            else:  # behind schedule (high speed): still let the event loop breathe
                await asyncio.sleep(0)
            elapsed = (self._clock() - started) * self.speed
            batch = self._take_due(elapsed)
            await emit(batch)
            self._index += len(batch)
            self._played = self._pass * self._period + self.script[self._index - 1].at
            if self._index >= len(self.script):
                if not self.loop:
                    return
                self._pass += 1
                self._index = 0

    def _take_due(self, elapsed: float) -> Sequence[CommentIn]:
        """Every line of the current pass that is due by ``elapsed`` (at least one)."""
        base = self._pass * self._period
        end = self._index + 1
        while end < len(self.script) and base + self.script[end].at <= elapsed:
            end += 1
        return [self._stamp(line.comment) for line in self.script[self._index : end]]

    def _stamp(self, comment: CommentIn) -> CommentIn:
        changes: dict[str, Any] = {"ts": self._now()}
        if self._pass:
            changes["id"] = f"{comment.id}~{self._pass}"
        return comment.model_copy(update=changes)
