# Oslonac: `make run` starts the embedded platform, `make test` runs every check and test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck contracts unit docs bench clean browser-deps

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --upgrade pip uv >/dev/null
	@$(BIN)/uv pip install -q --python $(BIN)/python -e '.[dev,embedded]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m oslonac run

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

contracts: $(STAMP)
	$(BIN)/lint-imports

test: $(STAMP) lint typecheck contracts
	$(BIN)/pytest $(PYTEST_ARGS)

docs: $(STAMP)
	$(BIN)/python -m oslonac docs --out docs

bench: $(STAMP)
	$(BIN)/python -m bench.pipeline $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
