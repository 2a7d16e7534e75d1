from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from faster_whisper import WhisperModel

from transcribe.tiny import LANGUAGES, VOCAB_SIZE, build_tiny_model, whisper_vocabulary


def test_vocabulary_follows_whisper_layout() -> None:
    tokens = whisper_vocabulary()
    assert len(tokens) == VOCAB_SIZE == 51865
    assert tokens[50256] == ""
    assert tokens[50257] == "<|endoftext|>"
    assert tokens[50258] == "<|startoftranscript|>"
    assert tokens[50259:50262] == ["<|en|>", "<|zh|>", "<|de|>"]
    assert tokens[50259 + 19] == "<|vi|>"
    assert len(LANGUAGES) == 99
    assert tokens[50358:50364] == [
        "<|translate|>",
        "<|transcribe|>",
        "<|startoflm|>",
        "<|startofprev|>",
        "<|nocaptions|>",
        "<|notimestamps|>",
    ]
    assert tokens[50364] == "<|0.00|>"
    assert tokens[-1] == "<|30.00|>"
    assert len(set(tokens)) == len(tokens)


def test_build_is_fast_complete_and_deterministic(tmp_path: Path) -> None:
    started = time.perf_counter()
    a = build_tiny_model(tmp_path / "a")
    elapsed = time.perf_counter() - started
    b = build_tiny_model(tmp_path / "b")
    assert elapsed < 5
    for name in ("model.bin", "tokenizer.json", "config.json", "vocabulary.json"):
        assert (a / name).is_file(), name
    assert (a / "model.bin").read_bytes() == (b / "model.bin").read_bytes()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    tokenizer = json.loads((a / "tokenizer.json").read_text(encoding="utf-8"))
    assert tokenizer["model"]["vocab"]["<|vi|>"] == 50278


def test_faster_whisper_loads_it_as_multilingual(tiny_model: Path) -> None:
    model = WhisperModel(str(tiny_model), device="cpu", compute_type="int8")
    assert model.model.is_multilingual
    noise = np.random.default_rng(0).standard_normal(16000 * 3).astype(np.float32) * 0.1
    segments, info = model.transcribe(noise, language="vi", word_timestamps=True)
    segments = list(segments)
    assert info.language == "vi"
    assert segments, "the tiny model is built to say something"
    for seg in segments:
        assert 0 <= seg.start <= seg.end <= info.duration + 0.01
