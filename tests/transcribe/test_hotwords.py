from __future__ import annotations

from pathlib import Path

import pytest

from assets import DEMO_DIR
from transcribe.errors import TranscribeError
from transcribe.hotwords import hotword_prompt, hotwords_from_catalog


def test_demo_catalog_names_codes_and_aliases() -> None:
    words = hotwords_from_catalog(DEMO_DIR / "catalog.csv")
    assert words[0] == "Hạt dẻ Ngân Sơn"
    assert "Miến dong Na Rì" in words and "A1" in words and "B5" in words
    assert words.index("Thịt trâu gác bếp") < words.index("A1")
    assert len(words) == len({x.casefold() for x in words})


def test_prompt_is_cut_at_a_whole_hotword() -> None:
    prompt = hotword_prompt(["Hạt dẻ Ngân Sơn", "Miến dong Na Rì", "A1"], max_chars=35)
    assert prompt == "Hạt dẻ Ngân Sơn, Miến dong Na Rì"
    assert hotword_prompt([]) is None


def test_catalog_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("code,title\nA1,x\n", encoding="utf-8")
    with pytest.raises(TranscribeError, match=r"bad\.csv: catalog needs a 'name' column"):
        hotwords_from_catalog(bad)
    with pytest.raises(TranscribeError, match="cannot read catalog"):
        hotwords_from_catalog(tmp_path / "missing.csv")
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"code,name\nA1,H\xe1t d\xe8\n")  # Windows-1258 bytes
    with pytest.raises(TranscribeError, match="not a readable UTF-8 CSV"):
        hotwords_from_catalog(latin)
