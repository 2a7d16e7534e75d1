"""What real buyers and reviewers write, as issue 12 lists it.

Reviews are long and full of numbers (days, stars, prices, sizes); live order
comments are short. Questions come without "?" and in teencode; orders that name a
variant (a colour, a size) go to a helper instead of being read as questions.
"""

from __future__ import annotations

import unicodedata

import pytest

from chotdon.catalog import ProductRow, VariantRow
from server.parse import Parser, ParseResult
from server.parse.unreadable import REVIEW_CAP


def _items(result: ParseResult) -> list[tuple[str, float | None]]:
    return [(i.code, i.qty) for i in result.items]


@pytest.mark.parametrize(
    "text",
    [
        "Giao hàng chậm nhưng sp ok. 5*",
        "mua 2 cái thì 1 cái hỏng",
        "size 36",
        "Mới mua được 6 ngày mà miến nấu vẫn dai, sợi đều, gói kỹ, ship nhanh, sẽ ủng hộ tiếp",
        "Chè thơm, hộp đẹp, một hộp uống được 2 tuần. Thêm nữa là mật ong ngọt thanh, rất hay",
        "mua chè 3 tháng trước giá 250k, giờ còn 220k, mình thấy uống vẫn ngon lắm luôn nha",
        "Nên mua loại 2 cân vì rẻ hơn nhiều so với loại 1 cân, hạt to đều, bóc vỏ cũng dễ",
    ],
)
def test_reviews_with_numbers_are_not_orders(parser: Parser, text: str) -> None:
    result = parser.parse(text, pinned="A1")
    assert result.intent != "order", result
    assert result.items == ()


@pytest.mark.parametrize(
    ("text", "pinned", "items"),
    [
        ("A1", None, [("A1", 1)]),
        ("2", "A1", [("A1", 2)]),
        ("chốt 2", "B2", [("B2", 2)]),
        ("A3 x2 0912345678", None, [("A3", 2)]),
        ("lấy 2 hộp", "B1", [("B1", 2)]),
    ],
)
def test_short_live_orders_still_read(parser: Parser, text, pinned, items) -> None:
    result = parser.parse(text, pinned=pinned)
    assert result.intent == "order"
    assert _items(result) == items


@pytest.mark.parametrize(
    "text",
    [
        "có sữa kg đường kg",
        "hạt dẻ có sâu kg",
        "lấy đỏ hay xanh ạ",
        "Tư vấn",
        "tư vấn giúp e",
        "cho mình hỏi hạt dẻ này",
        "???",
        "A1 ??",
        "Hàng về đủ, đóng hộp đẹp, shipper thân thiện lắm. "
        "Cho em hỏi túi này có kèm hướng dẫn nấu kg.",
        "Miến nấu lên bị nát hết, mình mới dùng được hai bữa, không biết đổi trả dc hok nữa",
        "Tại sao mật ong nhà mình để tủ lạnh lại bị đóng đường vậy ad, năm ngoái mua thì không bị",
    ],
)
def test_questions_without_a_question_mark(parser: Parser, text: str) -> None:
    assert parser.parse(text, pinned="A1").intent == "question"


def test_review_words_that_look_like_questions_are_not(parser: Parser) -> None:
    text = (
        "Sản phẩm uy tín giá tốt, hạt bùi thơm, gói cẩn thận, giao đúng hẹn, "
        "nói chung là không có gì để chê, 5 sao"
    )
    assert parser.parse(text, pinned="A1").intent == "other"


@pytest.mark.parametrize(
    "text",
    [
        "Lần trước mình có hỏi chị bán hàng là chè có để được lâu k, thì chị bảo được một năm",
        "Gói hàng để ngoài cổng cả buổi chiều, phải mở ra xem mới biết là có bị ướt hay không",
        "Hạt dẻ về được mấy hôm thì mốc hết, không hiểu tại sao luôn, bên mình bảo quản kỹ rồi",
        "Em mua A1 đến nay là 3 tháng, hạt vẫn bùi, đóng gói kỹ, ship hơi lâu tầm 5 ngày mới tới",
    ],
)
def test_reported_questions_and_stories_are_other(parser: Parser, text: str) -> None:
    assert parser.parse(text, pinned="A1").intent == "other"


@pytest.mark.parametrize(
    "text", ["lấy túi xanh", "2b xanh", "1 túi xanh và 1 túi vàng, Lan 0912345678"]
)
def test_variant_orders_go_to_review(parser: Parser, text: str) -> None:
    result = parser.parse(text, pinned="A2")
    assert result.intent == "order"
    assert result.confidence < 0.8
    assert [i.code for i in result.items] == ["A2"]


