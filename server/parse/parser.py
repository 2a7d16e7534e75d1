"""From one live comment to an intent, order items, a phone number and the reasons why.

The parser reads in passes over one token list, each pass marking the tokens it
used so later passes cannot read them again:

1. phone numbers (never quantities);
2. product mentions (codes, names, aliases, typos);
3. quantities, with their units; numbers followed by ``năm``, ``tuổi``, ``k`` and the
   like are years, ages and prices, not quantities;
4. cue words: cancels, questions, past events, negations, order words.

The intent comes from the cues in a fixed order (cancel, question, past event,
negation, order) because a wrong order costs a parcel sent and returned: anything
that asks, tells a story or says "no" is not an order. Items pair products with
quantities inside comma/"và"-separated segments; a quantity with no product goes
to the pinned product. A variant's name or alias ("túi xanh", "500g") names that
variant of the product next to it, of the pinned product, or of the one product
that has it; an order for a product with variants that names none goes to a
helper. Confidence starts at 1 and every doubt multiplies it down,
so the order book can send doubtful comments to a helper.
"""

from __future__ import annotations

import dataclasses
import logging
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from chotdon.codes import normalize_code
from server.parse import lexicon as lx
from server.parse.matcher import CatalogLike, Mention, ProductMatcher, VariantHit, VariantIndex
from server.parse.normalise import Token, build_pattern, tokenize
from server.parse.numbers import Unit, read_amount, read_half, read_unit, unit_for_name
from server.parse.phones import PHONE_PATTERN, normalise_phone
from server.parse.unreadable import REVIEW_CAP, unreadable_quantity

__all__ = ["Evidence", "Intent", "Item", "ParseResult", "Parser"]

logger = logging.getLogger(__name__)

Intent = Literal["order", "cancel", "question", "other"]

_SEPARATOR_SYMBOLS = frozenset(",;+&/|\n.!?")
_MONEY_SYMBOLS = frozenset("$%đ")
_MAX_QTY = 1000  # above this a number is a price, a year or a phone fragment
_STRICT_WEAK = frozenset({"à", "hả"})
# Live order comments are short: in the hand-written sets no order leaves more than
# four words unexplained, while product reviews leave ten or more. From this many on,
# a comment is read as a review: only explicit questions, and no order without an
# order word (and even then a helper decides).
_REVIEW_WORDS = 8
_REVIEW_ORDER_CAP = 0.5
_HARD_CANCELS = frozenset({"huy", "cancel", "cancle", "batal"})
_REPORTED = frozenset({"la", "xem"})


@dataclass(frozen=True, slots=True)
class Item:
    """One ordered (or cancelled) product; ``qty`` None = all of it (cancels only);
    ``variant`` is the variant's key ("XANH") when the comment named one."""

    code: str
    qty: float | None
    variant: str | None = None


@dataclass(frozen=True, slots=True)
class Evidence:
    """Why the parser decided something: a span ``[start, end)`` of the original text."""

    kind: str
    start: int
    end: int
    text: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class ParseResult:
    """What one comment says, with a confidence in [0, 1] and the evidence for it."""

    intent: Intent
    items: tuple[Item, ...] = ()
    phone: str | None = None
    confidence: float = 1.0
    evidence: tuple[Evidence, ...] = ()

    def to_json(self, id: Any) -> dict[str, Any]:
        """The ``chotdon parse`` output line (qty as int when whole)."""
        return {
            "id": id,
            "intent": self.intent,
            "items": [_json_item(i) for i in self.items],
            "phone": self.phone,
            "confidence": round(self.confidence, 3),
            "evidence": [
                {"kind": e.kind, "start": e.start, "end": e.end, "text": e.text, "note": e.note}
                for e in self.evidence
            ],
        }


def _json_item(item: Item) -> dict[str, Any]:
    data: dict[str, Any] = {"code": item.code, "qty": _json_qty(item.qty)}
    if item.variant is not None:  # only then: files without variants read as before
        data["variant"] = item.variant
    return data


def _json_qty(qty: float | None) -> int | float | None:
    if qty is None:
        return None
    return int(qty) if float(qty).is_integer() else qty


@dataclass(slots=True)
class _Qty:
    value: float
    start: int
    end: int
    unit: Unit | None
    words: bool
    unit_at: tuple[int, int] | None = None  # token range of the unit word
    marked: bool = False  # "x2", "sl 2": written as a quantity on purpose


