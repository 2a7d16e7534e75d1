"""The clip studio: a live recording plus its event log into ready-to-post
vertical clips (``chotdon clips``).

    from studio import Options, prepare, make_plan, render_plan
    source = prepare(Path("live.mp4"), options=Options(Path("clips")), events=events,
                     products=products, segments=segments)
    for update in render_plan(source, make_plan(source, options), options):
        ...

See ``docs/studio.md``.
"""

from __future__ import annotations

from studio.errors import StudioError
from studio.pipeline import ClipEdit, Options, Progress, Source, make_plan, prepare, render_plan
from studio.plan import ClipPlan, read_plan, write_plan

__all__ = [
    "ClipEdit",
    "ClipPlan",
    "Options",
    "Progress",
    "Source",
    "StudioError",
    "make_plan",
    "prepare",
    "read_plan",
    "render_plan",
    "write_plan",
]
