"""Choosing the clips: one candidate per product window, or from speech alone.

We know when each product was pinned and when orders came in, so a window is
a candidate by construction; scoring only ranks windows (for ``--max``) and
picks the best 15-60 s stretch inside each. Boundaries land on transcript
segment edges (Whisper segments end at sentence ends), so a clip never starts
or stops mid-word. The plan is written to ``clips.json`` before any render so
a helper can edit it and run again.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from chotdon.money import format_price
from studio.catalog import Product
from studio.errors import StudioError
from studio.events import ProductWindow
from transcribe.types import Segment

__all__ = [
    "REGION_MARGIN",
    "SELLING_PHRASES",
    "ClipPlan",
    "candidate_regions",
    "clip_title",
    "plan_from_transcript",
    "plan_from_windows",
    "read_plan",
    "selling_phrases",
    "slug",
    "write_plan",
]

# Words a seller says while selling, per language (--language); whole words, lower case.
SELLING_PHRASES: dict[str, tuple[str, ...]] = {
    "vi": (
        "giá",
        "chốt",
        "giảm",
        "tặng",
        "freeship",
        "free ship",
        "miễn phí",
        "khuyến mãi",
        "ưu đãi",
        "nghìn",
        "đồng",
        "mua",
        "đặt",
        "còn",
    ),
    "id": (
        "harga",
        "murah",
        "diskon",
        "promo",
        "potongan",
        "gratis",
        "ongkir",
        "bonus",
        "hemat",
        "ribu",
        "rupiah",
        "beli",
        "pesan",
        "order",
        "checkout",
        "keranjang",
        "stok",
        "sisa",
    ),
    "en": (
        "price",
        "sale",
        "discount",
        "deal",
        "off",
        "free",
        "bonus",
        "save",
        "thousand",
        "dollars",
        "buy",
        "order",
        "comment",
        "stock",
        "left",
    ),
}
_ORDER_LAG = 30.0  # orders come in up to half a minute after the pitch
# Speech transcribed on each side of a candidate, so its cuts can move to sentence edges.
REGION_MARGIN = 10.0


@dataclass(frozen=True)
class ClipPlan:
    file: str
    code: str | None
    start: float
    end: float
    score: float
    title: str

    @property
    def duration(self) -> float:
        return self.end - self.start


def slug(text: str) -> str:
    """``"Hạt dẻ Ngân Sơn"`` -> ``"hat-de-ngan-son"`` (ASCII, for file names and tags)."""
    text = text.replace("đ", "d").replace("Đ", "D")
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def _norm(text: str) -> str:
    return unicodedata.normalize("NFC", text).lower()


def _overlap(segment: Segment, start: float, end: float) -> float:
    return max(0.0, min(segment.end, end) - max(segment.start, start))


def _speech_density(segments: Sequence[Segment], start: float, end: float) -> float:
    covered = sum(_overlap(s, start, end) for s in segments)
    return min(1.0, covered / max(end - start, 1e-6))


def selling_phrases(language: str) -> tuple[str, ...]:
    """The selling phrases of ``language`` (vi, id, en)."""
    try:
        return SELLING_PHRASES[language]
    except KeyError:
        known = ", ".join(SELLING_PHRASES)
        raise StudioError(f"no selling phrases for language {language!r}; use {known}") from None


def _phrase_hits(
    segments: Sequence[Segment],
    start: float,
    end: float,
    names: Iterable[str],
    selling: Sequence[str] = (),
) -> int:
    text = " ".join(_norm(s.text) for s in segments if _overlap(s, start, end) > 0)
    phrases = [*selling, *(_norm(n) for n in names if n)]
    return sum(len(re.findall(rf"(?<!\w){re.escape(p)}(?!\w)", text)) for p in phrases)


def _candidate_spans(
    lo: float, hi: float, segments: Sequence[Segment], min_len: float, max_len: float
) -> list[tuple[float, float, bool]]:
    """(start, end, on_sentence_edges) spans of min_len..max_len inside [lo, hi].
    Starts are sentence starts (or ``lo`` when it falls in a pause); ends are
    sentence ends, else a plain cut at ``max_len`` when no sentence end fits."""

    def in_pause(moment: float) -> bool:
        return not any(s.start < moment < s.end for s in segments)

    starts = {round(s.start, 3) for s in segments if lo <= s.start <= hi - min_len}
    if in_pause(lo) or not starts:
        starts.add(round(lo, 3))
    ends = sorted(round(s.end, 3) for s in segments if lo < s.end <= hi)
    spans: list[tuple[float, float, bool]] = []
    for start in sorted(starts):
        fitting = [e for e in ends if min_len <= e - start <= max_len]
        spans += [(start, e, True) for e in fitting]
        if not fitting and hi - start >= min_len:
            spans.append((start, min(hi, start + max_len), False))
    return spans


def _best_span(
    lo: float,
    hi: float,
    segments: Sequence[Segment],
    names: Sequence[str],
    orders: Sequence[float],
    min_len: float,
    max_len: float,
    selling: Sequence[str] = (),
) -> tuple[float, float] | None:
    best: tuple[float, float] | None = None
    best_value = -1.0
    for start, end, aligned in _candidate_spans(lo, hi, segments, min_len, max_len):
        value = (
            _phrase_hits(segments, start, end, names, selling)
            + 2.0 * sum(1 for o in orders if start <= o < end + _ORDER_LAG)
            + 3.0 * _speech_density(segments, start, end)
            + (2.0 if aligned else 0.0)
            + (end - start) / max_len  # between equals, the fuller clip
        )
        if value > best_value + 1e-9:
            best, best_value = (start, end), value
    return best


def _window_score(
    window: ProductWindow,
    segments: Sequence[Segment],
    names: Sequence[str],
    selling: Sequence[str] = (),
) -> float:
    minutes = max(window.duration / 60.0, 1e-6)
    orders = len(window.orders) / minutes
    comments = len(window.comments) / minutes
    phrases = _phrase_hits(segments, window.start, window.end, names, selling) / minutes
    density = _speech_density(segments, window.start, window.end)
    score = (
        0.45 * min(orders / 3.0, 1.0)
        + 0.2 * min(comments / 10.0, 1.0)
        + 0.15 * density
        + 0.2 * min(phrases / 6.0, 1.0)
    )
    return round(score, 3)


def clip_title(product: Product | None, code: str | None, segments: Sequence[Segment]) -> str:
    """``"Hạt dẻ Ngân Sơn – 150.000 ₫/kg"``; without a product, the first thing said."""
    if product is not None:
        return f"{product.name} – {format_price(product.shown_price, product.unit)}"
    if code:
        return code
    first = next((s.text for s in segments if s.text), "Clip")
    return first if len(first) <= 60 else first[:59].rstrip() + "…"


def _file_name(index: int, code: str | None, product: Product | None) -> str:
    label = slug(product.name) if product else ""
    parts = [f"{index:02d}", slug(code) if code else "clip", label]
    return "-".join(p for p in parts if p) + ".mp4"


def _names(product: Product | None) -> list[str]:
    return [product.name, *product.aliases] if product else []


def candidate_regions(
    windows: Sequence[ProductWindow],
    *,
    min_len: float,
    max_len: float,
    margin: float = REGION_MARGIN,
) -> list[tuple[float, float]]:
    """Where each window's clip will be, chosen before any transcript exists: the
    ``max_len`` stretch with the most orders (then comments), widened by ``margin``
    and kept inside the window. Only these regions need transcribing."""
    regions = []
    for window in windows:
        if window.duration < min_len:
            continue
        length = min(max_len, window.duration)
        start = _busiest_start(window, length)
        lo, hi = max(window.start, start - margin), min(window.end, start + length + margin)
        regions.append((round(lo, 3), round(hi, 3)))
    return regions


def _busiest_start(window: ProductWindow, length: float) -> float:
    latest = window.end - length
    starts = {window.start, *(t - _ORDER_LAG for t in window.orders), *window.comments}
    starts = {min(max(t, window.start), latest) for t in starts}

    def busy(start: float) -> float:
        orders = sum(1 for t in window.orders if start <= t < start + length + _ORDER_LAG)
        comments = sum(1 for t in window.comments if start <= t < start + length)
        return 2.0 * orders + 0.2 * comments

    return max(sorted(starts), key=busy)  # max keeps the earliest of equals


def _search_bounds(
    window: ProductWindow, regions: Sequence[tuple[float, float]] | None
) -> tuple[float, float] | None:
    """The part of ``window`` that was transcribed (all of it without regions)."""
    if regions is None:
        return window.start, window.end
    overlaps = [
        (max(window.start, lo), min(window.end, hi))
        for lo, hi in regions
        if min(window.end, hi) > max(window.start, lo)
    ]
    return max(overlaps, key=lambda b: b[1] - b[0]) if overlaps else None


def plan_from_windows(
    windows: Sequence[ProductWindow],
    products: dict[str, Product],
    segments: Sequence[Segment],
    *,
    min_len: float,
    max_len: float,
    max_clips: int | None = None,
    regions: Sequence[tuple[float, float]] | None = None,
    language: str = "vi",
) -> list[ClipPlan]:
    """The best stretch of each long-enough product window, the top ``max_clips``
    by score, numbered in recording order. With ``regions`` (what was transcribed),
    each window's stretch is looked for inside its region. ``language`` picks the
    selling phrases (:data:`SELLING_PHRASES`)."""
    selling = selling_phrases(language)
    chosen: list[tuple[float, ProductWindow, tuple[float, float]]] = []
    for window in windows:
        product = products.get(window.code)
        names = _names(product)
        bounds = _search_bounds(window, regions)
        if bounds is None:
            continue
        span = _best_span(*bounds, segments, names, window.orders, min_len, max_len, selling)
        if span is not None:
            chosen.append((_window_score(window, segments, names, selling), window, span))
    chosen.sort(key=lambda c: -c[0])
    chosen = sorted(chosen[:max_clips] if max_clips else chosen, key=lambda c: c[2][0])
    plans = []
    for index, (score, window, (start, end)) in enumerate(chosen, start=1):
        product = products.get(window.code)
        inside = [s for s in segments if _overlap(s, start, end) > 0]
        plans.append(
            ClipPlan(
                file=_file_name(index, window.code, product),
                code=window.code,
                start=round(start, 3),
                end=round(end, 3),
                score=score,
                title=clip_title(product, window.code, inside),
            )
        )
    return plans


def plan_from_transcript(
    segments: Sequence[Segment],
    products: dict[str, Product],
    loudness: np.ndarray,
    duration: float,
    *,
    min_len: float,
    max_len: float,
    max_clips: int | None = None,
    language: str = "vi",
) -> list[ClipPlan]:
    """Without an event log: spans rich in product names and selling phrases (in
    ``language``), louder than the recording's median, that do not overlap."""
    selling = selling_phrases(language)
    all_names = [n for p in products.values() for n in _names(p)]
    median = float(np.median(loudness)) if loudness.size else -60.0
    scored: list[tuple[float, float, float]] = []
    for start, end, aligned in _candidate_spans(0.0, duration, segments, min_len, max_len):
        hits = _phrase_hits(segments, start, end, all_names, selling)
        if hits == 0:
            continue
        part = loudness[int(start * 2) : int(end * 2)]
        louder = float(np.mean(part)) - median if part.size else 0.0
        value = hits / ((end - start) / 60) + 3 * _speech_density(segments, start, end)
        value += max(-3.0, min(3.0, louder / 3)) + (1.0 if aligned else 0.0)
        scored.append((value, start, end))
    picked: list[tuple[float, float, float]] = []
    for value, start, end in sorted(scored, key=lambda c: -c[0]):
        if all(end <= s or start >= e for _, s, e in picked):
            picked.append((value, start, end))
        if max_clips and len(picked) >= max_clips:
            break
    top = max((v for v, _, _ in picked), default=1.0) or 1.0
    plans = []
    for index, (value, start, end) in enumerate(sorted(picked, key=lambda c: c[1]), start=1):
        code = _mentioned_product(segments, start, end, products)
        product = products.get(code) if code else None
        inside = [s for s in segments if _overlap(s, start, end) > 0]
        plans.append(
            ClipPlan(
                file=_file_name(index, code, product),
                code=code,
                start=round(start, 3),
                end=round(end, 3),
                score=round(max(0.0, value / top), 3),
                title=clip_title(product, code, inside),
            )
        )
    return plans


