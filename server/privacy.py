"""What the stream must never show: a buyer's phone number and address.

Buyers type them into comments ("chốt 2, đc: 12 ngõ 5 Kim Mã, sđt 0912 345 678"),
and a helper who puts such a comment on air (the overlay's shown comment) would
broadcast them to everyone watching. :func:`mask_private` hides them in the text
the overlays get; the order book keeps the comment as typed.

Phones: every Vietnamese mobile (``server.parse.phones``, whatever the spacing)
and any other run of eight or more digits. Addresses: from the first address
word to the end of the comment (addresses come last in a comment, and hiding an
extra word costs less than showing a house number). Address words are matched
with their diacritics where the bare spelling is an ordinary word: "quần" is
trousers, "quận" a district; "đc"/"dc" mostly mean "được", so they count only
before ``:`` or a house number; "đường" is sugar unless a name or number follows.
"""

from __future__ import annotations

import re
import unicodedata

from server.parse.phones import find_phones

__all__ = ["HIDDEN", "mask_private"]

HIDDEN = "***"

_LONG_NUMBER = re.compile(r"(?<![0-9])\+?[0-9](?:[ .\-]?[0-9]){7,}(?![0-9])")
_ADDRESS_WORDS = (
    r"địa chỉ|dia chi|số nhà|so nha|ngõ|ngách|hẻm|kiệt|thôn|xóm|tổ dân phố|khu phố|"
    r"phường|thị trấn|xã|quận|huyện|alamat|address"
)
_ADDRESS = re.compile(
    rf"(?<!\w)(?:{_ADDRESS_WORDS})(?!\w)"
    r"|(?<!\w)(?:đ|d)\s*/\s*c(?!\w)"  # đ/c, d/c
    r"|(?<!\w)(?:đc|dc)(?=\s*:|\s+[0-9])"  # đc: 12 …, dc 12 … (not "đc k shop")
    r"|(?<!\w)đường(?=\s+(?:[0-9]|(?-i:[A-ZĐ][a-zà-ỹđ])))"  # đường Lê Lợi, 3/2 (not "đường phèn")
    # a house number: "số 5 ngõ 3", "số 12/4 Lê Lợi"
    r"|(?<!\w)số\s+[0-9]+[a-z]?(?:/[0-9]+)*(?=\s*,?\s*(?:ngõ|ngách|hẻm|kiệt|đường|phố|(?-i:[A-ZĐ][a-zà-ỹđ])))",
    re.IGNORECASE,
)


def mask_private(text: str) -> str:
    """``text`` (NFC) with phone numbers and anything from an address word on as ``***``."""
    text = unicodedata.normalize("NFC", text)
    spans = [(start, end) for start, end, _ in find_phones(text)]
    spans += [match.span() for match in _LONG_NUMBER.finditer(text)]
    address = _ADDRESS.search(text)
    if address is not None:
        spans.append((address.start(), len(text)))
    return _replace(text, spans)


def _replace(text: str, spans: list[tuple[int, int]]) -> str:
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:  # overlapping or touching: one marker
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out: list[str] = []
    position = 0
    for start, end in merged:
        out += [text[position:start], HIDDEN]
        position = end
    out.append(text[position:])
    return "".join(out)
