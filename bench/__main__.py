"""``python -m bench [b1 b2 b3 b4 memory] [--out FILE]``: run, print, write the table.

With no names every benchmark runs and ``bench/results.md`` is rewritten; with
names only those run, and the table is printed (and written only with ``--out``),
so a partial run never leaves a results file that looks complete.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

from bench.common import Section, environment, render_results, render_table

BENCHMARKS = {
    "b1": "bench.b1_latency",
    "b2": "bench.b2_intake",
    "b3": "bench.b3_render",
    "b4": "bench.b4_transcribe",
    "b5": "bench.b5_tracking",
    "b6": "bench.b6_longlive",
    "b7": "bench.b7_hub",
    "memory": "bench.memory",
}
RESULTS = Path(__file__).with_name("results.md")
PREFACE = (
    "Written by `make bench` (`python -m bench`). Ratio = project / baseline, both "
    "measured in the same run on the same machine; see docs/performance.md for what "
    "each figure means."
)


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.2f} (1 min), {five:.2f} (5 min)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    names_help = f"benchmarks to run ({', '.join(BENCHMARKS)}); default: all"
    parser.add_argument("names", nargs="*", metavar="NAME", help=names_help)
    out_help = "results file (default: bench/results.md for a full run, none for a partial one)"
    parser.add_argument("--out", type=Path, help=out_help)
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {unknown[0]!r}; choose from {', '.join(BENCHMARKS)}")
    names = args.names or list(BENCHMARKS)
    out = args.out or (RESULTS if not args.names else None)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    for noisy in ("httpx", "faster_whisper", "transcribe", "studio"):  # a line per request/file
        logging.getLogger(noisy).setLevel(logging.WARNING)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    env = environment()
    env["load average at start"] = _load()
    started = time.monotonic()
    sections: list[Section] = []
    with tempfile.TemporaryDirectory(prefix="chotdon-bench-") as tmp:
        for name in names:
            print(f"== {name} ...", file=sys.stderr, flush=True)
            section = importlib.import_module(BENCHMARKS[name]).run(Path(tmp))
            sections.append(section)
            print(render_table(section.figures), flush=True)
            print(f"== {name} took {section.seconds:.0f} s", file=sys.stderr, flush=True)
    env["load average at end"] = _load()
    env["total time"] = f"{time.monotonic() - started:.0f} s"
    text = render_results(env, sections, PREFACE)
    print("\n" + text)
    if out is not None:
        out.write_text(text, encoding="utf-8")
        print(f"written to {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