@dataclass(slots=True)
class _Scan:
    """Working state for one comment."""

    text: str
    tokens: list[Token]
    used: set[int] = field(default_factory=set)
    evidence: list[Evidence] = field(default_factory=list)
    not_quantities: int = 0  # numbers read as years, ages, prices…

    def note(self, kind: str, i: int, j: int, note: str = "") -> None:
        start, end = self.tokens[i].start, self.tokens[j - 1].end
        self.evidence.append(Evidence(kind, start, end, self.text[start:end], note))

    def free(self, i: int, j: int) -> bool:
        return not any(k in self.used for k in range(i, j))

    def find(self, phrases: lx.Phrases) -> list[tuple[int, int]]:
        return phrases.find(self.tokens, self.used)


@dataclass(slots=True)
class _Cues:
    verbs: list[tuple[int, int]]
    cancel: list[tuple[int, int]]
    negated: list[tuple[int, int]]
    strong_q: list[tuple[int, int]]
    weak_q: list[tuple[int, int]]
    explicit_q: list[tuple[int, int]]
    narrative: list[tuple[int, int]]
    commerce: bool
    each: list[tuple[int, int]]
    unknown_words: int
    variant: bool = False

    @property
    def review_like(self) -> bool:
        return self.unknown_words >= _REVIEW_WORDS


