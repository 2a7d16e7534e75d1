"""Caption cues for vertical video, and SRT, WebVTT and ASS writers.

A cue holds at most ``max_lines`` lines of about ``max_chars`` characters. The
limit is counted in characters, not words: Vietnamese words are single
syllables, so a line of 24 characters carries five or six of them, and a line
is only ever broken between words. Cues last 1 to 7 seconds, and end early at
sentence punctuation and at pauses in speech; when a cue is full we cut it at
the last comma or short pause inside it rather than wherever the text ran out,
because a caption that ends on a phrase boundary is easier to read at a glance.

Words are joined the way faster-whisper spells them: each word token carries
its own leading space, and a token without one (``",000"``, ``".000"``,
``","``) continues the word before it. So ``" $60" ",000"`` reads ``$60,000``
and ``" 100" ".000" " đ"`` reads ``100.000 đ``: a price is never split across
lines or cues, and punctuation stays on its word. Such a run of tokens is one
caption word, timed from its first token's start to its last token's end.

Times come from word timings when the transcript has them. Segments without
words (a hand-written transcript, say) get word times spread over the segment
in proportion to word length, which is good enough for a caption.

ASS output draws with the shipped "Noto Sans" family (the clip renderer gives
libass ``fontsdir=assets/fonts``) and, when ``karaoke`` is on, one ``\\k`` tag
per word so each word lights up as it is spoken.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal, NamedTuple

from transcribe.types import Segment, Word, segments_to_json

__all__ = [
    "CaptionFormat",
    "Cue",
    "build_cues",
    "join_tokens",
    "slice_segments",
    "to_ass",
    "to_srt",
    "to_vtt",
    "write_captions",
]

CaptionFormat = Literal["srt", "vtt", "ass", "json"]

SENTENCE_END = (".", "!", "?", "…")
PHRASE_END = (",", ";", ":", "-", "–")
PAUSE = 0.3  # seconds of silence that count as a phrase boundary
LONG_PAUSE = 0.8  # seconds of silence that always end a cue


class Cue(NamedTuple):
    """One caption on screen: times in seconds, lines of text, and its words."""

    start: float
    end: float
    lines: tuple[str, ...]
    words: tuple[Word, ...]


class _Token(NamedTuple):
    word: Word  # text stripped
    gap_after: float  # silence before the next word; inf after the last one
    segment_end: bool


# ---------------------------------------------------------------------------
# Words from segments


def _spread_words(segment: Segment) -> tuple[Word, ...]:
    """Word times for a segment that has none, in proportion to word length."""
    texts = segment.text.split()
    if not texts:
        return ()
    total = sum(len(t) + 1 for t in texts)
    span = max(segment.end - segment.start, 0.0)
    words: list[Word] = []
    at = segment.start
    for text in texts:
        step = span * (len(text) + 1) / total
        words.append(Word(at, at + step, " " + text, 1.0))
        at += step
    return tuple(words)


def _spaced(words: Sequence[Word]) -> bool:
    """Whether these words carry faster-whisper's leading spaces. A hand-written
    transcript often has bare words; each of those is a word of its own."""
    return any(w.word[:1].isspace() for w in words)


def join_tokens(words: Sequence[Word]) -> list[Word]:
    """Whole words from faster-whisper's tokens: a token that does not start with
    whitespace is glued to the one before it (``" $60" + ",000"``). The result's
    words are stripped; empty tokens vanish. The first token always starts a word."""
    out: list[Word] = []
    spaced = _spaced(words)
    for word in words:
        text = word.word
        if not text.strip():
            continue
        if out and spaced and not text[:1].isspace():
            last = out[-1]
            out[-1] = Word(
                last.start,
                max(last.end, word.end),
                last.word + text.rstrip(),
                min(last.probability, word.probability),
            )
        else:
            out.append(word._replace(word=text.strip()))
    return out


def _tokens(segments: Iterable[Segment]) -> list[_Token]:
    flat: list[tuple[Word, bool]] = []
    for segment in segments:
        words = join_tokens(segment.words or _spread_words(segment))
        flat += [(w, i == len(words) - 1) for i, w in enumerate(words)]
    flat.sort(key=lambda item: item[0].start)
    tokens = []
    for i, (word, seg_end) in enumerate(flat):
        gap = flat[i + 1][0].start - word.end if i + 1 < len(flat) else float("inf")
        tokens.append(_Token(word, max(gap, 0.0), seg_end))
    return tokens


def _phrase_break(token: _Token) -> bool:
    text = token.word.word
    return text.endswith(SENTENCE_END + PHRASE_END) or token.gap_after >= PAUSE


def _sentence_break(token: _Token) -> bool:
    return token.word.word.endswith(SENTENCE_END) or token.gap_after >= LONG_PAUSE


# ---------------------------------------------------------------------------
# Line wrapping


def _line_cost(tokens: Sequence[_Token], max_chars: int) -> float | None:
    length = len(" ".join(t.word.word for t in tokens))
    if length > max_chars and len(tokens) > 1:
        return None  # a single over-long word may stand alone; nothing else may
    slack = max(max_chars - length, 0)
    bonus = 40 if _phrase_break(tokens[-1]) else 0
    return float(slack * slack - bonus)


def _wrap(
    tokens: Sequence[_Token], max_chars: int, max_lines: int
) -> tuple[float, list[int]] | None:
    """Cheapest split of ``tokens`` into at most ``max_lines`` lines.

    Returns (cost, sizes of the lines) or None. Squared slack keeps lines
    balanced; a phrase boundary at a line end earns a bonus. A cue has only a
    dozen words, so trying every split is cheap.
    """
    whole = _line_cost(tokens, max_chars)
    if whole is not None:
        return 0.0, [len(tokens)]  # one line is best when it fits
    if max_lines <= 1:
        return None
    best: tuple[float, list[int]] | None = None
    for cut in range(1, len(tokens)):
        head = _line_cost(tokens[:cut], max_chars)
        if head is None:
            break
        rest = _wrap(tokens[cut:], max_chars, max_lines - 1)
        if rest is None:
            continue
        rest_cost = rest[0] if len(rest[1]) > 1 else _line_cost(tokens[cut:], max_chars) or 0.0
        cost = head + rest_cost
        if best is None or cost < best[0]:
            best = (cost, [cut, *rest[1]])
    return best


def _lines(tokens: Sequence[_Token], max_chars: int, max_lines: int) -> tuple[str, ...]:
    wrapped = _wrap(tokens, max_chars, max_lines)
    sizes = wrapped[1] if wrapped else [len(tokens)]
    lines, at = [], 0
    for size in sizes:
        lines.append(" ".join(t.word.word for t in tokens[at : at + size]))
        at += size
    return tuple(lines)


# ---------------------------------------------------------------------------
# Grouping words into cues


class _Limits(NamedTuple):
    max_chars: int
    max_lines: int
    max_duration: float


def _fits(tokens: Sequence[_Token], limits: _Limits) -> bool:
    duration = tokens[-1].word.end - tokens[0].word.start
    if len(tokens) > 1 and duration > limits.max_duration:
        return False
    return _wrap(tokens, limits.max_chars, limits.max_lines) is not None


def _split_point(tokens: Sequence[_Token], max_chars: int) -> int:
    """Where to end a full cue: after its last phrase boundary that leaves at
    least a line's worth of text, else after everything it holds."""
    for cut in range(len(tokens) - 1, 0, -1):
        if _phrase_break(tokens[cut - 1]):
            if len(" ".join(t.word.word for t in tokens[:cut])) >= max_chars:
                return cut
            break
    return len(tokens)


