"""The after-live report's charts, drawn once as shapes, written as SVG or with Pillow.

A chart is a list of :class:`Shape` laid out on a fixed canvas; :func:`to_svg` writes
it for the report page (every text escaped: product names and nicknames are
sellers' and buyers' words) and :func:`report_file` draws the same shapes onto an
A4 page for the PNG and PDF downloads, so the page and the files cannot disagree.
Labels come from the pages' translation catalogs (``overlays/static/i18n``).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from html import escape
from typing import Any, Literal

from PIL import Image, ImageDraw, ImageFont

from assets import font_path
from chotdon.eventlog import parse_time
from chotdon.money import format_vnd
from overlays import I18N_DIR
from overlays.theme import THEME

__all__ = ["Shape", "chart_svg", "products_chart", "report_file", "timeline_chart", "translator"]

Translate = Callable[..., str]
WIDTH = 1000
BAND_COLOURS = ("#fde2c8", "#d8ecf3", "#e3f1d9", "#f3dcef", "#f7f0c6", "#dde0f5")
COMMENT_COLOUR = "#7a6a58"
ORDER_COLOUR = THEME["accent"]
GRID = "#e4ddd3"
INK = THEME["card_fg"]


@lru_cache(maxsize=8)
def _catalog(lang: str) -> dict[str, str]:
    data: dict[str, str] = json.loads((I18N_DIR / f"{lang}.json").read_text(encoding="utf-8"))
    return data


def translator(lang: str) -> Translate:
    """``t(key, **vars)`` over the pages' catalog for ``lang``, Vietnamese as the fallback."""
    catalog, fallback = _catalog(lang), _catalog("vi")

    def t(key: str, **values: Any) -> str:
        text = catalog.get(key) or fallback.get(key) or key
        for name, value in values.items():
            text = text.replace("{" + name + "}", str(value))
        return text

    return t


@dataclass(frozen=True)
class Shape:
    kind: Literal["rect", "text", "line"]
    x: float
    y: float
    w: float = 0.0  # rect width, or the line's end x
    h: float = 0.0  # rect height, or the line's end y
    fill: str = INK
    text: str = ""
    size: int = 12
    anchor: Literal["start", "middle", "end"] = "start"
    bold: bool = False
    cls: str = ""
    data: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Chart:
    name: str
    width: int
    height: int
    shapes: list[Shape]


# -- the timeline ---------------------------------------------------------------------

_LEFT, _RIGHT, _TOP, _PANEL, _GAP = 56, 12, 34, 120, 30


def timeline_chart(data: dict[str, Any], t: Translate) -> Chart:
    """Comments and orders per minute in two panels, behind them bands for the product
    on screen; the x axis in the server's local time."""
    minutes: list[dict[str, Any]] = data["per_minute"]
    height = _TOP + 2 * _PANEL + _GAP + 26
    shapes: list[Shape] = []
    if not minutes:
        shapes.append(
            Shape("text", WIDTH / 2, height / 2, text=t("report.no_data"), anchor="middle")
        )
        return Chart("timeline", WIDTH, height, shapes)
    slot = (WIDTH - _LEFT - _RIGHT) / len(minutes)
    bottom = _TOP + 2 * _PANEL + _GAP
    shapes += _bands(minutes, slot, bottom)
    panels = (
        ("comments", t("report.comments_per_minute"), COMMENT_COLOUR, _TOP),
        ("orders", t("report.orders_per_minute"), ORDER_COLOUR, _TOP + _PANEL + _GAP),
    )
    for key, title, colour, top in panels:
        shapes += _panel(minutes, key, title, colour, top, slot)
    shapes += _time_axis(minutes, slot, bottom)
    return Chart("timeline", WIDTH, height, shapes)


def _bands(minutes: list[dict[str, Any]], slot: float, bottom: float) -> list[Shape]:
    shapes: list[Shape] = []
    colours: dict[str, str] = {}
    start = 0
    for index in range(1, len(minutes) + 1):
        code = minutes[start]["pinned"]
        if index < len(minutes) and minutes[index]["pinned"] == code:
            continue
        if code is not None:
            colour = colours.setdefault(code, BAND_COLOURS[len(colours) % len(BAND_COLOURS)])
            x, w = _LEFT + start * slot, (index - start) * slot
            shapes.append(
                Shape(
                    "rect",
                    x,
                    _TOP - 16,
                    w,
                    bottom - _TOP + 16,
                    fill=colour,
                    cls="band",
                    data={"code": code, "minutes": str(index - start)},
                )
            )
            shapes.append(
                Shape("text", x + 3, _TOP - 4, text=code, size=11, bold=True, cls="band-label")
            )
        start = index
    return shapes