def _mentioned_product(
    segments: Sequence[Segment], start: float, end: float, products: dict[str, Product]
) -> str | None:
    counts = {code: _phrase_hits(segments, start, end, _names(p)) for code, p in products.items()}
    best = max(counts.items(), key=lambda kv: kv[1], default=(None, 0))
    return best[0] if best[1] > 0 else None


# --- clips.json ------------------------------------------------------------------


def write_plan(path: Path, plans: Sequence[ClipPlan], meta: dict[str, Any]) -> None:
    """Write atomically: a helper may have the file open in an editor."""
    data = {**meta, "clips": [asdict(p) for p in plans]}
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


def read_plan(path: Path, duration: float | None = None) -> list[ClipPlan]:
    """A plan written by us and maybe edited by hand, checked clip by clip."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise StudioError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    raw = data.get("clips") if isinstance(data, dict) else data
    if not isinstance(raw, list):
        raise StudioError(f"{path}: expected {{'clips': [...]}}")
    plans = [_plan_entry(entry, f"{path}, clip {i + 1}", duration) for i, entry in enumerate(raw)]
    files = [p.file for p in plans]
    duplicate = next((f for f in files if files.count(f) > 1), None)
    if duplicate:
        raise StudioError(f"{path}: file name {duplicate!r} is used by two clips")
    return plans


def _plan_entry(entry: Any, where: str, duration: float | None) -> ClipPlan:
    if not isinstance(entry, dict):
        raise StudioError(f"{where}: expected an object")
    try:
        plan = ClipPlan(
            file=str(entry["file"]),
            code=None if entry.get("code") is None else str(entry["code"]),
            start=float(entry["start"]),
            end=float(entry["end"]),
            score=float(entry.get("score", 0.0)),
            title=str(entry.get("title", "")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise StudioError(f"{where}: missing or bad field ({exc})") from None
    if not plan.file.endswith(".mp4") or Path(plan.file).name != plan.file:
        raise StudioError(f"{where}: 'file' must be a plain name ending in .mp4, got {plan.file!r}")
    if not 0 <= plan.start < plan.end:
        raise StudioError(f"{where}: needs 0 <= start < end (got {plan.start}, {plan.end})")
    if duration is not None and plan.end > duration + 0.5:
        raise StudioError(
            f"{where}: ends at {plan.end:.1f}s, after the recording ({duration:.1f}s)"
        )
    return plan