class Parser:
    """Parses comments against one catalog; build once, call :meth:`parse` per comment."""

    def __init__(self, catalog: Iterable[CatalogLike]) -> None:
        entries = list(catalog)
        self._matcher = ProductMatcher(entries)
        self._units = {normalize_code(e.code): unit_for_name(e.unit) for e in entries}
        self._names = {normalize_code(e.code): e.name for e in entries}
        self._pattern = build_pattern(PHONE_PATTERN, self._matcher.code_pattern)
        self._variants = VariantIndex(entries, self._pattern)
        self._has_variants = {normalize_code(e.code) for e in entries if getattr(e, "variants", ())}

    def parse(self, text: str, *, pinned: str | None = None) -> ParseResult:
        """Read one comment; ``pinned`` is the code of the product on screen, if any."""
        scan = _Scan(text, tokenize(text, self._pattern))
        phone = self._phone(scan)
        _address(scan)
        blocked = {k for i, j in lx.NOT_ORDERS.find(scan.tokens) for k in range(i, j)}
        mentions = self._mentions(scan, blocked | scan.used)
        if self._variants:
            mentions = self._variant_mentions(scan, mentions, blocked, pinned)
        qtys = self._quantities(scan, mentions)
        cues = _find_cues(scan, mentions, qtys)
        pinned_code = self._pinned(scan, pinned)
        intent, items, confidence = self._decide(scan, cues, mentions, qtys, pinned_code)
        if intent == "order" and self._variant_missing(scan, items):
            confidence = min(confidence, REVIEW_CAP)  # correctness first: a helper picks it
        unreadable = unreadable_quantity(scan.tokens) if items else None
        if unreadable is not None:  # a helper reads it; never an automatic order of 1
            scan.note("qty", unreadable[0], unreadable[0] + 1, unreadable[1])
            confidence = min(confidence, REVIEW_CAP)
        confidence = max(0.0, min(1.0, confidence))
        return ParseResult(intent, tuple(items), phone, confidence, tuple(scan.evidence))

    # -- passes ---------------------------------------------------------------

    def _phone(self, scan: _Scan) -> str | None:
        phone = None
        for i, token in enumerate(scan.tokens):
            if token.kind != "phone":
                continue
            scan.used.add(i)
            number = normalise_phone(token.fold)
            if number is not None and phone is None:
                phone = number
                scan.note("phone", i, i + 1, number)
        return phone

    def _mentions(self, scan: _Scan, blocked: set[int]) -> list[Mention]:
        found: list[Mention] = []
        for mention in self._matcher.find(scan.tokens, blocked):
            scan.used.update(range(mention.start, mention.end))
            if found and found[-1].code == mention.code and found[-1].end == mention.start:
                previous = found.pop()  # "A1 hạt dẻ": one product named twice
                mention = Mention(mention.code, previous.start, mention.end, previous.how)
            found.append(mention)
        for m in found:
            scan.note(*_mention_evidence(m, self._names))
        return found

    def _variant_mentions(
        self, scan: _Scan, mentions: list[Mention], blocked: set[int], pinned: str | None
    ) -> list[Mention]:
        """Attach each variant named ("B2 xanh", "túi xanh", "500g") to its product."""
        found = list(mentions)
        pinned_code = normalize_code(pinned) if isinstance(pinned, str) and pinned else None
        for hit in self._variants.find(scan.tokens, blocked | scan.used):
            if not _attach_variant(found, hit, pinned_code):
                continue
            scan.used.update(range(hit.start, hit.end))
            scan.note("variant", hit.start, hit.end, _variant_note(found, hit))
        return sorted(found, key=lambda m: m.start)

    def _variant_missing(self, scan: _Scan, items: list[Item]) -> bool:
        missing = [i.code for i in items if i.variant is None and i.code in self._has_variants]
        for code in missing:
            scan.evidence.append(Evidence("variant", 0, 0, "", f"{code}: which variant?"))
        return bool(missing)

    def _pinned(self, scan: _Scan, pinned: str | None) -> str | None:
        if not pinned or not isinstance(pinned, str):
            return None
        code = normalize_code(pinned)
        if code not in self._units:
            scan.evidence.append(Evidence("pinned", 0, 0, "", f"{code} is not in the catalog"))
            return None
        return code

    def _quantities(self, scan: _Scan, mentions: list[Mention]) -> list[_Qty]:
        tokens, found = scan.tokens, []
        starts = {m.start for m in mentions}
        i = 0
        while i < len(tokens):
            qty = None if i in scan.used else _quantity_at(scan, i, starts)
            if qty is None:
                i += 1
                continue
            scan.used.update(range(qty.start, qty.end))
            scan.note("qty", qty.start, qty.end, _fmt(qty.value))
            if qty.unit is not None and qty.unit_at is not None:
                scan.note("unit", qty.unit_at[0], qty.unit_at[1], qty.unit.name)
            found.append(qty)
            i = qty.end
        return found

    # -- decision -------------------------------------------------------------

    def _decide(
        self,
        scan: _Scan,
        cues: _Cues,
        mentions: list[Mention],
        qtys: list[_Qty],
        pinned: str | None,
    ) -> tuple[Intent, list[Item], float]:
        if cues.review_like:
            return self._decide_review(scan, cues, mentions, qtys, pinned)
        context = cues.commerce or bool(mentions) or bool(qtys)
        if cues.cancel and not cues.strong_q:
            return "cancel", self._cancel_items(scan, mentions, qtys), 0.9
        if cues.strong_q or (cues.weak_q and context):
            return "question", [], 0.9 if cues.strong_q else 0.75
        orderish = bool(mentions or qtys or cues.verbs)
        if cues.narrative or cues.negated:
            return "other", [], 0.6 if orderish else 0.9
        return self._order(scan, cues, mentions, qtys, pinned)

    def _decide_review(
        self,
        scan: _Scan,
        cues: _Cues,
        mentions: list[Mention],
        qtys: list[_Qty],
        pinned: str | None,
    ) -> tuple[Intent, list[Item], float]:
        """A long text ("Mua được 6 ngày, pin trâu, 5 sao"): its numbers are days, stars
        and prices, and "giá", "sao", "gì" are ordinary words, so only explicit cues count."""
        if any(scan.tokens[i].fold in _HARD_CANCELS for i, _ in cues.cancel):
            return "cancel", self._cancel_items(scan, mentions, qtys), 0.6
        if cues.explicit_q:
            return "question", [], 0.8
        if cues.narrative or cues.negated or not _verb_takes(scan, cues, mentions, qtys):
            return "other", [], 0.9
        intent, items, confidence = self._order(scan, cues, mentions, qtys, pinned)
        return intent, items, min(confidence, _REVIEW_ORDER_CAP)

    def _order(
        self,
        scan: _Scan,
        cues: _Cues,
        mentions: list[Mention],
        qtys: list[_Qty],
        pinned: str | None,
    ) -> tuple[Intent, list[Item], float]:
        pairs, unresolved = _pair(scan, mentions, qtys, cues.each)
        items: list[Item] = []
        scores: list[float] = []
        for mention, qty in pairs:
            read = self._order_item(scan, cues, mention, qty, pinned)
            if read is None:
                unresolved += _unresolved(cues, mention, qty)
                continue
            items.append(read[0])
            scores.append(read[1])
        if not items and not unresolved and cues.verbs and not mentions and not qtys:
            return self._bare_order(scan, cues, pinned)
        if not items and not unresolved:
            return "other", [], 0.6 if (mentions or qtys) else 0.9
        return "order", _dedupe(items), _order_confidence(scores, unresolved, items, cues)

    def _order_item(
        self,
        scan: _Scan,
        cues: _Cues,
        mention: Mention | None,
        qty: _Qty | None,
        pinned: str | None,
    ) -> tuple[Item, float] | None:
        """One ordered item and its confidence, or None when the pair orders nothing."""
        if mention is not None and mention.code is None:
            return None
        if mention is not None and _in_passing(mention, qty, cues):
            return None
        code = mention.code if mention is not None else pinned
        if code is None:
            return None
        variant = mention.variant if mention is not None else None
        value, score = self._item_qty(code, qty, variant=variant is not None)
        if mention is None:
            scan.evidence.append(Evidence("pinned", 0, 0, "", f"{code} on screen"))
        return Item(code, value, variant), score * _product_score(mention, bool(cues.verbs))

    def _bare_order(
        self, scan: _Scan, cues: _Cues, pinned: str | None
    ) -> tuple[Intent, list[Item], float]:
        """Only an order word ("chốt", "sold", "mau"): one of the pinned product."""
        if cues.unknown_words:
            return "other", [], 0.6  # "anh lấy vợ chưa", "để e suy nghĩ"
        if pinned is None:
            return "order", [], 0.3
        scan.evidence.append(Evidence("pinned", 0, 0, "", f"{pinned} on screen"))
        return "order", [Item(pinned, 1.0)], 0.85 * (0.6 if cues.variant else 1.0)

    def _item_qty(
        self, code: str, qty: _Qty | None, *, variant: bool = False
    ) -> tuple[float, float]:
        if qty is None:
            return 1.0, 0.9
        product_unit = self._units[code]
        value, score = qty.value, 0.95 if qty.words else 1.0
        # A variant is counted in its own packs ("2 túi 500g"): no unit to convert.
        unit = None if variant else qty.unit
        if unit is not None and unit.kg is not None and product_unit.kg is not None:
            value = value * unit.kg / product_unit.kg
        elif unit is not None and unit.group != product_unit.group:
            score *= 0.8 if unit.group == "piece" else 0.6
        value = round(value, 3)
        if value > 50:
            score *= 0.6
        elif value > 20:
            score *= 0.9
        if product_unit.kg is None and not value.is_integer():
            score *= 0.6
        if value < 0.1:
            score *= 0.6
        return value, score

    def _cancel_items(self, scan: _Scan, mentions: list[Mention], qtys: list[_Qty]) -> list[Item]:
        pairs, _ = _pair(scan, mentions, qtys, [])
        items = []
        for mention, qty in pairs:
            if mention is None or mention.code is None:
                continue
            variant = mention.variant is not None
            value = None if qty is None else self._item_qty(mention.code, qty, variant=variant)[0]
            items.append(Item(mention.code, value, mention.variant))
        return _dedupe(items)