def _panel(
    minutes: list[dict[str, Any]], key: str, title: str, colour: str, top: float, slot: float
) -> list[Shape]:
    peak = max(max(m[key] for m in minutes), 1)
    base = top + _PANEL
    shapes = [
        Shape("line", _LEFT, base, WIDTH - _RIGHT, base, fill=GRID),
        Shape("line", _LEFT, top, WIDTH - _RIGHT, top, fill=GRID),
        Shape("text", _LEFT - 6, top + 10, text=str(peak), size=11, anchor="end", cls="y-max"),
        Shape("text", _LEFT - 6, base, text="0", size=11, anchor="end"),
        Shape("text", _LEFT + 4, top + 12, text=title, size=12, bold=True, fill=colour),
    ]
    bar = max(slot * 0.7, 1.0)
    for index, minute in enumerate(minutes):
        value = minute[key]
        height = _PANEL * value / peak
        x = _LEFT + index * slot + (slot - bar) / 2
        shapes.append(
            Shape(
                "rect",
                x,
                base - height,
                bar,
                height,
                fill=colour,
                cls=f"bar-{key}",
                data={"t": minute["t"], "value": str(value)},
            )
        )
    return shapes


def _time_axis(minutes: list[dict[str, Any]], slot: float, bottom: float) -> list[Shape]:
    every = max(1, round(len(minutes) / 10 + 0.49))
    shapes = []
    for index in range(0, len(minutes), every):
        label = _local_hhmm(minutes[index]["t"])
        x = _LEFT + (index + 0.5) * slot
        shapes.append(Shape("text", x, bottom + 18, text=label, size=11, anchor="middle"))
    return shapes


def _local_hhmm(value: str) -> str:
    return parse_time(value).astimezone().strftime("%H:%M")


# -- revenue by product -----------------------------------------------------------------

_ROW, _LABEL_W, _VALUE_W = 30, 330, 130
MAX_PRODUCTS = 12


def products_chart(data: dict[str, Any], t: Translate) -> Chart:
    products = [p for p in data["products"] if p["revenue"] > 0 or p["qty"] > 0][:MAX_PRODUCTS]
    height = 28 + max(len(products), 1) * _ROW + 6
    shapes = [Shape("text", 0, 16, text=t("report.revenue_by_product"), size=13, bold=True)]
    if not products:
        shapes.append(Shape("text", 0, 16 + _ROW, text=t("report.no_data")))
        return Chart("products", WIDTH, height, shapes)
    peak = max(max(p["revenue"] for p in products), 1)
    room = WIDTH - _LABEL_W - _VALUE_W
    for index, product in enumerate(products):
        y = 28 + index * _ROW
        label = _clip(f"{product['code']} · {product.get('name', '')}", 40)
        width = room * max(product["revenue"], 0) / peak
        qty = _qty(product["qty"])
        shapes += [
            Shape("text", 0, y + 19, text=label, size=13, cls="product-label"),
            Shape(
                "rect",
                _LABEL_W,
                y + 4,
                width,
                _ROW - 10,
                fill=ORDER_COLOUR,
                cls="bar-revenue",
                data={"code": product["code"], "value": str(product["revenue"])},
            ),
            Shape(
                "text",
                WIDTH,
                y + 19,
                text=f"{format_vnd(product['revenue'])} · {qty} {product.get('unit', '')}".strip(),
                size=12,
                anchor="end",
                cls="product-value",
            ),
        ]
    return Chart("products", WIDTH, height, shapes)


def _qty(qty: float) -> str:
    return str(int(qty)) if float(qty).is_integer() else str(qty).replace(".", ",")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# -- SVG ----------------------------------------------------------------------------------


def chart_svg(name: str, data: dict[str, Any], t: Translate) -> str:
    chart = timeline_chart(data, t) if name == "timeline" else products_chart(data, t)
    return to_svg(chart)


def to_svg(chart: Chart) -> str:
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{chart.name}" '
        f'viewBox="0 0 {chart.width} {chart.height}" role="img" '
        'font-family="Noto Sans, sans-serif">'
    ]
    parts += [_svg_shape(s) for s in chart.shapes]
    parts.append("</svg>")
    return "".join(parts)


def _attrs(shape: Shape) -> str:
    out = f' class="{escape(shape.cls)}"' if shape.cls else ""
    for key, value in shape.data.items():
        out += f' data-{escape(key)}="{escape(value)}"'
    return out


def _svg_shape(s: Shape) -> str:
    if s.kind == "rect":
        return (
            f'<rect x="{s.x:.2f}" y="{s.y:.2f}" width="{s.w:.2f}" height="{s.h:.2f}" '
            f'fill="{s.fill}"{_attrs(s)}/>'
        )
    if s.kind == "line":
        return (
            f'<line x1="{s.x:.2f}" y1="{s.y:.2f}" x2="{s.w:.2f}" y2="{s.h:.2f}" stroke="{s.fill}"/>'
        )
    weight = ' font-weight="700"' if s.bold else ""
    return (
        f'<text x="{s.x:.2f}" y="{s.y:.2f}" font-size="{s.size}" fill="{s.fill}" '
        f'text-anchor="{s.anchor}"{weight}{_attrs(s)}>{escape(s.text)}</text>'
    )


# -- PNG and PDF (Pillow) -------------------------------------------------------------------

A4 = (1240, 1754)  # 150 dpi
_MARGIN = 70
_ANCHORS = {"start": "ls", "middle": "ms", "end": "rs"}


@lru_cache(maxsize=32)
def _font(size: int, bold: bool) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(font_path(bold=bold)), size)