def test_order_word_in_a_long_text_goes_to_review(parser: Parser) -> None:
    text = (
        "shop ơi chốt 2 hộp chè gửi về quê cho mẹ em ở Thái Bình nhé, "
        "mẹ em thích uống lắm, giao sớm giúp em trước tết"
    )
    result = parser.parse(text, pinned="A1")
    assert result.intent == "order"
    assert _items(result) == [("B1", 2)]
    assert result.confidence <= 0.5


def test_decomposed_unicode_reads_like_composed(parser: Parser, labelled_set) -> None:
    for row in labelled_set:
        nfc = parser.parse(row["text"], pinned=row.get("pinned"))
        nfd = parser.parse(unicodedata.normalize("NFD", row["text"]), pinned=row.get("pinned"))
        assert (nfd.intent, nfd.items, nfd.phone) == (nfc.intent, nfc.items, nfc.phone), row
        assert nfd.confidence == pytest.approx(nfc.confidence)


# -- variants named in the comment ------------------------------------------------------

_BAG = ProductRow(
    "B6",
    "Túi thổ cẩm",
    200000,
    "cái",
    6,
    ("túi thổ cẩm", "thổ cẩm"),
    variants=(
        VariantRow("XANH", "Túi xanh", 200000, 4, ("xanh",)),
        VariantRow("VANG", "Túi vàng", 210000, 2, ("vàng",)),
    ),
)


@pytest.fixture(scope="module")
def bag_parser(catalog: list[ProductRow]) -> Parser:
    return Parser([*catalog, _BAG])


@pytest.mark.parametrize(
    ("text", "pinned", "items"),
    [
        ("lấy túi xanh", "B6", [("B6", 1, "XANH")]),
        ("2b xanh", "B6", [("B6", 2, "XANH")]),
        ("chốt 2 túi vàng", "B6", [("B6", 2, "VANG")]),
        ("1 túi xanh và 1 túi vàng, Lan 0912345678", "B6", [("B6", 1, "XANH"), ("B6", 1, "VANG")]),
        ("B6 xanh x2", "A1", [("B6", 2, "XANH")]),
        ("thổ cẩm xanh 2 cái", None, [("B6", 2, "XANH")]),
        ("lấy túi vàng", None, [("B6", 1, "VANG")]),
        ("lấy 2 hộp 500g", "B3", [("B3", 2, "500G")]),
        ("măng gói 1kg x3", "A1", [("B3", 3, "1KG")]),
        ("A1 2kg và 1 túi 500g", "B3", [("A1", 2, None), ("B3", 1, "500G")]),
    ],
)
def test_variants_named_in_a_comment_are_resolved(
    bag_parser: Parser, text: str, pinned: str | None, items: list[tuple[str, int, str | None]]
) -> None:
    result = bag_parser.parse(text, pinned=pinned)
    assert result.intent == "order"
    assert [(i.code, i.qty, i.variant) for i in result.items] == items
    assert any(e.kind == "variant" for e in result.evidence)


@pytest.mark.parametrize(("text", "pinned"), [("chốt", "B6"), ("sold 2", "B3"), ("B6 x2", None)])
def test_an_order_naming_no_variant_of_a_product_with_variants_goes_to_review(
    bag_parser: Parser, text: str, pinned: str | None
) -> None:
    result = bag_parser.parse(text, pinned=pinned)
    assert result.intent == "order" and result.items[0].variant is None
    assert result.confidence <= REVIEW_CAP
    assert any(e.kind == "variant" and "which variant" in e.note for e in result.evidence)


def test_a_variant_of_another_product_than_the_pinned_one_is_not_guessed(
    bag_parser: Parser,
) -> None:
    result = bag_parser.parse("lấy túi xanh", pinned="A2")
    assert [(i.code, i.variant) for i in result.items] == [("A2", None)]
    assert result.confidence < 0.8


def test_variant_items_carry_their_key_in_json(bag_parser: Parser) -> None:
    data = bag_parser.parse("2b xanh", pinned="B6").to_json("x")
    assert data["items"] == [{"code": "B6", "qty": 2, "variant": "XANH"}]
    plain = bag_parser.parse("A1 x2").to_json("y")
    assert plain["items"] == [{"code": "A1", "qty": 2}]