# -- quantities ----------------------------------------------------------------


def _address(scan: _Scan) -> None:
    """Mark an address ("Ngõ 5 Kim Mã, Ba Đình") as read: up to the end of the comment,
    a phone number, a product code or an order word, whichever comes first."""
    tokens = scan.tokens
    for i in range(len(tokens)):
        if i in scan.used:
            continue
        if lx.ADDRESS.match_at(tokens, i) or lx.ADDRESS_PLAIN.match_at(tokens, i):
            end = next((k for k in range(i + 1, len(tokens)) if _ends_address(scan, k)), None)
            end = len(tokens) if end is None else end
            scan.note("address", i, end)
            scan.used.update(range(i, end))
            return


def _ends_address(scan: _Scan, k: int) -> bool:
    token = scan.tokens[k]
    return k in scan.used or token.kind == "code" or bool(lx.ORDER_VERBS.match_at(scan.tokens, k))


def _quantity_at(scan: _Scan, i: int, product_starts: set[int]) -> _Qty | None:
    tokens = scan.tokens
    amount = read_amount(tokens, i)
    if amount is None:
        return _unit_and_half(tokens, i)  # "cân rưỡi" = 1.5 kg
    j = amount.end
    if not 0 < amount.value < _MAX_QTY or not scan.free(amount.start, j):
        scan.used.update(range(amount.start, j))
        return None
    if _is_size_or_stars(tokens, amount.start, j) or (
        j < len(tokens) and _is_money_or_counter(tokens[j], tokens[j].glued)
    ):
        end = min(j + 1, len(tokens))
        scan.used.update(range(amount.start, end))
        scan.note("other", amount.start, end, "not a quantity")
        scan.not_quantities += 1
        return None
    value, unit, unit_at = amount.value, None, None
    read = read_unit(tokens, j) if j < len(tokens) and j not in scan.used else None
    if read is not None:
        unit, unit_at, j = read[0], (j, read[1]), read[1]
    if read_half(tokens, j):
        value, j = value + 0.5, j + 1
    if (
        amount.words
        and unit is None
        and not _words_are_quantity(scan, amount.start, j, product_starts)
    ):
        return None
    marked = amount.start > 0 and tokens[amount.start - 1] in lx.MULTIPLIERS
    return _Qty(value, amount.start, j, unit, amount.words, unit_at, marked)


