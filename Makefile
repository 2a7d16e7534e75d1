# Two commands for a fresh machine: `make run` and `make test`.
VENV    ?= .venv
PYTHON  ?= python3
PY      := $(VENV)/bin/python
PIP     := $(PY) -m pip --disable-pip-version-check -q

.PHONY: run test lint fmt bench system-deps clean

$(VENV)/.base: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -e .
	touch $@

$(VENV)/.test: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -e '.[test]'
	touch $(VENV)/.base $@

$(VENV)/.bench: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -e '.[test,bench]'
	touch $(VENV)/.base $(VENV)/.test $@

run: $(VENV)/.base
	$(VENV)/bin/chotdon serve --demo

system-deps:
	bash scripts/system-deps.sh

# Lint, format check and types first: they take seconds and name the line at fault.
test: lint system-deps
	$(VENV)/bin/pytest

lint: $(VENV)/.test
	$(VENV)/bin/ruff check chotdon server overlays transcribe studio assets tests bench scripts
	$(VENV)/bin/ruff format --check chotdon server overlays transcribe studio assets tests bench
	$(VENV)/bin/mypy

fmt: $(VENV)/.test
	$(VENV)/bin/ruff format chotdon server overlays transcribe studio assets tests bench
	$(VENV)/bin/ruff check --fix chotdon server overlays transcribe studio assets tests bench

bench: $(VENV)/.bench system-deps
	$(PY) -m bench

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
