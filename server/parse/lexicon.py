"""Accent-aware keyword lists: order words, cancels, questions, teencode, fillers.

A keyword is written once, with its diacritics (``hủy``, ``mấy``, ``không``). A token
matches it if the buyer typed the same diacritics, or typed none at all and the
folded forms agree. So ``huy`` matches ``hủy`` (the buyer left the accents off),
but ``cảm`` never matches ``cam`` and ``mắt`` never matches ``mật``: a buyer who types
accents types the right ones far more often than not. Teencode spellings (``ko``,
``mik``, ``dc``) are listed next to the word they stand for.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Sequence

from server.parse.normalise import Token, fold

__all__ = ["Phrases", "word_matches"]


def word_matches(token: Token, low: str, folded: str) -> bool:
    """Does ``token`` spell the keyword whose lower-case form is ``low``?"""
    if token.kind == "sym":
        return token.fold == folded
    if token.kind != "word":
        return False
    return token.low == low or (not token.accented and token.fold == folded)


class Phrases:
    """A set of one- or several-word keywords, indexed by the folded first word."""

    def __init__(self, phrases: Iterable[str], *, strict: bool = False) -> None:
        self._strict = strict  # diacritics required: "ngõ" (lane) but not "Ngô" (a surname)
        self._index: dict[str, list[tuple[tuple[str, str], ...]]] = {}
        for phrase in phrases:
            words = tuple((w, fold(w)) for w in phrase.lower().split())
            if words:
                self._index.setdefault(words[0][1], []).append(words)
        for options in self._index.values():
            options.sort(key=len, reverse=True)  # longest phrase wins

    def match_at(self, tokens: Sequence[Token], i: int, skip: Container[int] = frozenset()) -> int:
        """Number of tokens of the longest phrase starting at ``tokens[i]`` (0 if none);
        a phrase may not cover any index in ``skip``."""
        options = self._index.get(tokens[i].fold)
        if not options:
            return 0
        for words in options:
            end = i + len(words)
            if any(k in skip for k in range(i, end)):
                continue
            if end <= len(tokens) and all(
                tokens[i + k].low == low
                if self._strict
                else word_matches(tokens[i + k], low, folded)
                for k, (low, folded) in enumerate(words)
            ):
                return len(words)
        return 0

    def find(
        self, tokens: Sequence[Token], skip: Container[int] = frozenset()
    ) -> list[tuple[int, int]]:
        """Non-overlapping ``(i, j)`` token ranges matched left to right, avoiding ``skip``."""
        found: list[tuple[int, int]] = []
        index = self._index  # most tokens start no phrase: test that without a call
        i, count = 0, len(tokens)
        while i < count:
            if tokens[i].fold in index and i not in skip:
                length = self.match_at(tokens, i, skip)
                if length:
                    found.append((i, i + length))
                    i += length
                    continue
            i += 1
        return found

    def words(self) -> list[str]:
        """Every phrase, lower-case, words joined by single spaces."""
        return [" ".join(w for w, _ in p) for options in self._index.values() for p in options]

    def __contains__(self, token: Token) -> bool:
        return token.fold in self._index and self.match_at((token,), 0) == 1


def _words(text: str) -> Phrases:
    return Phrases(line.strip() for line in text.split(",") if line.strip())


# "lấy", "chốt" and friends: what a buyer says to take something.
_PRONOUNS = _words(
    "e, em, mk, mik, mjk, mình, minh, c, chị, chi, a, anh, tui, tôi, toi, cháu, t, bác, cô"
)
# "cho" gives only with someone to give to: "cho e 2 hộp", not "1 like cho shop".
ORDER_VERBS = _words(
    "chốt, chôt, chot, lấy, lây, lay, mua, đặt, dat, order, oder, od, để, giữ, sold, want, "
    "take, buy, mau, ambil, pesan, beli, checkout, book, thêm, them, đặt hàng, ship cho, "
    "để cho, giữ cho, lấy cho, gửi cho, i want, "
    + ", ".join(f"{give} {who}" for give in ("cho", "cko", "ck") for who in _PRONOUNS.words())
)
# Words that only ever add to an order word ("chốt đơn").
ORDER_NOUNS = _words("đơn, don, đơn hàng, order")
CANCEL_WORDS = _words(
    "hủy, huỷ, huy, hủy đơn, huỷ đơn, xóa, xoá, xóa đơn, xoá đơn, cancel, cancle, batal, "
    "tidak jadi, gak jadi, nggak jadi, ga jadi, không lấy nữa, không mua nữa, đổi ý, bỏ"
)
NEGATIONS = _words(
    "không, ko, k, kh, kg, khong, hông, hok, khum, hem, hk, khg, chưa, chả, chẳng, đừng, not, "
    "tidak, gak, no"
)
THEN_STOP = _words("thôi, nữa, nx")
# Cues that make a comment a question on their own.
STRONG_QUESTION = _words(
    "bao nhiêu, bao nhiu, nhiêu, nhiu, bao tiền, nhiêu tiền, bn, bnh, bnhiu, mấy, may, giá, "
    "bao lâu, bao giờ, "
    "khi nào, lúc nào, thế nào, như nào, như thế nào, ntn, sao, tại sao, vì sao, ở đâu, "
    "đâu vậy, hỏi, gì, j, nào, được không, đc không, dc ko, được ko, đc ko, dc k, được k, "
    "đc k, ko ạ, có không, có ko, how, how much, what, when, where, price, harga, berapa, "
    "apa, kapan, available, ready, ready không, còn hàng, con hang, tư vấn, tu van, tv giúp"
)
# Cues that ask even inside a long review-like text ("Cho mình hỏi trong hộp có cáp
# không"): the short ones above ("giá", "sao", "gì", "nào") are also ordinary words there.
EXPLICIT_QUESTION = _words(
    "cho mình hỏi, cho minh hoi, cho em hỏi, cho e hỏi, cho mk hỏi, cho mik hỏi, "
    "cho hỏi, cho tôi hỏi, cho chị hỏi, cho c hỏi, cho a hỏi, cho anh hỏi, cho cháu hỏi, "
    "xin hỏi, được không, đc không, dc ko, được ko, đc ko, dc k, được k, đc k, ko ạ, k ạ, "
    "có không, có ko, bao nhiêu tiền, giá bao nhiêu, nhiêu tiền, bao tiền, "
    "dc hok, đc hok, được hok, dc hông, đc hông, được hông, dc kg, đc kg, được kg, được khum, "
    "dc khum, tại sao, vì sao"
)
# Idioms that contain a question word but ask nothing: "ở đâu cũng", "gì cũng được".
NOT_QUESTIONS = _words(
    "đâu cũng, gì cũng, nào cũng, sao cũng, sao đâu, bao nhiêu cũng, đánh giá, tầm giá, "
    "mức giá, giá thành, giá tốt, giá rẻ, giá hợp lý, giảm giá, rớt giá, 5 sao, "
    "hiểu tại sao, biết tại sao, hiểu vì sao, biết vì sao, hiểu sao, có hỏi, đã hỏi, "
    "mới hỏi"
)
# Cues that need a shop-related word nearby ("anh lấy vợ chưa" is small talk).
WEAK_QUESTION = _words(
    "không, ko, k, kh, kg, khong, hông, hok, khum, hem, hk, khg, chưa, hả, à, nhỉ, chứ"
)
QUESTION_TAIL = _words(
    "ạ, a, ak, ah, ạh, vậy, vay, z, v, shop, sh, ad, ơi, oi, nhỉ, nhi, chị, chi, c, anh, "
    "em, e, ta, thế, the, nhé, nhe, nha, bạn, ban, b, bác, bac, cô, co"
)
COMMERCE = _words(
    "còn, con, hàng, hang, ship, freeship, free ship, cod, giao, gửi, bớt, giảm, khuyến mãi, "
    "sale, giá, tiền, tien, shop, sỉ, lẻ, chuyển khoản, ck, ship cod, đơn, mua, bán, stok, "
    "stock, ada, masih, ongkir, hết, thật, chuẩn, ngọt, đắng, chua, ngon, hạn, bảo quản"
)
# Past or settled events: "tuần trước mua 2 hộp", "hôm qua", "đã nhận", "mới mua được
# 6 ngày"; and what reviews say about a parcel already received ("hỏng", "giao chậm").
NARRATIVE = _words(
    "tuần trước, hôm qua, hôm trước, lần trước, năm ngoái, tháng trước, năm trước, "
    "hồi trước, đã, nhận được, ăn hết, tahun lalu, kemarin, yesterday, last week, "
    "mới mua, vừa mua, mua được, mua dc, mua đc, mua xong, mua về, nên mua, định mua, "
    "tính mua, từng mua, hỏng, bị lỗi, lỗi, vỡ, móp, rách, mốc, chậm, thất vọng, hài lòng, "
    "tuyệt vời, đánh giá, nhận hàng, đến nay, tới nay, đến giờ, tới giờ"
)
# A variant named instead of a product ("lấy túi xanh", "2b xanh", "size 36"): the
# catalog has no variants yet, so such an order goes to a helper.
VARIANTS = _words("xanh, đỏ, vàng, trắng, đen, hồng, tím, nâu, xám, be, kem, màu, size, sz, cỡ")
# Words before a number that make it a size, not a quantity: "size 36".
SIZE_WORDS = _words("size, sz, cỡ")
# Words after a number that make it something other than a quantity.
COUNTERS = _words(
    "năm, tháng, tuần, ngày, hôm, giờ, h, tiếng, phút, giây, tuổi, lần, người, đứa, con, "
    "sao, điểm, like, likes, tim, km, m, cm, mm, ml, lít, tầng, bữa, đời, mùa, year, years, "
    "day, days, hour, hours, times, star, stars, tahun, hari, jam, menit, kali, orang, "
    "phần trăm, w, mah, gb, mb, tb, hz, fps, mp, inch, độ"
)
MONEY = _words(
    "k, nghìn, ngàn, nghin, ngan, đ, đồng, vnd, vnđ, tr, triệu, trieu, củ, rb, ribu, rp, "
    "jt, juta, usd, xu, tỷ"
)
# Quantity markers: "x2", "sl 3", "số lượng 2".
MULTIPLIERS = _words("x, sl, số lượng, qty, jumlah")
EACH = _words("mỗi loại, mỗi thứ, mỗi cái, mỗi món, mỗi mã, mỗi sp, mỗi, each, masing masing")
# Inside a comment, these start a new item: "A1 2kg, B2 1 chai".
SEPARATORS = _words("và, với, vs, and, dan, plus, thêm, them")
CODE_PREFIXES = _words("mã, ma, code, kode, sp")
PHONE_CUES = _words(
    "sdt, sđt, đt, dt, số điện thoại, so dien thoai, zalo, phone, hp, wa, số, so, call, gọi"
)
# Pronouns, particles and politeness: they change nothing about an order.
FILLERS = _words(
    "e, em, a, anh, c, chị, chi, mk, mik, mjk, mình, minh, tui, tôi, toi, t, cháu, chau, "
    "bác, bac, cô, chú, chu, ad, shop, sh, sốp, nhé, nhe, nha, nhá, nhaa, nhen, nghen, ạ, ak, "
    "ah, ạh, ơi, oi, luôn, luon, đi, di, với, voi, vs, ok, oke, okie, oki, okay, thôi, thoi, "
    "giúp, giup, hộ, ho, please, pls, plz, ya, yaa, dong, kak, kakak, saya, aku, i, me, "
    "for, the, it, ya, nhanh, nhé, ạ, rồi, r, vậy, vay, z, v, nào, thì, thi, có, co, lại, "
    "lai, ơ, ủa, hihi, haha, hehe, ha, nữa, nx, cái, là, la"
)
# Where an address starts; addresses come last, and their numbers are house numbers.
ADDRESS = Phrases(
    ["địa chỉ", "đ / c", "ngõ", "ngách", "hẻm", "số nhà", "thôn", "xóm", "tổ dân phố", "khu phố"],
    strict=True,
)
ADDRESS_PLAIN = _words("dia chi, so nha, alamat, address")
# Phrases that contain a product or order word but are neither.
NOT_ORDERS = _words(
    "cảm ơn, cam on, cám ơn, mang về, mang theo, mang đi, lấy vợ, lấy chồng, lấy lương, "
    "lay vo, lay chong, để ý, để xem, để sau, thêm nữa, them nua"
)

# Words that explain themselves when left over after the parser's passes.
KNOWN_WORDS = Phrases(
    w
    for lexicon in (
        FILLERS, QUESTION_TAIL, NEGATIONS, ORDER_NOUNS, PHONE_CUES, MULTIPLIERS, SEPARATORS,
        CODE_PREFIXES, THEN_STOP, ORDER_VERBS, VARIANTS,
    )
    for w in lexicon.words()
)  # fmt: skip