def _unit_and_half(tokens: Sequence[Token], i: int) -> _Qty | None:
    read = read_unit(tokens, i)
    if read is None or not read_half(tokens, read[1]):
        return None
    return _Qty(1.5, i, read[1] + 1, read[0], words=True, unit_at=(i, read[1]))


def _verb_takes(scan: _Scan, cues: _Cues, mentions: list[Mention], qtys: list[_Qty]) -> bool:
    """Does an order word take a quantity or product right after it ("lấy 2 hộp")?
    In a review, "mua" and "thêm" mostly start a story ("Thêm nữa là…")."""
    starts = {m.start for m in mentions if m.code is not None} | {q.start for q in qtys}
    for _, end in cues.verbs:
        k = end
        while k < len(scan.tokens) and scan.tokens[k] in lx.FILLERS:
            k += 1
        if k in starts:
            return True
    return False


def _is_size_or_stars(tokens: Sequence[Token], i: int, j: int) -> bool:
    """ "size 36" is a variant and "5*" a rating, not quantities."""
    if i > 0 and tokens[i - 1] in lx.SIZE_WORDS:
        return True
    if j >= len(tokens) or tokens[j].fold != "*" or not tokens[j].glued:
        return False
    return j + 1 >= len(tokens) or tokens[j + 1].kind != "num"


def _is_money_or_counter(token: Token, glued: bool) -> bool:
    if token.kind == "sym":
        return token.fold in _MONEY_SYMBOLS
    if token.fold in ("k", "d") and not glued:
        return False  # "2 k" is rarely money; "k" alone is teencode for không
    return token in lx.MONEY or token in lx.COUNTERS


def _words_are_quantity(scan: _Scan, i: int, j: int, product_starts: set[int]) -> bool:
    """Spelled-out numbers are also words ("ba" = dad): trust them only in context."""
    tokens = scan.tokens
    if j in product_starts:
        return True
    previous = tokens[i - 1] if i > 0 else None
    if previous is not None and (
        previous in lx.ORDER_VERBS or previous in lx.MULTIPLIERS or previous in lx.FILLERS
    ):
        return previous.fold not in ("co", "la")
    rest = [t for t in tokens[j:] if t.kind == "word"]
    return i == 0 and all(t in lx.FILLERS for t in rest)


# -- cues ----------------------------------------------------------------------


def _find_cues(scan: _Scan, mentions: list[Mention], qtys: list[_Qty]) -> _Cues:
    idioms = {k for i, j in lx.NOT_ORDERS.find(scan.tokens) for k in range(i, j)}
    verbs = [v for v in scan.find(lx.ORDER_VERBS) if idioms.isdisjoint(range(*v))]
    negated_all = [v for v in verbs if _negated(scan.tokens, v[0])]
    given_up = [v for v in negated_all if _given_up(scan.tokens, v)]
    cancel = scan.find(lx.CANCEL_WORDS) + given_up
    negated = [v for v in negated_all if v not in set(given_up)]
    strong_q, weak_q, explicit_q = _questions(scan)
    # Not scan.find: "3 tháng trước" is read as "not a quantity", and still tells a story.
    narrative = lx.NARRATIVE.find(scan.tokens) + [
        v for v in verbs if v[1] < len(scan.tokens) and scan.tokens[v[1]].fold in ("roi", "r")
    ]
    each = scan.find(lx.EACH)
    for kind, spans in (
        ("cancel", cancel),
        ("question", strong_q + weak_q),
        ("narrative", narrative),
        ("negation", negated),
    ):
        for i, j in spans:
            scan.note(kind, i, j)
    plain_verbs = [v for v in verbs if v not in set(negated_all)]
    for i, j in plain_verbs:
        scan.note("verb", i, j)
    known = _known_tokens(scan, (verbs, cancel, strong_q, weak_q, explicit_q, narrative, each))
    return _Cues(
        verbs=plain_verbs,
        cancel=cancel,
        negated=negated,
        strong_q=strong_q,
        weak_q=weak_q,
        narrative=narrative,
        explicit_q=explicit_q,
        commerce=bool(scan.find(lx.COMMERCE)),
        each=each,
        unknown_words=_count_unknown(scan, known) + scan.not_quantities,
        variant=bool(scan.find(lx.VARIANTS)),
    )


