from __future__ import annotations

import pytest

from server.vietqr import crc16_ccitt, qr_svg, vietqr_payload


def _tlv(payload: str) -> dict[str, str]:
    fields, i = {}, 0
    while i < len(payload):
        tag, size = payload[i : i + 2], int(payload[i + 2 : i + 4])
        fields[tag] = payload[i + 4 : i + 4 + size]
        i += 4 + size
    return fields


def test_crc_matches_the_ccitt_false_check_value() -> None:
    assert crc16_ccitt("123456789") == "29B1"


def test_payload_carries_bank_account_amount_and_a_valid_crc() -> None:
    payload = vietqr_payload("970415", "113366668888", 150000, "A1 chotdon")
    fields = _tlv(payload)
    assert fields["00"] == "01" and fields["01"] == "12"
    merchant = _tlv(fields["38"])
    assert merchant["00"] == "A000000727" and merchant["02"] == "QRIBFTTA"
    assert _tlv(merchant["01"]) == {"00": "970415", "01": "113366668888"}
    assert (fields["53"], fields["54"], fields["58"]) == ("704", "150000", "VN")
    assert _tlv(fields["62"]) == {"08": "A1 chotdon"}
    assert fields["63"] == crc16_ccitt(payload[:-4])


def test_static_code_without_amount_and_note_is_sanitised() -> None:
    fields = _tlv(vietqr_payload("970415", "123", None, "Hạt dẻ <b>"))
    assert fields["01"] == "11" and "54" not in fields
    assert _tlv(fields["62"])["08"] == "Ht d b"


@pytest.mark.parametrize(("bank", "account"), [("97041", "1"), ("970415", ""), ("970415", "12-34")])
def test_bad_bank_details_are_refused(bank: str, account: str) -> None:
    with pytest.raises(ValueError):
        vietqr_payload(bank, account, 1000)


def test_svg_is_an_svg() -> None:
    assert qr_svg("hello").lstrip().startswith(b"<?xml") or b"<svg" in qr_svg("hello")[:300]
