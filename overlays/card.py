"""The product card, drawn with Pillow for burning into clips.

It follows the live overlay's card (same ``THEME`` palette, same font, same
parts: image, bold name, sale price in red with the old price struck through,
OCOP stars, a stock pill), so a reposted clip looks like the show it came from.
Drawing happens at 2x and is scaled down once: Pillow has no anti-aliased
rounded rectangles or polygons, and supersampling is the cheap way to get them.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

from assets import font_path
from chotdon.money import format_price, format_vnd, price_now
from overlays.theme import THEME

__all__ = ["fit_lines", "render_card"]

_SS = 2  # supersampling factor
_ELLIPSIS = "…"


@lru_cache(maxsize=32)
def _font(size: int, bold: bool) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(font_path(bold=bold)), size)


def _text_width(text: str, font: ImageFont.FreeTypeFont) -> float:
    return float(font.getlength(text))


def _ellipsize(text: str, font: ImageFont.FreeTypeFont, max_width: float) -> str:
    if _text_width(text, font) <= max_width:
        return text
    while text and _text_width(text.rstrip() + _ELLIPSIS, font) > max_width:
        text = text[:-1]
    return text.rstrip() + _ELLIPSIS


def fit_lines(
    text: str, font: ImageFont.FreeTypeFont, max_width: float, max_lines: int = 2
) -> list[str]:
    """Wrap ``text`` on spaces into at most ``max_lines`` lines no wider than
    ``max_width``; the last line ends with an ellipsis when text was cut."""
    words = text.split()
    lines: list[str] = []
    current = ""
    for index, word in enumerate(words):
        candidate = f"{current} {word}".strip()
        if not current or _text_width(candidate, font) <= max_width:
            current = candidate
            continue
        if len(lines) == max_lines - 1:
            # No line left: keep the overflow on this one so the ellipsis shows the cut.
            current = " ".join([current, *words[index:]])
            break
        lines.append(current)
        current = word
    if current:
        lines.append(current)
    return [_ellipsize(line, font, max_width) for line in lines]


def _hex(colour: str) -> tuple[int, int, int, int]:
    value = colour.lstrip("#")
    return (int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16), 255)


def _star(draw: ImageDraw.ImageDraw, cx: float, cy: float, r: float, fill: tuple) -> None:
    # Drawn, not typed: Noto Sans has no star glyph.
    points = []
    for i in range(10):
        radius = r if i % 2 == 0 else r * 0.45
        angle = -math.pi / 2 + i * math.pi / 5
        points.append((cx + radius * math.cos(angle), cy + radius * math.sin(angle)))
    draw.polygon(points, fill=fill)


def _paste_image(card: Image.Image, image: Image.Image | Path | str, box: tuple) -> None:
    x, y, size = box
    picture = image if isinstance(image, Image.Image) else Image.open(image)
    picture = picture.convert("RGBA")
    side = min(picture.size)
    left, top = (picture.width - side) // 2, (picture.height - side) // 2
    picture = picture.crop((left, top, left + side, top + side)).resize((size, size))
    mask = Image.new("L", (size, size), 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, size - 1, size - 1), radius=size // 8, fill=255)
    card.paste(picture, (x, y), mask)


def render_card(
    name: str,
    price: int,
    unit: str | None,
    *,
    sale_price: int | None = None,
    ocop_stars: int | None = None,
    stock: int | None = None,
    image: Image.Image | Path | str | None = None,
    width: int = 900,
) -> Image.Image:
    """The product card as an RGBA image ``width`` pixels wide (transparent
    around the rounded card and its soft shadow)."""
    s = _SS
    w = width * s
    pad = 28 * s
    shadow = 14 * s
    image_size = 200 * s if image is not None else 0
    text_x = pad + (image_size + pad if image_size else 0)
    text_w = w - 2 * shadow - text_x - pad
    name_font = _font(46 * s, True)
    big_font = _font(60 * s, True)
    old_font = _font(34 * s, False)
    pill_font = _font(30 * s, True)

    lines = fit_lines(name, name_font, text_w, max_lines=2)
    line_h = int(name_font.size * 1.25)
    shown_price = price_now(price, sale_price)
    price_text = format_price(shown_price, unit)
    big_price_font = big_font
    if _text_width(price_text, big_font) > text_w:
        big_price_font = _font(int(60 * s * text_w / _text_width(price_text, big_font)), True)
    price_h = int(big_price_font.size * 1.3)
    extras_h = 48 * s if (ocop_stars or stock is not None) else 0
    content_h = line_h * len(lines) + price_h + extras_h
    inner_h = max(content_h, image_size)
    h = inner_h + 2 * pad + 2 * shadow

    canvas = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    shade = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    card_box = (shadow, shadow, w - shadow, h - shadow)
    ImageDraw.Draw(shade).rounded_rectangle(
        (card_box[0], card_box[1] + 6 * s, card_box[2], card_box[3] + 6 * s),
        radius=32 * s,
        fill=(0, 0, 0, 90),
    )
    canvas.alpha_composite(shade.filter(ImageFilter.GaussianBlur(8 * s)))
    draw = ImageDraw.Draw(canvas)
    draw.rounded_rectangle(card_box, radius=32 * s, fill=_hex(THEME["card_bg"]))

    top = shadow + pad
    if image is not None:
        _paste_image(canvas, image, (shadow + pad, top + (inner_h - image_size) // 2, image_size))
    x0 = shadow + text_x
    y = top + (inner_h - content_h) // 2
    for line in lines:
        draw.text((x0, y), line, font=name_font, fill=_hex(THEME["card_fg"]))
        y += line_h
    draw.text((x0, y), price_text, font=big_price_font, fill=_hex(THEME["price"]))
    if shown_price != price:
        old = format_vnd(price)  # the new price already carries the unit
        ox = x0 + _text_width(price_text, big_price_font) + 18 * s
        if ox + _text_width(old, old_font) <= x0 + text_w:
            oy = y + (big_price_font.size - old_font.size) * 0.8
            draw.text((ox, oy), old, font=old_font, fill=_hex(THEME["muted"]))
            mid = oy + old_font.size * 0.62
            ow = _text_width(old, old_font)
            draw.line((ox, mid, ox + ow, mid), fill=_hex(THEME["muted"]), width=3 * s)
    y += price_h
    _draw_extras(draw, x0, y, ocop_stars, stock, pill_font)
    return canvas.resize((width, h // s), Image.Resampling.LANCZOS)


def _draw_extras(
    draw: ImageDraw.ImageDraw,
    x: float,
    y: float,
    ocop_stars: int | None,
    stock: int | None,
    font: ImageFont.FreeTypeFont,
) -> None:
    s = _SS
    stars = max(0, min(ocop_stars or 0, 5))
    for i in range(stars):
        _star(draw, x + 20 * s + i * 44 * s, y + 22 * s, 20 * s, _hex(THEME["star"]))
    if stars:
        x += stars * 44 * s + 24 * s
    if stock is not None:
        label = f"Còn {stock}" if stock > 0 else "Hết hàng"
        colour = THEME["stock"] if stock > 0 else THEME["muted"]
        tw = _text_width(label, font)
        draw.rounded_rectangle(
            (x, y, x + tw + 36 * s, y + 44 * s), radius=22 * s, fill=_hex(colour)
        )
        draw.text((x + 18 * s, y + 2 * s), label, font=font, fill=_hex(THEME["accent_fg"]))
