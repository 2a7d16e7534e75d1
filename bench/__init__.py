"""``python -m bench``: chotdon's figures next to the bare tools underneath.

Each benchmark module (:mod:`bench.b1_latency`, :mod:`bench.b2_intake`,
:mod:`bench.b3_render`, :mod:`bench.b4_transcribe`, :mod:`bench.memory`) has a
``run(workdir)`` that returns a :class:`bench.common.Section`; ``__main__``
runs them in order, prints one table and writes ``bench/results.md``.
See ``docs/performance.md``.
"""

from __future__ import annotations

from bench.common import Figure, Section, percentile, render_results, render_table

__all__ = ["Figure", "Section", "percentile", "render_results", "render_table"]
