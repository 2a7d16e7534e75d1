"""overlays.card: the product card burned into clips."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from assets import font_path
from overlays.card import fit_lines, render_card
from overlays.theme import THEME


def _rgb(hex_colour: str) -> np.ndarray:
    value = hex_colour.lstrip("#")
    return np.array([int(value[i : i + 2], 16) for i in (0, 2, 4)])


def _share_near(image: Image.Image, colour: str, tolerance: int = 40) -> float:
    pixels = np.asarray(image.convert("RGB")).astype(int)
    distance = np.abs(pixels - _rgb(colour)).sum(axis=2)
    return float((distance < tolerance).mean())


def test_card_is_rgba_of_requested_width_with_transparent_corners() -> None:
    card = render_card("Hạt dẻ Ngân Sơn", 180000, "kg", sale_price=150000, width=700)
    assert card.mode == "RGBA" and card.width == 700
    assert card.getpixel((0, 0))[3] == 0  # outside the rounded card
    assert card.getpixel((card.width // 2, card.height // 2))[3] == 255


def _glyph(font: ImageFont.FreeTypeFont, text: str) -> bytes:
    image = Image.new("L", (120, 120), 0)
    ImageDraw.Draw(image).text((20, 10), text, font=font, fill=255)
    return image.tobytes()


def test_vietnamese_name_renders_real_glyphs() -> None:
    font = ImageFont.truetype(str(font_path(bold=True)), 48)
    missing = _glyph(font, "\ue000")  # a private-use code point: the .notdef box
    for marked, bare in [("ạ", "a"), ("ẻ", "e"), ("â", "a"), ("ơ", "o"), ("Ơ", "O")]:
        drawn = _glyph(font, marked)
        assert any(drawn), marked
        assert drawn not in (_glyph(font, bare), missing), marked
    with_name = render_card("Hạt dẻ Ngân Sơn", 180000, "kg")
    without = render_card("", 180000, "kg")
    dark = _share_near(with_name, THEME["card_fg"]) - _share_near(without, THEME["card_fg"])
    assert dark > 0.005


def test_sale_price_in_accent_red_and_old_price_muted() -> None:
    sale = render_card("Miến dong Na Rì", 60000, "gói", sale_price=55000)
    plain = render_card("Miến dong Na Rì", 60000, "gói")
    assert _share_near(sale, THEME["price"]) > 0.01
    assert _share_near(sale, THEME["muted"]) > _share_near(plain, THEME["muted"]) + 0.001


def test_stars_and_stock_pill_are_drawn() -> None:
    bare = render_card("Chè Shan tuyết", 250000, "hộp")
    full = render_card("Chè Shan tuyết", 250000, "hộp", ocop_stars=5, stock=12)
    assert _share_near(full, THEME["star"]) > _share_near(bare, THEME["star"]) + 0.005
    assert _share_near(full, THEME["stock"]) > _share_near(bare, THEME["stock"]) + 0.005


def test_product_image_sits_on_the_left() -> None:
    green = Image.new("RGB", (300, 200), (0, 200, 0))
    card = render_card("Cam sành Hàm Yên", 35000, "kg", image=green, width=900)
    pixels = np.asarray(card.convert("RGB")).astype(int)
    is_green = (pixels[:, :, 1] > 150) & (pixels[:, :, 0] < 60)
    columns = np.nonzero(is_green.any(axis=0))[0]
    assert columns.size and columns.max() < card.width * 0.35


@pytest.mark.parametrize(
    "name",
    [
        "Thịt trâu gác bếp loại đặc biệt thượng hạng của đồng bào Tày vùng cao Chợ Đồn Bắc Kạn",
        "Siêuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuudài",
    ],
)
def test_long_names_wrap_then_ellipsize_within_the_card(name: str) -> None:
    font = ImageFont.truetype(str(font_path(bold=True)), 46)
    lines = fit_lines(name, font, 500, max_lines=2)
    assert 1 <= len(lines) <= 2
    assert all(font.getlength(line) <= 500 for line in lines)
    assert lines[-1].endswith("…")
    short = render_card("Mật ong", 320000, "chai")
    long = render_card(name, 320000, "chai")
    assert long.width == short.width and long.height <= short.height + 80


def test_short_name_is_kept_whole() -> None:
    font = ImageFont.truetype(str(font_path(bold=True)), 46)
    assert fit_lines("Mật ong bạc hà", font, 600) == ["Mật ong bạc hà"]
