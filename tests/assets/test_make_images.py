"""The demo pictures: committed files match what the script draws, and drawing is repeatable."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from assets.demo import make_images
from assets.demo.make_images import DEMO_DIR, DRAWINGS, PLACEHOLDER, render, write_all

SCRIPT = Path(make_images.__file__)
MAX_BYTES = 60 * 1024


def _catalog_images() -> list[str]:
    with (DEMO_DIR / "catalog.csv").open(encoding="utf-8", newline="") as f:
        return [row["image"] for row in csv.DictReader(f) if row["image"]]


def _committed() -> dict[str, Path]:
    paths = {name: DEMO_DIR / name for name in _catalog_images()}
    paths["placeholder.png"] = PLACEHOLDER
    return paths


@pytest.fixture(scope="module")
def in_process(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("in_process")
    written = list(write_all(out, out / "placeholder.png"))
    assert len(written) == len(DRAWINGS)
    return out


@pytest.fixture(scope="module")
def by_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A second, independent run: the script started by its file path, as documented."""
    out = tmp_path_factory.mktemp("by_path")
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(out)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "placeholder.png" in done.stdout
    return out


def test_catalog_names_exactly_the_drawn_pictures() -> None:
    stems = {Path(name).stem for name in _catalog_images()}
    assert len(stems) == 8
    assert stems | {"placeholder"} == set(DRAWINGS)


@pytest.mark.parametrize("name", sorted(_committed()))
def test_committed_picture_is_a_small_512_png(name: str) -> None:
    path = _committed()[name]
    assert path.is_file(), f"{path} missing: run python -m assets.demo.make_images"
    assert path.stat().st_size < MAX_BYTES
    with Image.open(path) as im:
        assert im.format == "PNG"
        assert im.size == (512, 512)
        # A real picture, not an empty canvas: a flat illustration still has many tones.
        assert len(im.convert("RGB").getcolors(1 << 16) or []) > 40


@pytest.mark.parametrize("name", sorted(_committed()))
def test_regenerated_matches_committed(in_process: Path, name: str) -> None:
    with Image.open(_committed()[name]) as old, Image.open(in_process / name) as new:
        assert (new.size, new.mode) == (old.size, old.mode)


def test_two_runs_write_identical_bytes(in_process: Path, by_path: Path) -> None:
    first = {p.name: p.read_bytes() for p in in_process.iterdir()}
    second = {p.name: p.read_bytes() for p in by_path.iterdir()}
    assert first.keys() == second.keys() == set(_committed())
    assert first == second


def test_pictures_differ_from_each_other(in_process: Path) -> None:
    contents = {p.read_bytes() for p in in_process.iterdir()}
    assert len(contents) == len(DRAWINGS)


def test_render_gives_a_palette_image() -> None:
    im = render("placeholder")
    assert (im.mode, im.size) == ("P", (512, 512))
    # The subject sits in the middle: centre and corner must not be the same colour.
    assert im.getpixel((256, 300)) != im.getpixel((4, 4))


def test_render_unknown_name_says_which_names_exist() -> None:
    with pytest.raises(KeyError, match=r"no drawing named 'c9'.*a1"):
        render("c9")
