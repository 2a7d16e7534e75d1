"""build_connector: kinds, required and unknown options, the public surface."""

from __future__ import annotations

import pytest

import server.connectors as connectors
from server.connectors import KINDS, Connector, ConnectorError, build_connector


def test_kinds_are_the_documented_ones():
    assert set(KINDS) == {"sim", "manual", "tiktok", "facebook", "shopee"}


def test_unknown_kind_lists_the_choices():
    with pytest.raises(
        ConnectorError, match="unknown connector 'youtube'; choose one of: sim"
    ) as e:
        build_connector("youtube")
    assert e.value.fatal


def test_kind_is_case_insensitive_and_result_is_a_connector():
    manual = build_connector(" Manual ")
    assert isinstance(manual, Connector)
    assert manual.name == "manual"


def test_all_missing_options_are_named_at_once():
    with pytest.raises(ConnectorError) as e:
        build_connector("shopee", shop_id=1)
    assert str(e.value) == (
        "shopee connector needs: partner_id, partner_key, access_token, session_id"
    )


def test_unknown_options_are_named_with_the_known_ones():
    with pytest.raises(
        ConnectorError,
        match=r"sim connector does not take looping, spead; "
        r"its options are: path, speed, rate, loop$",
    ):
        build_connector("sim", path="x.jsonl", spead=2, looping=True)


def test_public_names_are_exported():
    for name in connectors.__all__:
        assert hasattr(connectors, name), name
