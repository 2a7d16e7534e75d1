"""What real buyers and reviewers write, as issue 12 lists it.

Reviews are long and full of numbers (days, stars, prices, sizes); live order
comments are short. Questions come without "?" and in teencode; orders that name a
variant (a colour, a size) go to a helper instead of being read as questions.
"""

from __future__ import annotations

import unicodedata

import pytest

from server.parse import Parser, ParseResult


def _items(result: ParseResult) -> list[tuple[str, float | None]]:
    return [(i.code, i.qty) for i in result.items]


@pytest.mark.parametrize(
    "text",
    [
        "Giao hàng chậm nhưng sp ok. 5*",
        "mua 2 cái thì 1 cái hỏng",
        "size 36",
        "Mới mua được 6 ngày máy chạy OK chơi game mượt pin thì khỏi bàn trâu còn sạc nhanh",
        "Máy đẹp. Pin sài 2 ngày hoặc có khi hơn. Thêm nữa là chế độ bảo mật khoá rất hay",
        "mua đt 3 tháng trước, giá 6990k, giờ còn 4990k, mình thấy xài rất ok luôn nha",
        "Nên mua s60 vì nó hơn nhiều so với con s61, cảm ứng 2 điểm hay bị văng ra",
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
        "Máy xài rất ok, vừa tay cầm, nhân viên nhiệt tình dễ thương. "
        "Cho mình hỏi trong hộp có cáp sạc kg.",
        "Bắt wifi kém quá, pin cũng tụt nhanh, mình không biết mang đi bảo hành dc hok nữa",
        "Tại sao chụp hình bị ám vàng vậy ad, lúc thì bình thường lúc thì vàng quá, nhờ xem giúp",
    ],
)
def test_questions_without_a_question_mark(parser: Parser, text: str) -> None:
    assert parser.parse(text, pinned="A1").intent == "question"


def test_review_words_that_look_like_questions_are_not(parser: Parser) -> None:
    text = (
        "Sản phẩm uy tín giá tốt tôi rất hài lòng, chơi game lướt web mượt mà, "
        "nói chung là ko ra gì để chê, 5 sao"
    )
    assert parser.parse(text, pinned="A1").intent == "other"


@pytest.mark.parametrize(
    "text",
    [
        "Hôm mua mình có hỏi nhân viên là máy có kết nối được với máy tính k, thì nv bảo không",
        "Sau khi cập nhật thì bản đồ không chạy, phải vào ứng dụng mới biết là có tin hay không",
        "Pin tụt nhanh lắm, mua về được mấy hôm thì hỏng, không hiểu tại sao luôn, chán thật",
        "Em mua A51 đến nay là 3 tháng, camera tốt, game mượt, sạc hơi lâu tầm 2 tiếng mới đầy",
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
