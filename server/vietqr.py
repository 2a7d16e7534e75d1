"""VietQR payment codes, built locally (no request to any QR service).

VietQR is the EMVCo merchant-presented QR format with NAPAS's account-transfer
template under tag 38. Banking apps read the bank (BIN), the account, the amount
and a note from it; we put the product code in the note.
"""

from __future__ import annotations

import io
import re

import qrcode
import qrcode.image.svg

__all__ = ["crc16_ccitt", "qr_svg", "vietqr_payload"]

_NAPAS_GUID = "A000000727"
_TRANSFER_TO_ACCOUNT = "QRIBFTTA"


def _tlv(tag: str, value: str) -> str:
    if len(value) > 99:
        raise ValueError(f"EMV field {tag} is too long ({len(value)} > 99)")
    return f"{tag}{len(value):02d}{value}"


def crc16_ccitt(data: str) -> str:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF) as 4 upper-case hex digits."""
    crc = 0xFFFF
    for byte in data.encode("utf-8"):
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return f"{crc:04X}"


def vietqr_payload(bank_bin: str, account: str, amount: int | None, note: str = "") -> str:
    if not re.fullmatch(r"\d{6}", bank_bin):
        raise ValueError("bank BIN must be 6 digits")
    if not re.fullmatch(r"[0-9A-Za-z]{1,19}", account):
        raise ValueError("account must be 1-19 letters or digits")
    beneficiary = _tlv("00", bank_bin) + _tlv("01", account)
    merchant = _tlv("00", _NAPAS_GUID) + _tlv("01", beneficiary) + _tlv("02", _TRANSFER_TO_ACCOUNT)
    parts = [
        _tlv("00", "01"),
        _tlv("01", "12" if amount else "11"),
        _tlv("38", merchant),
        _tlv("53", "704"),
    ]
    if amount:
        parts.append(_tlv("54", str(int(amount))))
    parts.append(_tlv("58", "VN"))
    clean_note = re.sub(r"[^0-9A-Za-z ]", "", note)[:25].strip()
    if clean_note:
        parts.append(_tlv("62", _tlv("08", clean_note)))
    body = "".join(parts) + "6304"
    return body + crc16_ccitt(body)


def qr_svg(data: str) -> bytes:
    """An SVG QR code (scales crisply on a 1080p overlay and a phone)."""
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathFillImage, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue()