def _group(tokens: Sequence[_Token], limits: _Limits) -> list[list[_Token]]:
    groups: list[list[_Token]] = []
    current: list[_Token] = []
    for token in tokens:
        if current and not _fits([*current, token], limits):
            cut = _split_point(current, limits.max_chars)
            groups.append(current[:cut])
            current = current[cut:]
            if current and not _fits([*current, token], limits):
                groups.append(current)
                current = []
        current.append(token)
        if _sentence_break(token):
            groups.append(current)
            current = []
    if current:
        groups.append(current)
    return groups


def _timed(groups: list[list[_Token]], limits: _Limits, min_duration: float) -> list[Cue]:
    cues: list[Cue] = []
    for i, group in enumerate(groups):
        start = group[0].word.start
        end = max(group[-1].word.end, start + min_duration)
        end = min(end, start + limits.max_duration)
        if i + 1 < len(groups):  # linger when there is room, never overlap the next cue
            end = min(end, groups[i + 1][0].word.start)
        end = max(end, start)
        lines = _lines(group, limits.max_chars, limits.max_lines)
        cues.append(Cue(round(start, 3), round(end, 3), lines, tuple(t.word for t in group)))
    return cues


def build_cues(
    segments: Iterable[Segment],
    *,
    max_chars: int = 24,
    max_lines: int = 2,
    min_duration: float = 1.0,
    max_duration: float = 7.0,
) -> list[Cue]:
    """Group the words of ``segments`` into caption cues, in time order.

    Lines never break inside a word; a single word longer than ``max_chars``
    gets a line of its own. A cue is shown for at least ``min_duration``
    seconds unless the next cue starts sooner, and at most ``max_duration``.
    """
    if max_chars < 1 or max_lines < 1 or not 0 <= min_duration <= max_duration:
        raise ValueError("need max_chars >= 1, max_lines >= 1, 0 <= min_duration <= max_duration")
    limits = _Limits(max_chars, max_lines, max_duration)
    return _timed(_group(_tokens(segments), limits), limits, min_duration)


