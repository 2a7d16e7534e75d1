"""Suite-wide fixtures. Area-specific fixtures live in each tests/<area>/conftest.py."""

from __future__ import annotations

import os

import pytest

from tests.pg import database_url, parametrize_databases, postgres_server, postgres_url

__all__ = ["database_url", "postgres_server", "postgres_url"]

# Nothing in the suite may reach a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# The server under test picks its database from the ``database_url`` fixture (tests/pg.py),
# never from the developer's shell.
os.environ.pop("CHOTDON_DATABASE_URL", None)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_databases(metafunc)
