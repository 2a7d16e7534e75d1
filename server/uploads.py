"""Product images uploaded by helpers: what is accepted, and the name it is stored under.

Only the bytes count, never the declared type or the client's file name. The size
in pixels is read from the image header before anything is decoded: a 30 KB PNG
can announce 20,000 x 20,000 pixels (a decompression bomb), which Pillow refuses
with an exception no handler expected (a 500), and one that only announces
144 megapixels passed, to be decoded later by every overlay. Anything over
:data:`MAX_IMAGE_PIXELS` is refused with a 422 naming the file.

Stored names are generated: the product code reduced to ``[A-Z0-9]``, a hash of the
bytes and the extension of the detected format, so nothing the client typed in
the URL or the form reaches the file system, and every name passes the media
route's own pattern.
"""

from __future__ import annotations

import hashlib
import io
import re
import warnings

from PIL import Image, UnidentifiedImageError

from .errors import InvalidInput

__all__ = ["IMAGE_TYPES", "MAX_IMAGE_PIXELS", "image_extension", "stored_image_name"]

IMAGE_TYPES = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp"}
# A 48-megapixel phone photo (8000 x 6000) fits; a 144-megapixel header does not.
MAX_IMAGE_PIXELS = 50_000_000
_NOT_CODE = re.compile(r"[^A-Z0-9]")


def _label(filename: str | None) -> str:
    """The client's file name, for messages only (trimmed, one line)."""
    name = " ".join((filename or "").split())[:80]
    return name or "the file"


def image_extension(data: bytes, filename: str | None = None) -> str:
    """The stored extension of an accepted image, else :class:`InvalidInput` naming the file."""
    label = _label(filename)
    try:
        with warnings.catch_warnings():
            # Pillow only warns from 89 MP; the limit below is lower and says more.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                kind = image.format or ""
                width, height = image.size
                if width * height > MAX_IMAGE_PIXELS:
                    raise _too_big(label, width, height)
                image.verify()
    except Image.DecompressionBombError as exc:  # over 179 MP: Pillow will not even open it
        raise InvalidInput(f"{label}: too many pixels to open safely", field="file") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        message = f"{label} is not a PNG, JPEG or WebP image"
        raise InvalidInput(message, field="file") from exc
    if kind not in IMAGE_TYPES:
        raise InvalidInput(
            f"{label}: image type {kind or 'unknown'} not accepted (PNG, JPEG, WebP)",
            field="file",
        )
    return IMAGE_TYPES[kind]


def _too_big(label: str, width: int, height: int) -> InvalidInput:
    megapixels = width * height / 1_000_000
    limit = MAX_IMAGE_PIXELS // 1_000_000
    message = f"{label}: {width} x {height} pixels ({megapixels:.0f} MP) is over {limit} MP"
    return InvalidInput(message, field="file")


def stored_image_name(code: str, data: bytes, extension: str) -> str:
    """``A2-3f0c1e9a7b2d.png``: the code kept to ``[A-Z0-9]``, the bytes' hash, the type."""
    safe = _NOT_CODE.sub("", code.upper())[:40] or "image"
    return f"{safe}-{hashlib.sha256(data).hexdigest()[:12]}.{extension}"
