# Quick start: `make run` (the product, demo data, http://127.0.0.1:8080) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test install install-test browsers bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

run: $(VENV)/.installed
	$(BIN)/isp-support serve --demo

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q

bench: $(VENV)/.installed-test
	@command -v wrk >/dev/null 2>&1 || echo "NOTE: wrk is not installed (Debian: apt-get install -y wrk); the side-by-side run falls back to the slower Python load generator"
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) isp_support.db .pytest_cache
