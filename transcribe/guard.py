"""Cleaning Whisper's output: drop loops and hallucinations, repair word times.

Whisper fails in two well-known ways on long noisy recordings. It gets stuck
repeating a phrase ("cả nhà ơi cả nhà ơi cả nhà ơi ..."), and over silence or
background music it invents fluent text that nobody said (in Vietnamese, most
famously a YouTube channel's subscribe request). Turning off
``condition_on_previous_text`` stops one loop from feeding the next window; the
functions here catch what still gets through, one segment at a time, so a bad
segment costs only itself.

Word timing is the other repair. The aligner sometimes gives a word no time
at all (zero length, or a start after its end), most often numbers and prices
such as "120.000"; those words get times spread between their neighbours.

Everything here is a pure function over plain values, so it is tested with
hand-built segments rather than a model.
"""

from __future__ import annotations

import logging
import math
import re
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from transcribe.types import Segment, Word

__all__ = [
    "GuardOptions",
    "Scored",
    "compression_ratio",
    "drop_reason",
    "filter_segments",
    "interpolate_words",
    "longest_repeat",
]

logger = logging.getLogger(__name__)

# Phrases Whisper is known to produce over music or silence in Vietnamese and
# that no seller says on a live; matched case-insensitively anywhere in a segment.
KNOWN_HALLUCINATIONS = (
    "ghiền mì gõ",
    "subtitles by",
    "amara.org",
    "vietsub by",
)


class Scored(NamedTuple):
    """A decoded segment with the decoder's confidence figures."""

    segment: Segment
    avg_logprob: float = 0.0
    no_speech_prob: float = 0.0


@dataclass(frozen=True)
class GuardOptions:
    """Thresholds; the defaults follow Whisper's own fallback thresholds."""

    enabled: bool = True
    max_repeats: int = 4  # an n-gram said more than this many times in a row is a loop
    max_ngram: int = 6
    compression_ratio: float = 2.4
    logprob_threshold: float = -1.0
    no_speech_threshold: float = 0.6
    require_words: bool = True  # a segment whose words were all dropped is noise


def compression_ratio(text: str) -> float:
    """How well the text compresses; repetitive text scores high (Whisper's measure)."""
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


def longest_repeat(words: Sequence[str], max_ngram: int = 6) -> int:
    """The most times any n-gram (n <= ``max_ngram``) occurs back to back."""
    best = 1 if words else 0
    for n in range(1, max_ngram + 1):
        for start in range(len(words) - n):
            gram = words[start : start + n]
            count, at = 1, start + n
            while words[at : at + n] == gram:
                count, at = count + 1, at + n
            best = max(best, count)
    return best


def _normalised_words(text: str) -> list[str]:
    return [w for w in re.split(r"[\s,.!?;:…]+", text.lower()) if w]


def drop_reason(scored: Scored, options: GuardOptions) -> str | None:
    """Why this segment should be dropped, or None to keep it."""
    seg = scored.segment
    text = seg.text.strip()
    if not text:
        return "empty text"
    words = _normalised_words(text)
    if longest_repeat(words, options.max_ngram) > options.max_repeats:
        return "repetition loop"
    if len(words) >= 8 and compression_ratio(text) > options.compression_ratio:
        return "repetition loop (compresses too well)"
    lowered = text.lower()
    if any(phrase in lowered for phrase in KNOWN_HALLUCINATIONS):
        return "known hallucination"
    if (
        scored.avg_logprob < options.logprob_threshold
        and scored.no_speech_prob > options.no_speech_threshold
    ):
        return "unsure text over silence"
    if options.require_words and not seg.words:
        return "no words"
    return None


def _bad(word: Word) -> bool:
    return not (math.isfinite(word.start) and math.isfinite(word.end)) or word.end <= word.start


def _spread(run: Sequence[Word], left: float, right: float) -> list[Word]:
    weights = [len(w.word.strip()) + 1 for w in run]
    total, at, out = sum(weights), left, []
    for word, weight in zip(run, weights, strict=True):
        step = (right - left) * weight / total
        out.append(word._replace(start=round(at, 3), end=round(at + step, 3)))
        at += step
    return out


def interpolate_words(words: Sequence[Word], start: float, end: float) -> tuple[Word, ...]:
    """Give words without usable timing times between their timed neighbours.

    A run of bad words shares the gap between the previous good word's end and
    the next good word's start, by length. When that gap is empty the run and
    its two neighbours share the neighbours' span instead. All times end up
    inside ``[start, end]`` and in order.
    """
    fixed = [
        w._replace(start=min(max(w.start, start), end), end=min(max(w.end, start), end))
        if not _bad(w)
        else w
        for w in words
    ]
    i = 0
    while i < len(fixed):
        if not _bad(fixed[i]):
            i += 1
            continue
        j = i
        while j < len(fixed) and _bad(fixed[j]):
            j += 1
        lo = i - 1 if i > 0 else None
        hi = j if j < len(fixed) else None
        left = fixed[lo].end if lo is not None else start
        right = fixed[hi].start if hi is not None else end
        if right - left >= 0.02 * (j - i):
            fixed[i:j] = _spread(fixed[i:j], left, right)
        else:  # no room: share the neighbours' span
            a = lo if lo is not None else i
            b = hi + 1 if hi is not None else j
            span_lo = fixed[lo].start if lo is not None else start
            span_hi = fixed[hi].end if hi is not None else end
            fixed[a:b] = _spread(fixed[a:b], span_lo, max(span_hi, span_lo))
        i = j
    return _monotonic(fixed)


def _monotonic(words: Sequence[Word]) -> tuple[Word, ...]:
    out: list[Word] = []
    for w in words:
        s = max(w.start, out[-1].end) if out else w.start
        out.append(w._replace(start=s, end=max(w.end, s)))
    return tuple(out)


def repair(segment: Segment) -> Segment:
    """The segment with interpolated word times and bounds that cover its words."""
    if not segment.words:
        return segment
    words = interpolate_words(segment.words, segment.start, segment.end)
    return segment._replace(words=words, start=words[0].start, end=words[-1].end)


def filter_segments(scored: Iterable[Scored], options: GuardOptions) -> Iterator[Segment]:
    """Repaired segments that pass the guard, logging each one dropped."""
    for item in scored:
        segment = repair(item.segment)
        if options.enabled:
            reason = drop_reason(item._replace(segment=segment), options)
            if reason:
                logger.info(
                    "dropped %.1f-%.1f s (%s): %.60s",
                    segment.start,
                    segment.end,
                    reason,
                    segment.text,
                )
                continue
        yield segment
