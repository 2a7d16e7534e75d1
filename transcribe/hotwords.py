"""Product names and codes from the catalog, as decoding hotwords.

faster-whisper puts hotwords in the prompt before each window, which nudges
the decoder towards spellings it would otherwise guess ("Na Rì", "Shan
tuyết", "A1"). The prompt is short (about 220 tokens, and a Vietnamese
syllable takes two or three), so names come first, then codes, then aliases,
and we stop at ``max_chars``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

from transcribe.errors import TranscribeError

__all__ = ["hotword_prompt", "hotwords_from_catalog"]


def hotwords_from_catalog(path: Path) -> list[str]:
    """Names, codes and ``|``-separated aliases from a catalog CSV (``code,name,aliases``)."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            fields = set(reader.fieldnames or ())
            if "name" not in fields:
                raise TranscribeError(
                    f"{path}: catalog needs a 'name' column (found: {', '.join(sorted(fields))})"
                )
            names: list[str] = []
            codes: list[str] = []
            aliases: list[str] = []
            for row in reader:
                names.append((row.get("name") or "").strip())
                codes.append((row.get("code") or "").strip())
                aliases += [a.strip() for a in (row.get("aliases") or "").split("|")]
    except OSError as exc:
        raise TranscribeError(f"cannot read catalog {path}: {exc.strerror}") from None
    except (csv.Error, UnicodeDecodeError) as exc:
        raise TranscribeError(f"{path}: not a readable UTF-8 CSV ({exc})") from None
    return _unique([*names, *codes, *aliases])


def _unique(words: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for word in words:
        key = word.casefold()
        if word and key not in seen:
            seen.add(key)
            out.append(word)
    return out


def hotword_prompt(words: Iterable[str], max_chars: int = 300) -> str | None:
    """Comma-separated hotwords, cut at a whole word before ``max_chars``; None if none."""
    parts: list[str] = []
    length = 0
    for word in _unique(words):
        if length + len(word) + 2 > max_chars:
            break
        parts.append(word)
        length += len(word) + 2
    return ", ".join(parts) or None
