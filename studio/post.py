"""The Vietnamese text posted with a clip: product, price, how to order, hashtags."""

from __future__ import annotations

from chotdon.money import format_price
from studio.catalog import Product
from studio.plan import ClipPlan, slug

__all__ = ["LANGUAGES", "TEMPLATES", "hashtags", "post_caption"]

_ALWAYS = ("#dacsan", "#nongsanviet", "#chotdon")

# The post text in the clip's language (vi first; id and en for sellers abroad).
TEMPLATES: dict[str, dict[str, str]] = {
    "vi": {
        "sale": "💥 Giá chỉ {price} (giá gốc {was})",
        "price": "💰 Giá {price}",
        "order": '👉 Bình luận "{code} + số lượng" hoặc nhắn tin để chốt đơn ngay!',
        "ask": "👉 Bình luận hoặc nhắn tin để chốt đơn ngay!",
    },
    "id": {
        "sale": "💥 Hanya {price} (harga normal {was})",
        "price": "💰 Harga {price}",
        "order": '👉 Komen "{code} + jumlah" atau kirim pesan untuk pesan sekarang!',
        "ask": "👉 Komen atau kirim pesan untuk pesan sekarang!",
    },
    "en": {
        "sale": "💥 Now only {price} (was {was})",
        "price": "💰 Price {price}",
        "order": '👉 Comment "{code} + quantity" or message us to order now!',
        "ask": "👉 Comment or message us to order now!",
    },
}
LANGUAGES = tuple(TEMPLATES)


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


def post_caption(plan: ClipPlan, product: Product | None, language: str = "vi") -> str:
    """Ready to paste under the clip on TikTok, Shopee Video or Facebook Reels."""
    if language not in TEMPLATES:
        raise ValueError(f"no post text in {language!r}; use one of {', '.join(LANGUAGES)}")
    text = TEMPLATES[language]
    lines: list[str] = []
    if product is not None:
        lines.append(f"🌿 {product.name}")
        price = format_price(product.shown_price, product.unit)
        if product.shown_price < product.price:
            was = format_price(product.price, product.unit)
            lines.append(text["sale"].format(price=price, was=was))
        else:
            lines.append(text["price"].format(price=price))
        if product.origin:
            lines.append(f"📍 {product.origin}")
        lines.append(text["order"].format(code=product.code))
    else:
        lines.append(f"🌿 {plan.title}")
        lines.append(text["ask"])
    lines += ["", " ".join(hashtags(product))]
    return "\n".join(lines) + "\n"
