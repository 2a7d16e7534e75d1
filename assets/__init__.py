"""Files shipped with chotdon: fonts, the demo catalog and its images."""

from __future__ import annotations

from pathlib import Path

__all__ = ["ASSETS_DIR", "DEMO_DIR", "FONTS_DIR", "font_path"]

ASSETS_DIR = Path(__file__).resolve().parent
FONTS_DIR = ASSETS_DIR / "fonts"
DEMO_DIR = ASSETS_DIR / "demo"


def font_path(bold: bool = False) -> Path:
    """The shipped Vietnamese-capable font file."""
    return FONTS_DIR / ("NotoSans-Bold.ttf" if bold else "NotoSans-Regular.ttf")
