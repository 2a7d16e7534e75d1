"""Fixtures for the parser tests: the demo catalog, read by the real catalog reader."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from assets import DEMO_DIR
from chotdon.catalog import ProductRow, read_catalog
from server.parse import Parser

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
DEMO_CATALOG = DEMO_DIR / "catalog.csv"


def load_jsonl(name: str) -> list[dict[str, Any]]:
    with (DATA_DIR / name).open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


@pytest.fixture(scope="session")
def catalog() -> list[ProductRow]:
    return read_catalog(DEMO_CATALOG)


@pytest.fixture(scope="session")
def labelled_set() -> list[dict[str, Any]]:
    return load_jsonl("comments_labelled.jsonl")


@pytest.fixture(scope="session")
def holdout_set() -> list[dict[str, Any]]:
    return load_jsonl("comments_holdout.jsonl")


@pytest.fixture(scope="session")
def demo_catalog_path() -> Path:
    return DEMO_CATALOG


@pytest.fixture(scope="session")
def parser(catalog: list[ProductRow]) -> Parser:
    return Parser(catalog)
