"""Realistic comments for the load: the demo audience's lines, with unique ids.

Each pass over ``assets/demo/comments.jsonl`` gets fresh ids and fresh buyers
(the user id carries the pass number), so repeats are the demo's own, not an
artefact of cycling through a short file.
"""

from __future__ import annotations

import itertools
import json
from functools import cache
from typing import Any

from assets import DEMO_DIR

__all__ = ["demo_comments", "demo_lines"]


@cache
def demo_lines() -> tuple[dict[str, Any], ...]:
    path = DEMO_DIR / "comments.jsonl"
    with path.open(encoding="utf-8") as handle:
        return tuple(json.loads(line) for line in handle if line.strip())


def demo_comments(count: int, prefix: str, start: int = 0) -> list[dict[str, Any]]:
    """``count`` comments in :class:`server.comments.CommentIn` shape, ids ``prefix-N``."""
    lines = demo_lines()
    out = []
    for i in itertools.islice(itertools.count(start), count):
        line = lines[i % len(lines)]
        out.append(
            {
                "platform": "sim",
                "id": f"{prefix}-{i}",
                "user": f"{line['user']}~{i // len(lines)}",
                "nickname": line.get("nickname", ""),
                "text": line.get("text", ""),
            }
        )
    return out