def draw_chart(
    draw: ImageDraw.ImageDraw, chart: Chart, left: float, top: float, scale: float
) -> float:
    """Draw ``chart`` with its top-left at (left, top); returns the y below it."""
    for s in chart.shapes:
        x, y = left + s.x * scale, top + s.y * scale
        if s.kind == "rect":
            if s.h > 0 and s.w > 0:
                draw.rectangle((x, y, x + s.w * scale, y + s.h * scale), fill=s.fill)
        elif s.kind == "line":
            draw.line((x, y, left + s.w * scale, top + s.h * scale), fill=s.fill, width=1)
        else:
            font = _font(max(8, round(s.size * scale)), s.bold)
            draw.text((x, y), s.text, fill=s.fill, font=font, anchor=_ANCHORS[s.anchor])
    return top + chart.height * scale


def report_file(data: dict[str, Any], t: Translate, kind: Literal["png", "pdf"]) -> bytes:
    """The report on one A4 page (150 dpi) as PNG, or that page as a PDF."""
    page = Image.new("RGB", A4, "white")
    draw = ImageDraw.Draw(page)
    y = _header(draw, data, t)
    scale = (A4[0] - 2 * _MARGIN) / WIDTH
    y = draw_chart(draw, timeline_chart(data, t), _MARGIN, y + 10, scale)
    y = draw_chart(draw, products_chart(data, t), _MARGIN, y + 30, scale)
    y = _lines(draw, y + 30, t("report.buyers"), _buyer_lines(data, t))
    y = _lines(draw, y + 20, t("report.decisions"), _decision_lines(data, t))
    _lines(draw, y + 20, t("report.questions"), _question_lines(data), room=A4[1] - _MARGIN)
    out = io.BytesIO()
    if kind == "pdf":
        page.save(out, format="PDF", resolution=150.0)
    else:
        page.save(out, format="PNG", optimize=True)
    return out.getvalue()


def summary(data: dict[str, Any], t: Translate) -> list[tuple[str, str]]:
    """The headline numbers, label and value, as the page shows them."""
    return [
        (t("report.revenue"), format_vnd(data["revenue"])),
        (t("report.orders"), str(data["orders"])),
        (t("report.cancels"), str(data["cancels"])),
        (t("report.comments"), str(data["comments"])),
        (t("report.questions"), str(data["questions"])),
        (t("report.commenters_ordered"), f"{data['commenters_ordered']}/{data['commenters']}"),
    ]


def _header(draw: ImageDraw.ImageDraw, data: dict[str, Any], t: Translate) -> float:
    session = data["session"]
    title = t("report.title")
    draw.text((_MARGIN, _MARGIN), title, fill=INK, font=_font(40, True), anchor="lt")
    sub = f"{t('report.session', id=session['id'])} · {session['title']} · {_span(session)}"
    draw.text(
        (_MARGIN, _MARGIN + 56),
        _clip(sub, 90),
        fill=THEME["muted"],
        font=_font(20, False),
        anchor="lt",
    )
    y = _MARGIN + 100
    cell = (A4[0] - 2 * _MARGIN) / 6
    for index, (label, value) in enumerate(summary(data, t)):
        x = _MARGIN + index * cell
        draw.text((x, y), label, fill=THEME["muted"], font=_font(17, False), anchor="lt")
        draw.text((x, y + 26), value, fill=INK, font=_font(26, True), anchor="lt")
    return y + 70


def _span(session: dict[str, Any]) -> str:
    start = _local(session["started_at"])
    end = _local(session["stopped_at"]) if session.get("stopped_at") else "…"
    return f"{start:%d/%m/%Y %H:%M} – {end if isinstance(end, str) else f'{end:%H:%M}'}"


def _local(value: str) -> datetime:
    return parse_time(value).astimezone()


def _buyer_lines(data: dict[str, Any], t: Translate) -> list[str]:
    buyers = data["buyers"]
    return [
        f"{t('report.new_buyers')}: {buyers['new']}   ·   "
        f"{t('report.returning_buyers')}: {buyers['returning']}"
    ]


def _decision_lines(data: dict[str, Any], t: Translate) -> list[str]:
    counts = data["decisions"]["counts"]
    return [
        "   ·   ".join(
            f"{t('report.decision.' + k)}: {counts.get(k, 0)}"
            for k in ("confirm", "edit", "reject")
        )
    ]


def _question_lines(data: dict[str, Any]) -> list[str]:
    return [f"{_local(q['t']):%H:%M}  {q['nickname']}: {q['text']}" for q in data["questions_list"]]


def _lines(
    draw: ImageDraw.ImageDraw, y: float, title: str, lines: Sequence[str], room: float = A4[1]
) -> float:
    draw.text((_MARGIN, y), title, fill=INK, font=_font(22, True), anchor="lt")
    y += 34
    font = _font(18, False)
    for line in lines:
        if y + 26 > room:
            draw.text((_MARGIN, y), "…", fill=INK, font=font, anchor="lt")
            return y + 26
        draw.text((_MARGIN, y), _clip(line, 110), fill=INK, font=font, anchor="lt")
        y += 26
    return y
