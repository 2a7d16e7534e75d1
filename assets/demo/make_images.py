"""Draw the demo catalog's product pictures and the no-image placeholder with Pillow.

The demo has to ship pictures we may redistribute, so the project draws its own
instead of using photos: flat illustrations built from polygons, ellipses and
gradients. Shapes are drawn at twice the final size and shrunk with a Lanczos
filter, which gives smooth edges without an antialiasing renderer. The result is
reduced to an adaptive palette without dithering, so each PNG stays small and the
flat style survives. Every random choice comes from a ``random.Random`` seeded
with the picture's name, so a rerun writes byte-identical files.

Run ``python -m assets.demo.make_images [OUT_DIR]`` to redraw them; without
``OUT_DIR`` the files land where the demo catalog expects them.
"""

from __future__ import annotations

import argparse
import logging
import math
import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFilter

__all__ = ["DEMO_DIR", "DRAWINGS", "PLACEHOLDER", "SIZE", "main", "render", "write_all"]

log = logging.getLogger(__name__)

SIZE = 512
_SCALE = 2  # supersampling factor: drawn at 1024 px, saved at 512 px
_FULL = SIZE * _SCALE
_COLORS = 128  # palette size: enough for smooth gradients, small enough for tiny PNGs

# Paths come from this file, not from ``assets``, so the script also runs by path.
DEMO_DIR = Path(__file__).resolve().parent
PLACEHOLDER = DEMO_DIR.parent / "placeholder.png"

Point = tuple[float, float]
Box = tuple[float, float, float, float]
Mask = Image.Image
Width = Callable[[float], float]


# --- geometry (all in 512-pixel coordinates) ---------------------------------


def _scaled(points: Iterable[Point]) -> list[Point]:
    return [(x * _SCALE, y * _SCALE) for x, y in points]


def _rotate(x: float, y: float, angle: float) -> Point:
    a = math.radians(angle)
    return (x * math.cos(a) - y * math.sin(a), x * math.sin(a) + y * math.cos(a))


def _oval(cx: float, cy: float, rx: float, ry: float, angle: float = 0.0) -> list[Point]:
    """An ellipse as a polygon, so it can be tilted."""
    steps = 36
    points = []
    for i in range(steps):
        t = 2 * math.pi * i / steps
        x, y = _rotate(rx * math.cos(t), ry * math.sin(t), angle)
        points.append((cx + x, cy + y))
    return points


def _curve(p0: Point, p1: Point, bend: float = 0.0, steps: int = 24) -> list[Point]:
    """Points from p0 to p1 bowed sideways by ``bend`` pixels at the middle."""
    (x0, y0), (x1, y1) = p0, p1
    length = math.hypot(x1 - x0, y1 - y0) or 1.0
    nx, ny = -(y1 - y0) / length, (x1 - x0) / length
    points = []
    for i in range(steps + 1):
        t = i / steps
        off = bend * math.sin(math.pi * t)
        points.append((x0 + (x1 - x0) * t + nx * off, y0 + (y1 - y0) * t + ny * off))
    return points


def _ribbon(p0: Point, p1: Point, half_width: Width, bend: float = 0.0) -> list[Point]:
    """The outline of a band along a curve whose half width varies with t in [0, 1]."""
    centre = _curve(p0, p1, bend)
    last = len(centre) - 1
    left, right = [], []
    for i, (cx, cy) in enumerate(centre):
        (ax, ay), (bx, by) = centre[max(i - 1, 0)], centre[min(i + 1, last)]
        length = math.hypot(bx - ax, by - ay) or 1.0
        nx, ny = -(by - ay) / length, (bx - ax) / length
        w = half_width(i / last)
        left.append((cx + nx * w, cy + ny * w))
        right.append((cx - nx * w, cy - ny * w))
    return left + right[::-1]


def _leaf_width(width: float) -> Width:
    return lambda t: width / 2 * math.sin(math.pi * t) ** 0.75


def _teardrop(cx: float, cy: float, r: float, angle: float) -> list[Point]:
    """A chestnut outline: round bottom, pointed top, tilted by ``angle`` degrees."""
    points = []
    for i in range(48):
        t = 2 * math.pi * i / 48
        x = 1.2 * r * math.sin(t) * abs(math.sin(t / 2)) ** 0.5
        px, py = _rotate(x, -r * math.cos(t), angle)
        points.append((cx + px, cy + py))
    return points


def _hexagon(cx: float, cy: float, r: float) -> list[Point]:
    return [
        (cx + r * math.cos(math.pi / 3 * i), cy + r * math.sin(math.pi / 3 * i)) for i in range(6)
    ]


# --- masks and the canvas ------------------------------------------------------


def both(a: Mask, b: Mask) -> Mask:
    """Where both masks cover."""
    return ImageChops.multiply(a, b)


def either(*masks: Mask) -> Mask:
    """Where any mask covers."""
    out = masks[0]
    for mask in masks[1:]:
        out = ImageChops.lighter(out, mask)
    return out


def minus(a: Mask, b: Mask) -> Mask:
    """Where ``a`` covers and ``b`` does not."""
    return ImageChops.subtract(a, b)