def _negated(tokens: Sequence[Token], i: int) -> bool:
    for k in range(i - 1, max(-1, i - 3), -1):
        if tokens[k] in lx.NEGATIONS:
            return True
        if tokens[k] not in lx.FILLERS:
            return False
    return False


def _given_up(tokens: Sequence[Token], verb: tuple[int, int]) -> bool:
    """``thôi không lấy`` / ``không lấy chè nữa``: a negated order word that cancels."""
    after = tokens[verb[1] : verb[1] + 4]
    before = tokens[max(0, verb[0] - 4) : verb[0]]
    return any(t.fold in ("nua", "nx") for t in after) or any(t.fold == "thoi" for t in before)


_Spans = list[tuple[int, int]]


def _questions(scan: _Scan) -> tuple[_Spans, _Spans, _Spans]:
    """Question cues: (strong, weak, explicit). Explicit ones also ask inside a review."""
    tokens = scan.tokens
    idioms = {k for i, j in scan.find(lx.NOT_QUESTIONS) for k in range(i, j)}
    explicit = [
        (i, j) for i, j in scan.find(lx.EXPLICIT_QUESTION) if idioms.isdisjoint(range(i, j))
    ]
    taken = {k for i, j in explicit for k in range(i, j)}
    strong = [
        (i, j)
        for i, j in lx.STRONG_QUESTION.find(scan.tokens, scan.used | taken)
        if idioms.isdisjoint(range(i, j))
    ]
    weak: _Spans = []
    final = _clause_final(tokens)
    co = [i for i, t in enumerate(tokens) if t.kind == "word" and t.fold == "co"]
    for i, token in enumerate(tokens):
        if i in scan.used or i in taken:
            continue
        if token.kind == "sym" and token.fold == "?":
            weak.append((i, i + 1))
        elif final[i] and i > 0 and (token in lx.WEAK_QUESTION or token.low in _STRICT_WEAK):
            asks = _asks_whether(tokens, co, i)
            if asks:
                explicit.append((i, i + 1))  # "có ... không", "có sữa kg"
            elif asks is None:
                continue  # reported: "mình có hỏi là chè có để lâu k"
            else:
                weak.append((i, i + 1))
    explicit += _either_or(tokens, final) + _only_marks(tokens)
    return strong + explicit, weak, explicit


def _asks_whether(tokens: Sequence[Token], co: list[int], i: int) -> bool | None:
    """ "có … không" in one clause asks (True); reported, it asks nothing (None):
    "phát hiện là có tin hay không". False: no "có" before it in the clause."""
    before = [c for c in co if c < i]
    if not before or not _same_clause(tokens, before[-1], i):
        return False
    return None if _reported(tokens, before[-1]) else True


def _reported(tokens: Sequence[Token], i: int) -> bool:
    """Is ``tokens[i]`` inside a reported clause ("mình có hỏi nv là đt có … k")?"""
    for k in range(i - 1, -1, -1):
        token = tokens[k]
        if token.kind == "sym" and token.fold in ".!\n;,":
            return False
        if token.kind == "word" and token.fold in _REPORTED:
            return True
    return False


def _same_clause(tokens: Sequence[Token], i: int, j: int) -> bool:
    return not any(t.kind == "sym" and t.fold in ".!\n;" for t in tokens[i:j])


def _either_or(tokens: Sequence[Token], final: list[bool]) -> _Spans:
    """ "lấy đỏ hay xanh ạ", "lên ko hay vẫn để nguyên": a choice put to the shop."""
    found: _Spans = []
    for i, token in enumerate(tokens):
        if token.kind != "word" or token.low != "hay":
            continue
        after_no = i > 0 and tokens[i - 1] in lx.NEGATIONS
        polite_end = any(
            final[k] and tokens[k].low in ("ạ", "ak", "nhỉ", "ạh")
            for k in range(i + 1, len(tokens))
            if _same_clause(tokens, i, k)
        )
        if after_no or polite_end:
            found.append((i, i + 1))
    return found


def _only_marks(tokens: Sequence[Token]) -> _Spans:
    """ "???" or "??" anywhere: asking, even with nothing else said."""
    for i in range(len(tokens) - 1):
        if tokens[i].fold == "?" and tokens[i + 1].fold == "?" and tokens[i + 1].glued:
            return [(i, i + 2)]
    if tokens and all(t.kind == "sym" for t in tokens) and any(t.fold == "?" for t in tokens):
        return [(0, len(tokens))]
    return []


