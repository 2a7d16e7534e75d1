"""The Vietnamese text posted with a clip: product, price, how to order, hashtags."""

from __future__ import annotations

from overlays.format import format_price
from studio.catalog import Product
from studio.plan import ClipPlan, slug

__all__ = ["hashtags", "post_caption"]

_ALWAYS = ("#dacsan", "#nongsanviet", "#chotdon")


def hashtags(product: Product | None) -> list[str]:
    """``#hatdenganson``-style tags: platforms drop diacritics from tags anyway."""
    tags: list[str] = []
    if product is not None:
        tags.append("#" + slug(product.name).replace("-", ""))
        if product.aliases:
            tags.append("#" + slug(product.aliases[0]).replace("-", ""))
        if product.origin:
            place = product.origin.split(",")[-1]
            tags.append("#" + slug(place).replace("-", ""))
    tags += _ALWAYS
    unique = list(dict.fromkeys(t for t in tags if len(t) > 1))
    return unique


def post_caption(plan: ClipPlan, product: Product | None) -> str:
    """Ready to paste under the clip on TikTok, Shopee Video or Facebook Reels."""
    lines: list[str] = []
    if product is not None:
        lines.append(f"🌿 {product.name}")
        price = format_price(product.shown_price, product.unit)
        if product.shown_price < product.price:
            lines.append(
                f"💥 Giá chỉ {price} (giá gốc {format_price(product.price, product.unit)})"
            )
        else:
            lines.append(f"💰 Giá {price}")
        if product.origin:
            lines.append(f"📍 {product.origin}")
        lines.append(f'👉 Bình luận "{product.code} + số lượng" hoặc nhắn tin để chốt đơn ngay!')
    else:
        lines.append(f"🌿 {plan.title}")
        lines.append("👉 Bình luận hoặc nhắn tin để chốt đơn ngay!")
    lines += ["", " ".join(hashtags(product))]
    return "\n".join(lines) + "\n"
