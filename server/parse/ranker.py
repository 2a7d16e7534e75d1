"""A small per-shop model of the helpers' review decisions, to rank the review queue.

The parser sends what it is unsure of to a helper. Every answer there (confirm,
edit, reject) is stored (``server.orders.decisions``); this module learns from
them which queued comments turn out to be real orders, so the queue can show
those first. Nothing is downloaded: the model is a logistic regression over
hashed character n-grams of the text (2 to 4 characters, word boundaries
included, so "chốt", "lấy", "2b" and teencode are caught however they are
spelled) and a few facts about the parse (its intent, confidence band, how many
items, whether it found a phone), written with numpy alone.

Rows are L2-normalised sparse vectors (indices into ``DIM`` hashed features;
CRC-32 hashing, stable across runs and machines). Training is full-batch
gradient descent with Nesterov momentum on the mean log-loss plus an L2 penalty
``l2`` (chosen by cross-validation on the hand-written set, docs/parser.md);
the bias is not penalised. A few hundred decisions train in well under a second.

The model only orders the queue; it never accepts or rejects anything.
"""

from __future__ import annotations

import logging
import math
import re
import unicodedata
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "DIM",
    "Example",
    "Ranker",
    "average_precision",
    "example_from_parse",
    "features",
    "measure",
    "roc_auc",
]

if TYPE_CHECKING:
    from server.parse.parser import Parser

logger = logging.getLogger(__name__)

DIM = 1 << 14
GRAMS = (2, 3, 4)
DEFAULT_L2 = 1e-3
MIN_EXAMPLES = 20  # fewer decisions than this (or only one kind) train no model
_SPACE = re.compile(r"\s+")

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Example:
    """What the model sees of one comment: its text and the parser's reading."""

    text: str
    intent: str | None = None
    confidence: float | None = None
    items: int = 0
    phone: bool = False


def example_from_parse(text: str, parse: Any) -> Example:
    """An :class:`Example` from a parse as stored (a JSON object) or a listing row."""
    data = parse if isinstance(parse, dict) else {}
    confidence = data.get("confidence")
    items = data.get("items")
    return Example(
        text=text or "",
        intent=data.get("intent") if isinstance(data.get("intent"), str) else None,
        confidence=float(confidence) if isinstance(confidence, int | float) else None,
        items=len(items) if isinstance(items, list) else 0,
        phone=bool(data.get("phone")),
    )


def _tokens(example: Example) -> set[str]:
    text = _SPACE.sub(" ", unicodedata.normalize("NFC", example.text).lower()).strip()
    padded = f" {text} "
    tokens = {padded[i : i + n] for n in GRAMS for i in range(len(padded) - n + 1)}
    tokens.update(f"w:{word}" for word in text.split())
    band = "none" if example.confidence is None else str(min(4, int(example.confidence * 5)))
    tokens.update(
        (
            f"p:intent={example.intent}",
            f"p:conf={band}",
            f"p:items={min(example.items, 3)}",
            f"p:phone={example.phone}",
        )
    )
    return tokens


def features(example: Example) -> IntArray:
    """The sorted, distinct hashed feature indices of ``example``."""
    indices = {zlib.crc32(t.encode("utf-8")) % DIM for t in _tokens(example)}
    return np.fromiter(sorted(indices), dtype=np.int64, count=len(indices))


class _Rows:
    """A batch of L2-normalised binary rows in compressed sparse form."""

    def __init__(self, examples: Sequence[Example]) -> None:
        rows = [features(e) for e in examples]
        lengths = np.array([len(r) for r in rows], dtype=np.int64)
        self.n = len(rows)
        self.indices: IntArray = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
        self.row_of: IntArray = np.repeat(np.arange(self.n, dtype=np.int64), lengths)
        self.values: FloatArray = np.repeat(1.0 / np.sqrt(np.maximum(lengths, 1)), lengths)

    def dot(self, weights: FloatArray) -> FloatArray:
        """``X @ weights``."""
        out = np.bincount(
            self.row_of, weights=self.values * weights[self.indices], minlength=self.n
        )
        return out.astype(np.float64, copy=False)

    def tdot(self, per_row: FloatArray) -> FloatArray:
        """``X.T @ per_row``."""
        out = np.bincount(self.indices, weights=self.values * per_row[self.row_of], minlength=DIM)
        return out.astype(np.float64, copy=False)


def _sigmoid(z: FloatArray) -> FloatArray:
    return np.asarray(0.5 * (1.0 + np.tanh(0.5 * z)), dtype=np.float64)  # overflow-free


