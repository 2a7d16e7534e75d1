"""Figures, percentiles, the results table and the description of the machine.

Every benchmark returns a :class:`Section`: a list of :class:`Figure` rows, each
with the project's value next to a baseline measured in the same run, and the
target from issue 6. The table is plain Markdown so the same text goes to
stdout, to ``bench/results.md`` and into ``docs/performance.md``.
"""

from __future__ import annotations

import math
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata

__all__ = [
    "Figure",
    "Section",
    "environment",
    "format_number",
    "percentile",
    "render_results",
    "render_table",
]

PACKAGES = (
    "fastapi",
    "starlette",
    "uvicorn",
    "websockets",
    "sqlalchemy",
    "faster-whisper",
    "ctranslate2",
    "moviepy",
)


@dataclass(frozen=True)
class Figure:
    """One measured number, its baseline and the target it is held to.

    ``ratio`` is project / baseline, whatever the unit: for times lower is
    better, for rates higher is better, and ``target`` says which.
    """

    name: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_name: str = ""
    target: str = ""
    met: bool | None = None

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or self.baseline == 0 or math.isnan(self.baseline):
            return None
        return self.value / self.baseline


@dataclass
class Section:
    """The rows of one benchmark, plus free-text notes printed under the table."""

    title: str
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) with linear interpolation between ranks."""
    if not values:
        return math.nan
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be within 0..100, got {q}")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def format_number(value: float | None) -> str:
    """Three significant figures, thousands separated; blank for nothing."""
    if value is None or math.isnan(value):
        return "—"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}" if abs(value) >= 0.1 else f"{value:.3f}"


def _met(figure: Figure) -> str:
    if figure.met is None:
        return "—"
    return "met" if figure.met else "**missed**"


def render_table(figures: Iterable[Figure]) -> str:
    lines = [
        "| figure | project | baseline | ratio | target | status |",
        "|---|---:|---|---:|---|---|",
    ]
    for f in figures:
        base = "—"
        if f.baseline is not None:
            base = f"{format_number(f.baseline)} {f.unit} ({f.baseline_name})"
        ratio = "—" if f.ratio is None else f"{f.ratio:.2f}x"
        lines.append(
            f"| {f.name} | {format_number(f.value)} {f.unit} | {base} | {ratio} "
            f"| {f.target or '—'} | {_met(f)} |"
        )
    return "\n".join(lines)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _first_line(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "not found"
    text = (out.stdout or out.stderr).strip()
    return text.splitlines()[0] if text else "unknown"


def environment() -> dict[str, str]:
    """Where and with what the figures were taken."""
    import imageio_ffmpeg

    env = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu": _cpu_model(),
        "cores": str(os.cpu_count() or 0),
        "python": sys.version.split()[0],
    }
    env.update({name: _version(name) for name in PACKAGES})
    env["ffmpeg"] = _first_line([imageio_ffmpeg.get_ffmpeg_exe(), "-version"])
    espeak = shutil.which("espeak-ng")
    env["espeak-ng"] = _first_line([espeak, "--version"]) if espeak else "not found"
    return env


def render_results(env: dict[str, str], sections: Sequence[Section], preface: str = "") -> str:
    """The whole results file: machine, one table of every figure, then each section's notes."""
    parts = ["# Benchmark results", ""]
    if preface:
        parts += [preface, ""]
    parts += [f"- **{key}**: {value}" for key, value in env.items()]
    parts += ["", render_table(f for s in sections for f in s.figures), ""]
    for section in sections:
        if section.notes:
            parts += [f"## {section.title} ({section.seconds:.0f} s)", ""]
            parts += [f"- {note}" for note in section.notes]
            parts.append("")
    return "\n".join(parts)
