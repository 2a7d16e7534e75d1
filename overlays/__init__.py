"""What the audience sees (the overlay) and what helpers tap (the panel).

The pages under ``static/`` are plain ES modules with no build step, so they run
from the laptop with no internet and no Node.js. ``card.py`` draws the same product
card for clips.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["I18N_DIR", "STATIC_DIR"]

STATIC_DIR = Path(__file__).resolve().parent / "static"
I18N_DIR = STATIC_DIR / "i18n"