class Ranker:
    """Logistic regression: the probability that a queued comment is a real order."""

    def __init__(self, weights: FloatArray, bias: float, trained_on: int) -> None:
        self.weights = weights
        self.bias = bias
        self.trained_on = trained_on

    @classmethod
    def train(
        cls,
        examples: Sequence[Example],
        labels: Sequence[bool],
        *,
        l2: float = DEFAULT_L2,
        iterations: int = 300,
        start: Ranker | None = None,
    ) -> Ranker | None:
        """Fit on ``examples`` (``labels``: was it a real order); ``None`` when there is
        too little to learn from (fewer than ``MIN_EXAMPLES``, or one kind only).

        ``start`` warm-starts from an earlier model, so retraining after a few new
        decisions converges in few steps.
        """
        y = np.asarray(labels, dtype=np.float64)
        if len(examples) != len(y):
            raise ValueError("examples and labels differ in length")
        if len(y) < MIN_EXAMPLES or y.min() == y.max():
            return None
        rows = _Rows(examples)
        if start is not None:
            w, b = start.weights.copy(), start.bias
        else:
            prior = float(y.mean())
            w, b = np.zeros(DIM), math.log(prior / (1 - prior))
        step = 1.0 / (0.25 + l2)  # rows have unit norm: the loss is (0.25 + l2)-smooth
        w_prev, b_prev = w.copy(), b
        for k in range(1, iterations + 1):
            momentum = (k - 1) / (k + 2)
            v = w + momentum * (w - w_prev)
            c = b + momentum * (b - b_prev)
            residual = (_sigmoid(rows.dot(v) + c) - y) / rows.n
            w_prev, b_prev = w, b
            w = v - step * (rows.tdot(residual) + l2 * v)
            b = c - step * float(residual.sum())
        logger.debug("review ranker trained on %d decisions", rows.n)
        return cls(w, b, rows.n)

    def score(self, examples: Sequence[Example]) -> FloatArray:
        """The probability of a real order, per example."""
        if not examples:
            return np.zeros(0)
        rows = _Rows(examples)
        return _sigmoid(rows.dot(self.weights) + self.bias)


Scores = Sequence[float] | FloatArray


def roc_auc(scores: Scores, labels: Sequence[bool]) -> float:
    """The chance that a random real order scores above a random non-order (ties: half)."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels, dtype=bool)
    pos, neg = s[y], s[~y]
    if not len(pos) or not len(neg):
        return float("nan")
    greater = (pos[:, None] > neg[None, :]).sum()
    ties = (pos[:, None] == neg[None, :]).sum()
    return float((greater + 0.5 * ties) / (len(pos) * len(neg)))


def average_precision(scores: Scores, labels: Sequence[bool]) -> float:
    """Mean precision at each real order when the list is read highest score first."""
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    y = np.asarray(labels, dtype=bool)[order]
    if not y.any():
        return float("nan")
    hits = np.cumsum(y)
    return float((hits[y] / (np.flatnonzero(y) + 1)).mean())


def measure(
    parser: Parser,
    train: Sequence[dict[str, Any]],
    test: Sequence[dict[str, Any]],
    threshold: float = 0.8,
) -> dict[str, float]:
    """The ranker's effect on labelled sets (the ``chotdon parse --eval`` format).

    Every ``train`` line stands for one helper's decision (the label is whether it
    was an order); the model then scores ``test``. Figures: ROC AUC and average
    precision of "is a real order" over all of ``test``, by the model and by the
    parser's own order confidence; and, over the lines the order book would queue
    for review (an order or cancel below ``threshold``, or no intent), the average
    precision of the model's order against the queue's plain newest-first order.
    """
    rows = [(_parsed(parser, r), r["expect"]["intent"] == "order") for r in train]
    model = Ranker.train([e for e, _ in rows], [y for _, y in rows])
    if model is None:
        raise ValueError("the training lines hold too few decisions of each kind")
    tested = [(_parsed(parser, r), r["expect"]["intent"] == "order") for r in test]
    examples, labels = [e for e, _ in tested], [y for _, y in tested]
    scores = model.score(examples)
    confidence = [e.confidence or 0.0 if e.intent == "order" else 0.0 for e in examples]
    queued = [i for i, e in enumerate(examples) if _queued(e, threshold)]
    q_labels = [labels[i] for i in queued]
    return {
        "test": len(examples),
        "auc_model": roc_auc(scores, labels),
        "auc_confidence": roc_auc(confidence, labels),
        "ap_model": average_precision(scores, labels),
        "ap_confidence": average_precision(confidence, labels),
        "queued": len(queued),
        "queued_orders": sum(q_labels),
        "queue_ap_model": average_precision([scores[i] for i in queued], q_labels),
        "queue_ap_newest_first": average_precision([float(i) for i in queued], q_labels),
    }


def _parsed(parser: Parser, row: dict[str, Any]) -> Example:
    result = parser.parse(row["text"], pinned=row.get("pinned"))
    return Example(
        row["text"], result.intent, result.confidence, len(result.items), bool(result.phone)
    )


def _queued(example: Example, threshold: float) -> bool:
    if example.intent is None:
        return True
    confidence = example.confidence or 0.0
    return example.intent in ("order", "cancel") and confidence < threshold