# ---------------------------------------------------------------------------
# Cutting a clip out of a long transcript


def _shift_word(word: Word, start: float, end: float) -> Word:
    return word._replace(
        start=round(max(word.start, start) - start, 3),
        end=round(min(word.end, end) - start, 3),
    )


def _units(words: Sequence[Word]) -> list[list[Word]]:
    """Tokens grouped into whole words (see :func:`join_tokens`), tokens kept."""
    units: list[list[Word]] = []
    spaced = _spaced(words)
    for word in words:
        if units and spaced and word.word and not word.word[:1].isspace():
            units[-1].append(word)
        else:
            units.append([word])
    return units


def slice_segments(segments: Iterable[Segment], start: float, end: float) -> list[Segment]:
    """The part of a transcript between ``start`` and ``end``, shifted to begin at 0.

    A word belongs to the clip when its middle lies inside the window, so a word
    cut in half by the clip edge is kept only if most of it is heard; a number
    spread over several tokens (``" 150" ",000"``) is kept or dropped whole.
    Segments without words are kept when their middle lies inside. Times are
    clamped to the window; ids are renumbered from 0.
    """
    out: list[Segment] = []
    for segment in segments:
        if segment.end < start or segment.start > end:
            continue
        if segment.words:
            words = tuple(
                _shift_word(w, start, end)
                for unit in _units(segment.words)
                if start <= (unit[0].start + unit[-1].end) / 2 <= end
                for w in unit
            )
            if not words:
                continue
            text = "".join(w.word for w in words).strip()
            if len(words) == len(segment.words):
                text = segment.text.strip()
            seg_start, seg_end = words[0].start, words[-1].end
        else:
            if not start <= (segment.start + segment.end) / 2 <= end:
                continue
            words, text = (), segment.text.strip()
            seg_start = round(max(segment.start, start) - start, 3)
            seg_end = round(min(segment.end, end) - start, 3)
        out.append(Segment(len(out), seg_start, seg_end, text, words))
    return out


# ---------------------------------------------------------------------------
# Writers