def _gradient(size: tuple[int, int], top: str, bottom: str) -> Image.Image:
    if top == bottom:
        return Image.new("RGB", size, top)
    ramp = Image.linear_gradient("L").resize(size)
    return Image.composite(Image.new("RGB", size, bottom), Image.new("RGB", size, top), ramp)


class Canvas:
    """A supersampled RGB surface; every method takes 512-pixel coordinates."""

    def __init__(self, top: str, bottom: str) -> None:
        self.image = _gradient((_FULL, _FULL), top, bottom)

    def _blank(self) -> tuple[Mask, ImageDraw.ImageDraw]:
        mask = Image.new("L", (_FULL, _FULL), 0)
        return mask, ImageDraw.Draw(mask)

    def ellipse(self, box: Box) -> Mask:
        mask, draw = self._blank()
        draw.ellipse([v * _SCALE for v in box], fill=255)
        return mask

    def rounded(self, box: Box, radius: float) -> Mask:
        mask, draw = self._blank()
        draw.rounded_rectangle([v * _SCALE for v in box], radius=radius * _SCALE, fill=255)
        return mask

    def polygons(self, *shapes: Sequence[Point], outline: float = 0) -> Mask:
        """Filled polygons, or only their outlines when ``outline`` is a width."""
        mask, draw = self._blank()
        for shape in shapes:
            if outline:
                draw.polygon(_scaled(shape), outline=255, width=round(outline * _SCALE))
            else:
                draw.polygon(_scaled(shape), fill=255)
        return mask

    def strokes(self, *lines: Sequence[Point], width: float) -> Mask:
        mask, draw = self._blank()
        for line in lines:
            draw.line(_scaled(line), fill=255, width=max(1, round(width * _SCALE)), joint="curve")
        return mask

    def arcs(self, *boxes: Box, width: float, start: float = 0, end: float = 360) -> Mask:
        mask, draw = self._blank()
        for box in boxes:
            draw.arc([v * _SCALE for v in box], start, end, fill=255, width=round(width * _SCALE))
        return mask

    def paint(self, mask: Mask, top: str, bottom: str | None = None, alpha: int = 255) -> None:
        """Fill the mask with a colour, or a top-to-bottom gradient over its extent."""
        if alpha < 255:
            mask = mask.point(lambda v: v * alpha // 255)
        bbox = mask.getbbox()
        if bbox is None:
            return
        fill = _gradient((bbox[2] - bbox[0], bbox[3] - bbox[1]), top, bottom or top)
        self.image.paste(fill, bbox[:2], mask.crop(bbox))

    def shade(self, mask: Mask, dx: float, dy: float, color: str, alpha: int = 90) -> None:
        """Tint the soft rim of a shape on the side (dx, dy) points to: cheap roundness."""
        bbox = mask.getbbox()
        if bbox is None:
            return
        pad = round((abs(dx) + abs(dy)) * _SCALE) + 4
        box = (bbox[0] - pad, bbox[1] - pad, bbox[2] + pad, bbox[3] + pad)
        region = mask.crop(box)
        shifted = Image.new("L", region.size, 0)
        shifted.paste(region, (-round(dx * _SCALE), -round(dy * _SCALE)))
        soft = minus(region, shifted).filter(ImageFilter.GaussianBlur(pad / 2))
        rim = Image.new("L", mask.size, 0)
        rim.paste(both(soft, region), box[:2])
        self.paint(rim, color, alpha=alpha)

    def shadow(self, box: Box, alpha: int = 60, blur: float = 10) -> None:
        soft = self.ellipse(box).filter(ImageFilter.GaussianBlur(blur * _SCALE))
        self.paint(soft, "#3b2a1a", alpha=alpha)

    def glow(self, box: Box, color: str = "#ffffff", alpha: int = 140) -> None:
        """A large blurred disc behind the subject, the soft spotlight of every picture."""
        soft = self.ellipse(box).filter(ImageFilter.GaussianBlur(40 * _SCALE))
        self.paint(soft, color, alpha=alpha)

    def finish(self) -> Image.Image:
        small = self.image.resize((SIZE, SIZE), Image.Resampling.LANCZOS)
        return small.quantize(_COLORS, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)


def _leaf(
    c: Canvas, base: Point, tip: Point, width: float, bend: float, colors: Sequence[str]
) -> None:
    """A pointed leaf with a lighter midrib; colors = (light, dark, rib)."""
    blade = c.polygons(_ribbon(base, tip, _leaf_width(width), bend))
    c.paint(blade, colors[0], colors[1])
    c.shade(blade, width * 0.12, width * 0.1, "#1c3a12", 70)
    c.paint(both(blade, c.strokes(_curve(base, tip, bend), width=1.6)), colors[2], alpha=180)


# --- A1 roasted chestnuts in a bamboo basket ------------------------------------

_BASKET_RIM: Box = (78, 262, 434, 330)


def _chestnut(c: Canvas, cx: float, cy: float, r: float, angle: float, cracked: bool) -> None:
    body = c.polygons(_teardrop(cx, cy, r, angle))
    c.paint(body, "#a0522d", "#4e2210")
    bx, by = _rotate(0, r * 0.95, angle)
    c.paint(both(body, c.polygons(_oval(cx + bx, cy + by, r * 1.2, r * 0.5, angle))), "#d8b58a")
    c.shade(body, r * 0.2, r * 0.2, "#2a1208", 130)
    hx, hy = _rotate(-r * 0.35, -r * 0.2, angle)
    c.paint(
        both(body, c.polygons(_oval(cx + hx, cy + hy, r * 0.12, r * 0.28, angle + 20))),
        "#ffffff",
        alpha=70,
    )
    tx, ty = _rotate(0, -r * 1.0, angle)
    ex, ey = _rotate(0, -r * 1.18, angle)
    c.paint(c.strokes([(cx + tx, cy + ty), (cx + ex, cy + ey)], width=3), "#e0c9a0")
    if cracked:
        slit = [
            _rotate(x * r, y * r, angle)
            for x, y in (
                (-0.55, -0.05),
                (-0.2, -0.25),
                (0.1, -0.1),
                (0.5, -0.3),
                (0.45, 0.05),
                (0.1, 0.12),
                (-0.25, 0.05),
            )
        ]
        c.paint(c.polygons([(cx + x, cy + y) for x, y in slit]), "#f6cf5a", "#e0a82e")


def _basket_body(c: Canvas) -> Mask:
    bowl = c.ellipse((78, 146, 434, 446))
    return both(bowl, c.polygons([(0, 296), (SIZE, 296), (SIZE, SIZE), (0, SIZE)]))


def _basket_weave(c: Canvas, body: Mask) -> None:
    bands = []
    for k in range(1, 7):
        y = 296 + k * 22
        hw = 178 * math.sqrt(max(0.0, 1 - ((y - 296) / 150) ** 2))
        ry = 34 * hw / 178
        bands.append((256 - hw, y - ry, 256 + hw, y + ry))
    ribs = []
    for i in range(-8, 9):
        x = 256 + i * 20
        top = 296 + 34 * math.sqrt(max(0.0, 1 - ((x - 256) / 178) ** 2))
        ribs.append([(x, top), (256 + (x - 256) * 0.5, 446)])
    c.paint(both(body, c.arcs(*bands, width=5, start=0, end=180)), "#7a4f22", alpha=170)
    c.paint(both(body, c.strokes(*ribs, width=3)), "#8a5a28", alpha=130)


def _a1(rng: random.Random) -> Canvas:
    c = Canvas("#fdf3e1", "#f3d9b1")
    c.glow((40, 30, 472, 450), "#fffaf0")
    c.shadow((70, 410, 450, 472))
    c.paint(c.ellipse(_BASKET_RIM), "#4a2e14", "#6e4a24")
    spots = [(200, 226), (258, 218), (314, 228), (150, 258), (206, 262), (264, 256)]
    spots += [
        (322, 262),
        (376, 258),
        (118, 290),
        (176, 296),
        (236, 298),
        (296, 296),
        (354, 294),
        (402, 290),
    ]
    cracked = {2, 6, 10}
    for i, (x, y) in enumerate(spots):
        angle = rng.uniform(-28, 28)
        _chestnut(
            c,
            x + rng.uniform(-4, 4),
            y + rng.uniform(-3, 3),
            rng.uniform(31, 37),
            angle,
            i in cracked,
        )
    body = _basket_body(c)
    c.paint(body, "#dcae62", "#a8742f")
    _basket_weave(c, body)
    c.shade(body, 14, 6, "#5a3a14", 110)
    c.paint(c.arcs(_BASKET_RIM, width=13, start=0, end=180), "#e8c27e", "#b7853d")
    for x, y, a in ((96, 452, -20), (430, 446, 30)):
        _chestnut(c, x, y, 30, a, False)
    return c


# --- A2 dong vermicelli in a paper wrap -----------------------------------------


def _skein(c: Canvas, rng: random.Random, cx: float, cy: float, half: float, tall: float) -> Mask:
    """A bundle of glassy strands: long thin loops that turn around at both ends."""
    body = c.ellipse((cx - half, cy - tall, cx + half, cy + tall))
    c.paint(body, "#ebe6de", "#c4bbb0", alpha=150)
    groups: list[list[Box]] = [[], [], []]
    for _ in range(84):
        ry = rng.uniform(0.1, 1.0) * tall
        y = cy + rng.uniform(-0.12, 0.12) * tall
        x0, x1 = cx - half + rng.uniform(-4, 12), cx + half - rng.uniform(-4, 12)
        groups[rng.randrange(3)].append((x0, y - ry, x1, y + ry))
    for boxes, color, alpha in zip(
        groups, ("#faf7f2", "#a89d90", "#d6cec3"), (200, 150, 190), strict=True
    ):
        c.paint(c.arcs(*boxes, width=1.3), color, alpha=alpha)
    c.shade(body, 0, 12, "#6d6358", 90)
    return body


def _paper_band(c: Canvas, cx: float, cy: float, half: float, tall: float) -> None:
    """Kraft paper wrapped round the middle, its ends following the bundle's curve."""
    hull = c.ellipse((cx - half - 6, cy - tall - 8, cx + half + 6, cy + tall + 8))
    band = both(hull, c.polygons([(cx - 48, 0), (cx + 48, 0), (cx + 48, SIZE), (cx - 48, SIZE)]))
    c.paint(band, "#dcb57c", "#b88a4e")
    c.shade(band, 10, 0, "#7a5428", 110)
    c.shade(band, -10, 0, "#fff0d0", 90)
    label = c.ellipse((cx - 30, cy - 30, cx + 30, cy + 30))
    c.paint(label, "#c0392b", "#9e2b20")
    _leaf(c, (cx - 14, cy + 16), (cx + 14, cy - 18), 22, 4, ("#7fd068", "#3f9a3a", "#e9ffd9"))


def _a2(rng: random.Random) -> Canvas:
    c = Canvas("#eef5f1", "#d0e2d6")
    c.glow((30, 40, 482, 460), "#ffffff")
    c.shadow((60, 380, 452, 462))
    sheet = c.polygons([(50, 330), (230, 200), (468, 300), (290, 452)])
    c.paint(sheet, "#e6c999", "#c9a066")
    c.paint(c.strokes([(140, 265), (380, 375)], width=2), "#b08552", alpha=140)
    c.shade(sheet, 0, 8, "#8a6436", 80)
    _skein(c, rng, 276, 232, 150, 50)
    _paper_band(c, 276, 232, 150, 50)
    _skein(c, rng, 236, 318, 168, 58)
    _paper_band(c, 236, 318, 168, 58)
    for x in (108, 364):
        tie = _curve((x, 318 - 44), (x + 4, 318 + 44), 5)
        c.paint(c.strokes(tie, width=4), "#d23a2c")
    return c


# --- A3 sticky rice: a sack full of grains ---------------------------------------


def _grains(rng: random.Random, n: int, area: Box, size: float = 1.0) -> list[list[Point]]:
    x0, y0, x1, y1 = area
    return [
        _oval(rng.uniform(x0, x1), rng.uniform(y0, y1), 7 * size, 3.2 * size, rng.uniform(0, 180))
        for _ in range(n)
    ]


def _sack(c: Canvas) -> None:
    body = c.polygons([(132, 250), (380, 250), (402, 400), (376, 448), (136, 448), (110, 400)])
    body = either(body, c.rounded((110, 330, 402, 450), 40))
    c.paint(body, "#e3cc9f", "#b99a66")
    hatch = [[(x, 240), (x + 30, 460)] for x in range(90, 420, 9)]
    hatch += [[(90, y), (420, y - 6)] for y in range(250, 460, 9)]
    c.paint(both(body, c.strokes(*hatch, width=1.2)), "#9c7f4e", alpha=70)
    c.shade(body, 16, 8, "#6b5230", 110)
    c.shade(body, -10, 0, "#fff3d8", 70)
    label = c.rounded((196, 318, 316, 398), 12)
    c.paint(label, "#c0392b", "#a12c21")
    for i in range(5):
        px, py = _rotate(0, -14, i * 72)
        c.paint(c.ellipse((256 + px - 10, 358 + py - 10, 256 + px + 10, 358 + py + 10)), "#f7c948")
    c.paint(c.ellipse((248, 350, 264, 366)), "#e07b1a")


def _rice_heap(c: Canvas, rng: random.Random) -> None:
    c.paint(c.ellipse((120, 226, 392, 276)), "#8a6f45")
    dome = either(c.ellipse((142, 168, 370, 290)), c.ellipse((130, 228, 382, 262)))
    dome = both(dome, c.polygons([(0, 0), (SIZE, 0), (SIZE, 258), (0, 258)]))
    c.paint(dome, "#fffefa", "#e4d8bb")
    grains = _grains(rng, 170, (140, 166, 372, 262))
    c.paint(both(dome, c.polygons(*grains[::2])), "#f1e6cc")
    c.paint(both(dome, c.polygons(*grains, outline=1.2)), "#a8966c", alpha=210)
    c.shade(dome, 10, 6, "#a8946a", 120)
    c.paint(c.arcs((142, 168, 370, 290), width=2, start=190, end=350), "#b9a77c")
    rim = c.arcs((112, 224, 400, 282), width=16)
    c.paint(rim, "#efdcb3", "#cdb07a")
    c.shade(rim, 0, 6, "#8f7448", 80)


def _rice_stalk(c: Canvas, rng: random.Random) -> None:
    stem = _curve((96, 456), (150, 150), -30)
    _leaf(c, (100, 440), (40, 250), 26, 20, ("#b9c76a", "#7f9a3a", "#e8f0b0"))
    c.paint(c.strokes(stem, width=4), "#b89a44")
    grains = []
    for i, (x, y) in enumerate(stem[8:]):
        side = -1 if i % 2 else 1
        grains.append(_oval(x + side * 10, y + 4, 9, 5, 60 * side + rng.uniform(-10, 10)))
    c.paint(c.polygons(*grains), "#f2c94c", "#d69e2e")
    c.paint(c.polygons(*grains, outline=1), "#a8741c", alpha=160)


def _a3(rng: random.Random) -> Canvas:
    c = Canvas("#fdf7e0", "#f1dfad")
    c.glow((40, 40, 472, 460), "#fffdf4")
    c.shadow((80, 420, 460, 476))
    _sack(c)
    _rice_heap(c, rng)
    _rice_stalk(c, rng)
    loose = _grains(rng, 22, (330, 446, 470, 478), 1.1)
    c.paint(c.polygons(*loose), "#fffdf7")
    c.paint(c.polygons(*loose, outline=1), "#b9a986")
    return c


# --- B1 Shan tuyet tea: a tea box and fresh leaves --------------------------------

_TEA_LEAF = ("#7cc95e", "#3f8f36", "#d8f5c4")
_TEA_BUD = ("#f1f6ea", "#b8cfae", "#ffffff")


def _tea_box(c: Canvas) -> None:
    front = c.polygons([(146, 196), (330, 196), (330, 432), (146, 432)])
    side = c.polygons([(330, 196), (392, 160), (392, 392), (330, 432)])
    top = c.polygons([(146, 196), (208, 160), (392, 160), (330, 196)])
    c.paint(front, "#2f7a3e", "#1d5229")
    c.paint(side, "#1c4a25", "#123419")
    c.paint(top, "#4b9a58", "#3a8548")
    c.paint(c.polygons([(146, 196), (330, 196), (330, 220), (146, 220)]), "#276a35")
    c.paint(c.polygons([(330, 196), (392, 160), (392, 184), (330, 220)]), "#163d1e")
    frame = minus(c.rounded((158, 232, 318, 420), 6), c.rounded((163, 237, 313, 415), 4))
    c.paint(frame, "#e6c26a")
    label = c.ellipse((172, 250, 304, 400))
    c.paint(label, "#fbf5e2", "#efe2bd")
    hills = c.polygons(
        [(172, 372), (214, 318), (244, 350), (272, 306), (304, 372), (304, 400), (172, 400)]
    )
    c.paint(both(label, hills), "#9ccc7e", "#5f9e4a")
    c.paint(both(label, c.polygons([(272, 306), (262, 320), (282, 320)])), "#ffffff")
    _leaf(c, (238, 300), (222, 262), 22, 3, _TEA_LEAF)
    _leaf(c, (238, 300), (262, 266), 22, -3, _TEA_LEAF)


def _tea_sprig(c: Canvas, base: Point, flip: float) -> None:
    bx, by = base
    stem = _curve(base, (bx + 40 * flip, by - 106), 10 * flip)
    c.paint(c.strokes(stem, width=5), "#6b8e3a")
    _leaf(c, (bx + 10 * flip, by - 30), (bx - 70 * flip, by - 70), 50, 8 * flip, _TEA_LEAF)
    _leaf(c, (bx + 24 * flip, by - 70), (bx + 110 * flip, by - 96), 46, -8 * flip, _TEA_LEAF)
    _leaf(c, (bx + 40 * flip, by - 104), (bx + 20 * flip, by - 176), 24, 5 * flip, _TEA_BUD)
    _leaf(c, (bx + 40 * flip, by - 104), (bx + 74 * flip, by - 150), 26, -5 * flip, _TEA_LEAF)


def _b1(rng: random.Random) -> Canvas:
    c = Canvas("#eef7e8", "#cfe5c0")
    c.glow((40, 40, 472, 460), "#fbfff6")
    c.shadow((100, 400, 440, 470))
    _tea_box(c)
    _tea_sprig(c, (96, 470), 1)
    for _ in range(6):
        x, y = rng.uniform(300, 460), rng.uniform(432, 466)
        curl = _oval(x, y, rng.uniform(8, 12), rng.uniform(3, 4.5), rng.uniform(-30, 30))
        c.paint(c.polygons(curl), "#3b5a2a", "#24391a")
    return c


# --- B2 mint honey: a bottle with mint flowers -----------------------------------


def _bottle(c: Canvas) -> None:
    glass = either(
        c.rounded((176, 200, 336, 448), 40),
        c.polygons([(190, 214), (226, 164), (286, 164), (322, 214)]),
        c.rounded((226, 124, 286, 180), 8),
    )
    c.paint(glass, "#fff8ea", "#f1dfb8")
    honey = either(
        c.rounded((186, 216, 326, 438), 32),
        c.polygons([(198, 226), (232, 186), (280, 186), (314, 226)]),
    )
    c.paint(honey, "#f9c440", "#c2650a")
    c.shade(honey, 14, 4, "#8a3f05", 120)
    c.paint(c.rounded((222, 92, 290, 132), 10), "#d64531", "#9b2a1c")
    ridges = [[(x, 96), (x, 128)] for x in range(230, 286, 8)]
    c.paint(c.strokes(*ridges, width=2), "#7a1f14", alpha=120)
    c.paint(c.rounded((196, 226, 212, 420), 8), "#ffffff", alpha=120)
    c.paint(c.rounded((304, 240, 312, 300), 4), "#ffffff", alpha=90)
    label = c.rounded((192, 300, 320, 392), 12)
    c.paint(label, "#fffaf0", "#f3e6c8")
    c.paint(c.polygons(_hexagon(256, 346, 28)), "#f4b731", "#d98e04")
    c.paint(c.polygons(_hexagon(256, 346, 16)), "#fde39a")


def _mint(c: Canvas, rng: random.Random, base: Point, tip: Point, bend: float) -> None:
    stem = _curve(base, tip, bend, steps=40)
    c.paint(c.strokes(stem, width=4), "#5f8f3e")
    for i in (10, 18):
        x, y = stem[i]
        for side in (-1, 1):
            _leaf(
                c, (x, y), (x + side * 34, y - 14), 18, 4 * side, ("#7fbf5a", "#4c8a32", "#d9f0c0")
            )
    florets: list[list[list[Point]]] = [[], [], []]
    for i in range(20, 41):
        x, y = stem[i]
        r = 11 - 6 * (i - 20) / 20
        florets[rng.randrange(3)].append(_oval(x + rng.uniform(-4, 4), y, r, r * 0.85))
    for group, color in zip(florets, ("#9b4fc8", "#7a35a8", "#c08ae0"), strict=True):
        if group:
            c.paint(c.polygons(*group), color)


def _honeycomb(c: Canvas) -> None:
    cells = [
        (100 + col * 26 + (13 if row % 2 else 0), 410 + row * 22)
        for row in range(3)
        for col in range(3)
    ]
    comb = c.polygons(*[_hexagon(x, y, 15) for x, y in cells])
    c.paint(comb, "#f6c343", "#d9930a")
    c.paint(c.polygons(*[_hexagon(x, y, 9.5) for x, y in cells]), "#e39a0c", "#c77a00")
    c.paint(c.polygons(*[_oval(x - 3, y - 3, 3, 2) for x, y in cells]), "#fff1c2", alpha=200)


def _b2(rng: random.Random) -> Canvas:
    c = Canvas("#f6f0fa", "#e0d3ec")
    c.glow((40, 40, 472, 460), "#ffffff")
    c.shadow((90, 420, 440, 476))
    _mint(c, rng, (372, 460), (404, 150), 18)
    _mint(c, rng, (352, 460), (452, 232), -20)
    _bottle(c)
    _mint(c, rng, (334, 462), (350, 268), 10)
    _honeycomb(c)
    return c


# --- B3 dried bamboo shoots on a bamboo tray --------------------------------------


def _tray(c: Canvas) -> None:
    c.paint(c.ellipse((46, 250, 466, 476)), "#b98545", "#8a5d28")
    inner = c.ellipse((64, 262, 448, 462))
    c.paint(inner, "#e2bd80", "#c99a56")
    rings = [(64 + k * 16, 262 + k * 8.5, 448 - k * 16, 462 - k * 8.5) for k in range(1, 12)]
    c.paint(both(inner, c.arcs(*rings, width=1.5)), "#a97a3c", alpha=110)
    spokes = [
        [(256, 362), (256 + 200 * math.cos(a / 8 * math.pi), 362 + 104 * math.sin(a / 8 * math.pi))]
        for a in range(16)
    ]
    c.paint(both(inner, c.strokes(*spokes, width=1.2)), "#a97a3c", alpha=80)


def _shoot_width(width: float) -> Width:
    """Flattened shoot: wide at the base, narrower at the tip, both ends rounded."""
    return lambda t: width / 2 * (1 - 0.4 * t) * (1 - (2 * t - 1) ** 10) ** 0.5


def _shoot(c: Canvas, rng: random.Random, base: Point, tip: Point, width: float) -> None:
    bend = rng.uniform(-8, 8)
    body = c.polygons(_ribbon(base, tip, _shoot_width(width), bend))
    c.paint(body, "#e3b564", "#a8702a")
    centre = _curve(base, tip, bend, steps=22)
    ladder = []
    for i in range(2, 21):
        (ax, ay), (bx, by) = centre[i - 1], centre[i + 1]
        length = math.hypot(bx - ax, by - ay) or 1.0
        nx, ny = -(by - ay) / length * width * 0.4, (bx - ax) / length * width * 0.4
        x, y = centre[i]
        ladder.append([(x - nx, y - ny), (x + rng.uniform(-3, 3), y + 2), (x + nx, y + ny)])
    c.paint(both(body, c.strokes(*ladder, width=1.6)), "#8a5418", alpha=110)
    fibres = [
        [(x, y + off) for x, y in centre]
        for off in (rng.uniform(-0.3, 0.3) * width for _ in range(5))
    ]
    c.paint(both(body, c.strokes(*fibres, width=1.2)), "#f7dc9c", alpha=120)
    c.shade(body, 3, 7, "#5a3208", 120)


def _b3(rng: random.Random) -> Canvas:
    c = Canvas("#fbf2e2", "#ecd6b2")
    c.glow((40, 30, 472, 440), "#fffaf0")
    c.shadow((40, 420, 472, 490))
    _tray(c)
    shoots = [
        ((120, 300), (372, 214), 64),
        ((96, 352), (404, 262), 72),
        ((136, 400), (420, 318), 70),
        ((112, 436), (392, 392), 62),
    ]
    for (bx, by), (tx, ty), width in shoots:
        jitter = rng.uniform(-6, 6)
        _shoot(c, rng, (bx + jitter, by), (tx, ty + jitter), width)
    return c


# --- B4 cam sanh: a green-skinned orange, whole and cut open ----------------------


def _whole_orange(c: Canvas, rng: random.Random) -> None:
    cx, cy, r = 196, 262, 132
    fruit = c.ellipse((cx - r, cy - r * 0.95, cx + r, cy + r * 0.95))
    c.paint(fruit, "#9ccc4a", "#4f8a22")
    c.paint(
        both(
            fruit,
            c.ellipse((cx, cy, cx + r * 1.4, cy + r * 1.2)).filter(ImageFilter.GaussianBlur(50)),
        ),
        "#f0a030",
        alpha=170,
    )
    dots = [_oval(cx + rng.uniform(-r, r), cy + rng.uniform(-r, r), 3.2, 2.6) for _ in range(260)]
    c.paint(both(fruit, c.polygons(*dots)), "#2f6014", alpha=90)
    lights = [_oval(cx + rng.uniform(-r, r), cy + rng.uniform(-r, r), 2.5, 2.0) for _ in range(160)]
    c.paint(both(fruit, c.polygons(*lights)), "#e8f7b0", alpha=80)
    c.shade(fruit, 18, 14, "#1f400c", 120)
    c.paint(both(fruit, c.polygons(_oval(cx - 56, cy - 64, 30, 18, -35))), "#ffffff", alpha=90)
    c.paint(c.ellipse((cx - 8, cy - r * 0.95 - 6, cx + 8, cy - r * 0.95 + 8)), "#6b5a2a")
    _leaf(c, (cx, cy - r * 0.95), (cx - 110, cy - 170), 56, 12, ("#4f9a3a", "#1f5e1c", "#a8dc8a"))
    _leaf(
        c, (cx + 2, cy - r * 0.95), (cx + 96, cy - 180), 50, -10, ("#4f9a3a", "#1f5e1c", "#a8dc8a")
    )


def _half_orange(c: Canvas, rng: random.Random) -> None:
    cx, cy, rx, ry = 334, 366, 110, 88
    side = either(
        c.ellipse((cx - rx, cy - ry + 22, cx + rx, cy + ry + 22)),
        c.polygons([(cx - rx, cy), (cx + rx, cy), (cx + rx, cy + 22), (cx - rx, cy + 22)]),
    )
    c.paint(side, "#6fa83a", "#3f7420")
    c.paint(c.ellipse((cx - rx, cy - ry, cx + rx, cy + ry)), "#5d9a2e")
    c.paint(c.ellipse((cx - rx + 7, cy - ry + 6, cx + rx - 7, cy + ry - 6)), "#fff4d8")
    flesh = c.ellipse((cx - rx + 16, cy - ry + 14, cx + rx - 16, cy + ry - 14))
    c.paint(flesh, "#ffa63a", "#ef6f12")
    walls = [
        [(cx, cy), (cx + rx * math.cos(a), cy + ry * math.sin(a))]
        for a in (2 * math.pi * k / 11 + 0.2 for k in range(11))
    ]
    c.paint(both(flesh, c.strokes(*walls, width=3.5)), "#fff1d0", alpha=230)
    sacs = []
    for k in range(11):
        a = 2 * math.pi * (k + 0.5) / 11 + 0.2
        for f in (0.45, 0.7):
            sacs.append(
                _oval(cx + rx * f * math.cos(a), cy + ry * f * math.sin(a), 7, 4, math.degrees(a))
            )
    c.paint(both(flesh, c.polygons(*sacs)), "#ffd089", alpha=160)
    c.paint(c.ellipse((cx - 9, cy - 7, cx + 9, cy + 7)), "#fff4d8")


def _b4(rng: random.Random) -> Canvas:
    c = Canvas("#fff6ea", "#fadcb8")
    c.glow((40, 40, 472, 460), "#fffdf7")
    c.shadow((50, 410, 470, 480))
    _whole_orange(c, rng)
    _half_orange(c, rng)
    return c


# --- B5 smoked buffalo meat hanging over the kitchen fire -------------------------


def _pole(c: Canvas) -> None:
    pole = c.rounded((40, 104, 472, 128), 12)
    c.paint(pole, "#d9b86a", "#8f6d2c")
    c.paint(
        both(pole, c.strokes(*[[(x, 100), (x, 132)] for x in (120, 230, 340, 440)], width=4)),
        "#6d5020",
    )


def _meat_strip(c: Canvas, rng: random.Random, x: float, top: float, length: float) -> None:
    c.paint(c.strokes([(x, 116), (x + 2, top + 10)], width=3), "#e8dcc0")
    wobble = [rng.uniform(-3, 3) for _ in range(25)]
    width = rng.uniform(44, 54)
    shape = _ribbon(
        (x, top),
        (x + rng.uniform(-16, 16), top + length),
        lambda t: width / 2 * (1 - 0.3 * t) + wobble[min(24, int(t * 24))],
        rng.uniform(-10, 10),
    )
    strip = c.polygons(shape)
    c.paint(strip, "#7a3320", "#3d170c")
    fibres = [
        [(x + off + rng.uniform(-6, 6) * t, top + length * t) for t in (0.05, 0.35, 0.65, 0.95)]
        for off in (rng.uniform(-18, 18) for _ in range(7))
    ]
    c.paint(both(strip, c.strokes(*fibres, width=1.6)), "#a8503a", alpha=130)
    c.shade(strip, -8, 0, "#c0603f", 110)
    c.shade(strip, 8, 0, "#1e0a04", 150)
    c.paint(c.ellipse((x - 5, top + 4, x + 7, top + 16)), "#e8dcc0")


def _chili(c: Canvas, base: Point, tip: Point, bend: float) -> None:
    pod = c.polygons(_ribbon(base, tip, lambda t: 11 * (1 - t) ** 0.6 + 1.5, bend))
    c.paint(pod, "#ef3b2c", "#a91a12")
    c.shade(pod, 0, 4, "#6e0d08", 100)
    bx, by = base
    c.paint(c.strokes([(bx, by), (bx - 10, by - 8)], width=5), "#3f7a28")


def _b5(rng: random.Random) -> Canvas:
    c = Canvas("#f7ede4", "#e2cdbb")
    c.glow((30, 40, 482, 460), "#fffaf4")
    c.shadow((60, 420, 460, 480), alpha=70)
    board = c.rounded((70, 388, 442, 452), 30)
    c.paint(board, "#c58b4f", "#8f5a2a")
    c.paint(
        both(board, c.strokes(*[[(80, y), (432, y + 4)] for y in (404, 420, 436)], width=1.5)),
        "#7a4a1e",
        alpha=120,
    )
    _pole(c)
    for i, x in enumerate((100, 178, 256, 334, 412)):
        _meat_strip(
            c,
            rng,
            x + rng.uniform(-6, 6),
            150 + rng.uniform(-6, 6),
            220 + (i % 2) * 24 + rng.uniform(-10, 10),
        )
    for x, y in ((116, 414), (210, 420)):
        piece = c.polygons(_ribbon((x, y), (x + 84, y - 8), lambda t: 13 + 3 * math.sin(t * 11), 5))
        c.paint(piece, "#8e3b25", "#4a1c0e")
        torn = [[(x + 4 + k * 9, y - 10), (x + 8 + k * 9, y + 8)] for k in range(9)]
        c.paint(both(piece, c.strokes(*torn, width=1.5)), "#c0603f", alpha=130)
        c.shade(piece, 0, 4, "#1e0a04", 120)
    _chili(c, (318, 404), (414, 428), -8)
    _chili(c, (336, 424), (430, 410), 10)
    return c


# --- placeholder: a neutral parcel with a leaf --------------------------------------


def _placeholder(rng: random.Random) -> Canvas:
    c = Canvas("#f3f3f0", "#e2e2dc")
    c.glow((60, 60, 452, 452), "#ffffff", alpha=120)
    c.shadow((110, 400, 420, 456), alpha=40)
    faces = (
        [(136, 206), (316, 206), (316, 420), (136, 420)],
        [(316, 206), (382, 168), (382, 380), (316, 420)],
        [(136, 206), (202, 168), (382, 168), (316, 206)],
    )
    for face, color in zip(faces, ("#ecebe6", "#dcdbd4", "#f6f5f1"), strict=True):
        c.paint(c.polygons(face), color)
    c.paint(c.polygons(*faces, outline=7), "#a3a29a")
    c.paint(c.strokes([(169, 187), (349, 187)], width=6), "#b8b7af")
    _leaf(c, (200, 372), (262, 262), 62, -14, ("#b9cdb0", "#8fa887", "#eef5ea"))
    return c


# --- registry and command line ---------------------------------------------------

DRAWINGS: dict[str, Callable[[random.Random], Canvas]] = {
    "a1": _a1,
    "a2": _a2,
    "a3": _a3,
    "b1": _b1,
    "b2": _b2,
    "b3": _b3,
    "b4": _b4,
    "b5": _b5,
    "placeholder": _placeholder,
}
"""Picture name (the PNG's stem) -> drawing function."""


def render(name: str) -> Image.Image:
    """Draw one picture as a 512x512 palette image; the same name gives the same pixels."""
    try:
        draw = DRAWINGS[name]
    except KeyError:
        raise KeyError(f"no drawing named {name!r}; known: {', '.join(DRAWINGS)}") from None
    return draw(random.Random(f"chotdon-{name}")).finish()


def _target(name: str, demo_dir: Path, placeholder: Path) -> Path:
    return placeholder if name == "placeholder" else demo_dir / f"{name}.png"


def write_all(demo_dir: Path = DEMO_DIR, placeholder: Path = PLACEHOLDER) -> Iterator[Path]:
    """Draw every picture and save it, yielding each path as it is written."""
    demo_dir.mkdir(parents=True, exist_ok=True)
    for name in DRAWINGS:
        path = _target(name, demo_dir, placeholder)
        path.parent.mkdir(parents=True, exist_ok=True)
        render(name).save(path, format="PNG", optimize=True)
        log.info("wrote %s", path)
        yield path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Draw the demo catalog's product pictures.")
    parser.add_argument("out_dir", nargs="?", type=Path, help="write everything here instead")
    args = parser.parse_args(argv)
    if args.out_dir is None:
        paths = write_all()
    else:
        paths = write_all(args.out_dir, args.out_dir / "placeholder.png")
    for path in paths:
        print(f"{path}  {path.stat().st_size // 1024} KB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