def _clause_final(tokens: Sequence[Token]) -> list[bool]:
    """For each token: is everything after it, up to the clause end, only particles?"""
    final = [True] * len(tokens)
    tail_ok = True
    for i in range(len(tokens) - 1, -1, -1):
        final[i] = tail_ok
        token = tokens[i]
        if token.kind == "sym":
            tail_ok = tail_ok or token.fold in ",;\n"
        elif token not in lx.QUESTION_TAIL:
            tail_ok = False
    return final


def _known_tokens(scan: _Scan, groups: Iterable[list[tuple[int, int]]]) -> set[int]:
    known = set(scan.used)
    for spans in groups:
        for i, j in spans:
            known.update(range(i, j))
    return known


def _count_unknown(scan: _Scan, known: set[int]) -> int:
    """Words none of the passes explained: "gửi về Thái Bình", "vợ", "lương"."""
    explained = {k for i, j in lx.KNOWN_WORDS.find(scan.tokens) for k in range(i, j)}
    return sum(
        1
        for i, token in enumerate(scan.tokens)
        if token.kind == "word"
        and i not in known
        and i not in explained
        and read_unit(scan.tokens, i) is None  # "lấy túi xanh": a unit with no number
    )


# -- pairing products with quantities ------------------------------------------

_Pair = tuple[Mention | None, _Qty | None]


def _segments(scan: _Scan) -> list[int]:
    """Token indexes where a new segment starts (separators between items)."""
    cuts = [0]
    for i, token in enumerate(scan.tokens):
        if i in scan.used:
            continue
        if (token.kind == "sym" and token.fold in _SEPARATOR_SYMBOLS) or token in lx.SEPARATORS:
            cuts.append(i)
    return cuts


def _pair(
    scan: _Scan, mentions: list[Mention], qtys: list[_Qty], each: list[tuple[int, int]]
) -> tuple[list[_Pair], int]:
    """Pair products and quantities segment by segment; also count stray quantities."""
    cuts = _segments(scan)
    groups: dict[int, list[Mention | _Qty]] = {}
    atoms: list[Mention | _Qty] = [*mentions, *qtys]
    for atom in sorted(atoms, key=lambda a: a.start):
        groups.setdefault(bisect_right(cuts, atom.start), []).append(atom)
    pairs: list[_Pair] = []
    extra = 0
    each_starts = sorted(i for i, _ in each)
    for segment in _merge_dangling([groups[k] for k in sorted(groups)]):
        k = bisect_left(each_starts, segment[0].start)
        has_each = k < len(each_starts) and each_starts[k] <= segment[-1].start
        found, stray = _pair_segment(segment, has_each)
        pairs.extend(found)
        extra += stray
    return pairs, extra


def _merge_dangling(segments: list[list[Mention | _Qty]]) -> list[list[Mention | _Qty]]:
    """ "hạt dẻ, 2 cân": a product-only segment followed by a quantity-only one."""
    merged: list[list[Mention | _Qty]] = []
    for atoms in segments:
        if (
            merged
            and all(isinstance(a, Mention) for a in merged[-1])
            and all(isinstance(a, _Qty) for a in atoms)
        ):
            merged[-1] = merged[-1] + atoms
        else:
            merged.append(atoms)
    return merged


def _pair_segment(atoms: list[Mention | _Qty], has_each: bool) -> tuple[list[_Pair], int]:
    products = [a for a in atoms if isinstance(a, Mention)]
    amounts = [a for a in atoms if isinstance(a, _Qty)]
    if not products:
        return [(None, amounts[0])], len(amounts) - 1
    if has_each and len(amounts) == 1:
        return [(p, amounts[0]) for p in products], 0
    if isinstance(atoms[0], _Qty):  # "2 hộp chè 1 chai mật ong"
        return _pair_prefix(atoms)
    return _pair_postfix(atoms)  # "chè 2 hộp mật ong 1 chai", "A3x2"


def _pair_prefix(atoms: list[Mention | _Qty]) -> tuple[list[_Pair], int]:
    pairs: list[_Pair] = []
    pending: _Qty | None = None
    extra = 0
    for atom in atoms:
        if isinstance(atom, _Qty):
            extra += pending is not None
            pending = atom
        else:
            pairs.append((atom, pending))
            pending = None
    return pairs, extra + (pending is not None)


def _pair_postfix(atoms: list[Mention | _Qty]) -> tuple[list[_Pair], int]:
    pairs: list[_Pair] = []
    extra = 0
    for atom in atoms:
        if isinstance(atom, Mention):
            pairs.append((atom, None))
        elif pairs and pairs[-1][1] is None:
            pairs[-1] = (pairs[-1][0], atom)
        else:
            extra += 1
    return pairs, extra


