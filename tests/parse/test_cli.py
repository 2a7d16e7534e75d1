"""``chotdon parse`` invoked for real: through click and as the installed console script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from server.cli import main
from server.parse.cli import read_line


def _run(args: list[str], stdin: str):
    result = CliRunner().invoke(main, ["parse", *args], input=stdin)
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    return result, lines


def test_one_line_out_per_line_in_same_order(demo_catalog_path):
    stdin = "\n".join(
        json.dumps(c, ensure_ascii=False)
        for c in [
            {"id": "1", "user": "lan", "text": "chốt 3"},
            {"id": "2", "user": "hoa", "text": "A1 2kg, B2 1 chai 0912 345 678"},
            {"id": 3, "user": "minh", "text": "3 hộp thì bao nhiêu tiền?"},
            {"id": "4", "user": "lan", "text": "hủy B2"},
        ]
    )
    result, lines = _run(["--catalog", str(demo_catalog_path), "--pinned", "A3"], stdin + "\n")
    assert result.exit_code == 0, result.output
    assert [line["id"] for line in lines] == ["1", "2", 3, "4"]
    assert lines[0]["items"] == [{"code": "A3", "qty": 3}]
    assert lines[1]["items"] == [{"code": "A1", "qty": 2}, {"code": "B2", "qty": 1}]
    assert lines[1]["phone"] == "0912345678"
    assert lines[2]["intent"] == "question" and lines[2]["items"] == []
    assert lines[3] | {"evidence": None, "confidence": None} == {
        "id": "4",
        "intent": "cancel",
        "items": [{"code": "B2", "qty": None}],
        "phone": None,
        "confidence": None,
        "evidence": None,
    }


def test_line_pinned_overrides_option(demo_catalog_path):
    stdin = '{"id": "a", "text": "2"}\n{"id": "b", "text": "2", "pinned": "B2"}\n'
    _, lines = _run(["--catalog", str(demo_catalog_path), "--pinned", "A2"], stdin)
    assert [line["items"][0]["code"] for line in lines] == ["A2", "B2"]


def test_bad_lines_become_error_lines_and_exit_2(demo_catalog_path):
    stdin = (
        '{"id": "ok", "text": "chốt 1"}\nnot json\n[1, 2]\n{"id": "t"}\n\n'
        '{"id": "z", "text": "A1"}\n'
    )
    result, lines = _run(["--catalog", str(demo_catalog_path)], stdin)
    assert result.exit_code == 2
    assert len(lines) == 6
    assert lines[1] == {"id": None, "line": 2, "error": lines[1]["error"]}
    assert "not valid JSON" in lines[1]["error"]
    assert lines[3]["id"] == "t" and "'text'" in lines[3]["error"]
    assert lines[5]["items"] == [{"code": "A1", "qty": 1}]
    assert "line 2:" in result.stderr and "line 5:" in result.stderr


def test_non_utf8_line_is_an_error_line(demo_catalog_path):
    result = CliRunner().invoke(
        main,
        ["parse", "--catalog", str(demo_catalog_path)],
        input=b'\xff\xfe\n{"id":1,"text":"2 A1"}\n',
    )
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.exit_code == 2
    assert "not UTF-8" in lines[0]["error"]
    assert lines[1]["items"] == [{"code": "A1", "qty": 2}]


def test_unknown_pinned_code_is_a_usage_error(demo_catalog_path):
    result, _ = _run(["--catalog", str(demo_catalog_path), "--pinned", "Z9"], "")
    assert result.exit_code == 2
    assert "'Z9' is not a code" in result.stderr


def test_bad_catalog_names_file_and_row(tmp_path: Path):
    catalog = tmp_path / "catalog.csv"
    catalog.write_text(
        "code,name,price,unit,stock,aliases\nA1,Hạt dẻ,abc,kg,3,\n", encoding="utf-8"
    )
    result, _ = _run(["--catalog", str(catalog)], "")
    assert result.exit_code == 1
    assert str(catalog) in result.stderr and "row 2" in result.stderr


def test_xlsx_catalog(tmp_path: Path, catalog):
    from chotdon.catalog import rows_to_xlsx

    path = tmp_path / "catalog.xlsx"
    path.write_bytes(rows_to_xlsx(catalog))
    result, lines = _run(["--catalog", str(path)], '{"id": 1, "text": "B4 3kg"}\n')
    assert result.exit_code == 0, result.output
    assert lines[0]["items"] == [{"code": "B4", "qty": 3}]


def test_read_line_accepts_integer_ids_and_null_pinned():
    assert read_line(b'{"id": 5, "text": "x", "pinned": null}') == (5, "x", None)


def test_console_script(demo_catalog_path):
    script = Path(sys.executable).with_name("chotdon")
    stdin = '{"id": "1", "user": "u", "text": "cko e 2 hộp chè"}\n'
    done = subprocess.run(
        [str(script), "parse", "--catalog", str(demo_catalog_path)],
        input=stdin.encode(),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    [line] = [json.loads(raw) for raw in done.stdout.decode("utf-8").splitlines()]
    assert line["items"] == [{"code": "B1", "qty": 2}]
