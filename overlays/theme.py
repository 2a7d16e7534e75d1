"""One palette for the live overlay (served as CSS variables) and the clip card renderer."""

from __future__ import annotations

__all__ = ["THEME", "css_variables"]

THEME: dict[str, str] = {
    "card_bg": "#fffaf0",
    "card_fg": "#2b1d0e",
    "accent": "#d62828",
    "accent_fg": "#ffffff",
    "muted": "#7a6a58",
    "price": "#d62828",
    "star": "#f4a300",
    "stock": "#2a9d8f",
    "shadow": "rgba(0,0,0,0.35)",
}


def css_variables() -> str:
    """The palette as a ``:root`` block, so the CSS never hardcodes a colour twice."""
    body = "".join(f"--{k.replace('_', '-')}:{v};" for k, v in THEME.items())
    return f":root{{{body}}}"