# -- confidence and evidence ------------------------------------------------------


def _in_passing(mention: Mention, qty: _Qty | None, cues: _Cues) -> bool:
    """A name with no quantity and no order word before it: "quê e cũng có hạt dẻ"."""
    if qty is not None or mention.how == "code":
        return False
    return not any(end <= mention.start for _, end in cues.verbs)


def _unresolved(cues: _Cues, mention: Mention | None, qty: _Qty | None) -> int:
    """Did this pair order something we cannot name (``B7 x1``, ``lấy 2 hũ mắm tôm``)?"""
    if mention is not None:
        return int(mention.code is None)
    return int(qty is not None and (bool(cues.verbs) or qty.unit is not None or qty.marked))


def _product_score(mention: Mention | None, has_verb: bool) -> float:
    if mention is None:
        return 0.95 if has_verb else 0.9
    if mention.how == "fuzzy":
        return 0.85 if mention.distance == 0 else 0.7
    return 0.92 if mention.how == "accent" else 1.0


def _order_confidence(
    scores: list[float], unresolved: int, items: list[Item], cues: _Cues
) -> float:
    if not items:
        return 0.3
    confidence = min(scores)
    if unresolved:
        confidence *= 0.6
    if len({(i.code, i.variant) for i in items}) < len(items):
        confidence *= 0.6
    if cues.weak_q:
        confidence *= 0.7
    if cues.variant:
        confidence *= 0.6
    if cues.unknown_words >= 3:
        confidence *= 0.75
    elif cues.unknown_words:
        confidence *= 0.95 if cues.unknown_words == 1 else 0.9
    return confidence


def _dedupe(items: list[Item]) -> list[Item]:
    """Keep the first reading of each product; the confidence already says "doubtful"."""
    seen: set[tuple[str, str | None]] = set()
    kept = []
    for item in items:
        if (item.code, item.variant) not in seen:
            seen.add((item.code, item.variant))
            kept.append(item)
    return kept


def _attach_variant(found: list[Mention], hit: VariantHit, pinned: str | None) -> bool:
    """Give ``hit`` a product: the one named right before or after it ("B2 xanh",
    "túi 500g măng"), else one named elsewhere in the comment, else the pinned one,
    else (nothing pinned) the only product that has it. False when none of these has the variant."""
    owners = dict(hit.owners)
    for k, m in enumerate(found):
        adjacent = m.end == hit.start or m.start == hit.end
        if adjacent and m.code in owners and m.variant is None:
            found[k] = dataclasses.replace(
                m, start=min(m.start, hit.start), end=max(m.end, hit.end), variant=owners[m.code]
            )
            return True
    for k, m in enumerate(found):  # "măng 2 túi, loại 500g"
        if m.code in owners and m.variant is None:
            found[k] = dataclasses.replace(m, variant=owners[m.code])
            return True
    named = [m.code for m in found if m.code in owners]  # "B2 xanh, vàng": one more line
    if named:
        code: str | None = named[0]
    elif pinned in owners:
        code = pinned
    else:
        # Nothing on screen: the only product with this variant. With another product
        # pinned, "túi xanh" is left to a helper rather than moved to a product not shown.
        code = hit.owners[0][0] if len(owners) == 1 and pinned is None else None
    if code is None:
        return False
    found.append(Mention(code, hit.start, hit.end, "variant", variant=owners[code]))
    return True


def _variant_note(found: list[Mention], hit: VariantHit) -> str:
    owners = dict(hit.owners)
    mention = next(
        (m for m in found if m.start <= hit.start and hit.end <= m.end),
        next(m for m in reversed(found) if m.code in owners and m.variant is not None),
    )
    return f"{mention.code}/{mention.variant}"


def _mention_evidence(m: Mention, names: dict[str, str]) -> tuple[str, int, int, str]:
    if m.code is None:
        return "code", m.start, m.end, "not in the catalog"
    label = f"{m.code} {names.get(m.code, '')}".strip()
    if m.how == "code":
        return "code", m.start, m.end, label
    if m.how == "fuzzy":
        return "alias", m.start, m.end, f"{label} (typo, distance {m.distance})"
    if m.how == "accent":
        return "alias", m.start, m.end, f"{label} (accents differ)"
    return "alias", m.start, m.end, label


def _fmt(value: float) -> str:
    return str(_json_qty(value))