def _clock(seconds: float, sep: str) -> str:
    ms = max(round(seconds * 1000), 0)
    hours, ms = divmod(ms, 3_600_000)
    minutes, ms = divmod(ms, 60_000)
    secs, ms = divmod(ms, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{sep}{ms:03d}"


def to_srt(cues: Iterable[Cue]) -> str:
    """SubRip text: numbered cues, ``00:00:01,000 --> 00:00:02,500``."""
    blocks = [
        f"{i}\n{_clock(c.start, ',')} --> {_clock(c.end, ',')}\n" + "\n".join(c.lines) + "\n"
        for i, c in enumerate(cues, start=1)
    ]
    return "\n".join(blocks)


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_vtt(cues: Iterable[Cue]) -> str:
    """WebVTT text, with ``&``, ``<`` and ``>`` escaped as the format requires."""
    blocks = [
        f"{_clock(c.start, '.')} --> {_clock(c.end, '.')}\n"
        + "\n".join(_vtt_escape(line) for line in c.lines)
        + "\n"
        for c in cues
    ]
    return "\n".join(["WEBVTT\n", *blocks])


def _ass_clock(seconds: float) -> str:
    cs = max(round(seconds * 100), 0)
    hours, cs = divmod(cs, 360_000)
    minutes, cs = divmod(cs, 6000)
    secs, cs = divmod(cs, 100)
    return f"{hours}:{minutes:02d}:{secs:02d}.{cs:02d}"


def _ass_escape(text: str) -> str:
    # Braces open override blocks and a backslash starts a tag: keep them literal-looking.
    return text.replace("\\", "/").replace("{", "(").replace("}", ")")


def _ass_text(cue: Cue, karaoke: bool) -> str:
    if not karaoke or not cue.words:
        return r"\N".join(_ass_escape(line) for line in cue.lines)
    # Walk the words line by line; each word's \k lasts until the next word starts,
    # so pauses stay lit on the word before them.
    starts = [round(w.start * 100) for w in cue.words] + [round(cue.end * 100)]
    parts: list[str] = []
    lead = starts[0] - round(cue.start * 100)
    if lead > 0:
        parts.append(f"{{\\k{lead}}}")
    index = 0
    for n, line in enumerate(cue.lines):
        if n:
            parts.append(r"\N")
        for k, text in enumerate(line.split(" ")):
            duration = max(starts[index + 1] - starts[index], 0)
            space = " " if k else ""
            parts.append(f"{space}{{\\k{duration}}}{_ass_escape(text)}")
            index += 1
    return "".join(parts)


def _ass_colour(rgb: str, alpha: int = 0) -> str:
    r, g, b = (int(rgb.lstrip("#")[i : i + 2], 16) for i in (0, 2, 4))
    return f"&H{alpha:02X}{b:02X}{g:02X}{r:02X}"


def to_ass(
    cues: Iterable[Cue],
    *,
    karaoke: bool = True,
    play_res: tuple[int, int] = (1080, 1920),
    font_name: str = "Noto Sans",
    font_size: int = 72,
    bold: bool = True,
    margin_h: int | None = None,
    margin_v: int | None = None,
    text_colour: str = "#ffffff",
    highlight_colour: str = "#ffd60a",
) -> str:
    """Advanced SubStation Alpha script for burning captions into a vertical clip.

    Default margins keep the text inside the centre 960x1386 of a 1080x1920
    frame (the platforms' safe area), in its lower part, scaled for other
    frame sizes. With ``karaoke`` each word is drawn in ``text_colour`` and turns
    ``highlight_colour`` as it is spoken. Lines are broken by :func:`build_cues`;
    libass's own wrapping is switched off (``WrapStyle: 2``).
    """
    width, height = play_res
    side = margin_h if margin_h is not None else round(width * 90 / 1080)
    bottom = margin_v if margin_v is not None else round(height * 400 / 1920)
    size = round(font_size * height / 1920)
    sung = _ass_colour(highlight_colour if karaoke else text_colour)
    unsung = _ass_colour(text_colour)
    header = [
        "[Script Info]",
        "; Written by chotdon (transcribe.captions)",
        "ScriptType: v4.00+",
        f"PlayResX: {width}",
        f"PlayResY: {height}",
        "WrapStyle: 2",
        "ScaledBorderAndShadow: yes",
        "YCbCr Matrix: TV.709",
        "",
        "[V4+ Styles]",
        "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, "
        "BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, "
        "BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding",
        f"Style: Default,{font_name},{size},{sung},{unsung},&H00000000,&H80000000,"
        f"{-1 if bold else 0},0,0,0,100,100,0,0,1,{max(size // 16, 2)},{max(size // 36, 1)},"
        f"2,{side},{side},{bottom},1",
        "",
        "[Events]",
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text",
    ]
    events = [
        f"Dialogue: 0,{_ass_clock(c.start)},{_ass_clock(c.end)},Default,,0,0,0,,"
        + _ass_text(c, karaoke)
        for c in cues
    ]
    return "\n".join([*header, *events]) + "\n"


_CUE_OPTIONS = ("max_chars", "max_lines", "min_duration", "max_duration")


def render_captions(segments: Iterable[Segment], fmt: CaptionFormat, **opts: Any) -> str:
    """The text of a caption file; ``opts`` go to :func:`build_cues` and the writer."""
    segments = list(segments)
    if fmt == "json":
        return json.dumps({"segments": segments_to_json(segments)}, ensure_ascii=False, indent=1)
    cue_opts = {k: opts.pop(k) for k in _CUE_OPTIONS if k in opts}
    cues = build_cues(segments, **cue_opts)
    if fmt == "srt":
        return to_srt(cues)
    if fmt == "vtt":
        return to_vtt(cues)
    if fmt == "ass":
        return to_ass(cues, **opts)
    raise ValueError(f"unknown caption format {fmt!r}; use srt, vtt, ass or json")


def write_captions(
    segments: Iterable[Segment], path: Path | str, fmt: CaptionFormat, **opts: Any
) -> Path:
    """Write a caption file atomically: an interrupted run leaves the old file or none."""
    path = Path(path)
    text = render_captions(segments, fmt, **opts)
    atomic_write_text(path, text)
    return path


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a temporary file in the same folder and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
