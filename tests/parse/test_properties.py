"""Property tests: no text can crash the parser or the CLI, and results stay well-formed."""

from __future__ import annotations

import json

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.parse import Parser, ParseResult
from server.parse.cli import parse as parse_command

_VOCAB = [
    "chốt", "lấy", "hủy", "không", "nữa", "bao nhiêu", "A1", "#B2", "a3x2", "mã", "cân",
    "rưỡi", "nửa", "lạng", "hai mươi", "mười lăm", "gói", "0912 345 678", "+84", "84",
    "x", "sl", "?", ",", "và", "mỗi loại", "hạt dẻ", "mat ongg", "k", "100k", "2 năm",
    "\u0301", "\u0323", "🔥", "❤️", "\n", "\x00", "\u202e", "ﬁ", "２", "𝟙", "İ", "ß",
]  # fmt: skip

texts = st.one_of(
    st.text(max_size=300),
    st.lists(st.sampled_from(_VOCAB), max_size=40).map(" ".join),
    st.lists(st.sampled_from(_VOCAB), max_size=40).map("".join),
)
pinned = st.one_of(
    st.none(), st.sampled_from(["A1", "b5", "#A2", "ZZ", "", " "]), st.text(max_size=5)
)


def _check(result: ParseResult, text: str) -> None:
    assert result.intent in ("order", "cancel", "question", "other")
    assert 0.0 <= result.confidence <= 1.0
    for evidence in result.evidence:
        assert 0 <= evidence.start <= evidence.end <= len(text)
        assert text[evidence.start : evidence.end] == evidence.text
    for item in result.items:
        assert item.qty is None or item.qty > 0
    if result.phone is not None:
        assert len(result.phone) == 10 and result.phone.isdigit()
    json.dumps(result.to_json("x"))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=texts, pinned=pinned)
def test_parse_never_raises_and_stays_in_bounds(parser: Parser, text: str, pinned: str | None):
    _check(parser.parse(text, pinned=pinned), text)


@settings(max_examples=5, deadline=None)
@given(unit=st.sampled_from(_VOCAB), repeat=st.integers(min_value=500, max_value=3000))
def test_huge_repetitive_comments(parser: Parser, unit: str, repeat: int):
    text = (unit + " ") * repeat
    _check(parser.parse(text), text)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)
comment_like = st.fixed_dictionaries(
    {},
    optional={
        "id": st.one_of(st.text(max_size=8), st.integers(), st.none(), st.booleans()),
        "text": st.one_of(texts, st.integers(), st.none()),
        "pinned": st.one_of(pinned, st.integers()),
        "user": st.text(max_size=8),
    },
)
lines = st.one_of(
    comment_like.map(json.dumps),
    json_values.map(json.dumps),
    st.text(max_size=40).filter(lambda s: "\n" not in s and "\r" not in s),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batch=st.lists(lines, min_size=1, max_size=8))
def test_cli_answers_every_line_and_never_crashes(demo_catalog_path, batch: list[str]):
    result = CliRunner().invoke(
        parse_command, ["--catalog", str(demo_catalog_path)], input="\n".join(batch) + "\n"
    )
    assert result.exit_code in (0, 2), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    # JSON Lines end at "\n" only: str.splitlines would also cut at U+0085 or U+2028 inside
    # a string value (Hypothesis found an id of "\x85").
    outputs = [json.loads(line) for line in result.stdout.split("\n")[:-1]]
    assert len(outputs) == len(batch)
    for number, out in enumerate(outputs, 1):
        assert ("error" in out and out["line"] == number) or out["intent"] in (
            "order", "cancel", "question", "other",
        )  # fmt: skip
