# Oslonac: `make run` starts the embedded platform, `make test` runs every check and test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# The reporting rebuild is measured on the embedded default (SQLite) and, where it runs, on PostgreSQL too.
REPORTING_BENCH_ARGS ?= --postgres

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

# Browser tests drive Debian's chromium (Playwright cannot download browsers here). Installed through apt when
# this runs as root; otherwise those tests skip and say why.
browser-deps:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium for the browser tests (apt)"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "chromium could not be installed: the browser tests will be skipped"; \
	  else echo "chromium is missing (apt-get install chromium as root): the browser tests will be skipped"; fi; }

test: $(STAMP) browser-deps lint typecheck contracts
	$(BIN)/pytest $(PYTEST_ARGS)

docs: $(STAMP)
	$(BIN)/python -m oslonac docs --out docs

bench: $(STAMP)
	$(BIN)/python -m bench.pipeline $(BENCH_ARGS)
	$(BIN)/python -m bench.idle $(IDLE_BENCH_ARGS)
	$(BIN)/python -m bench.imports $(IMPORT_BENCH_ARGS)
	$(BIN)/python -m bench.matching $(MATCHING_BENCH_ARGS)
	$(BIN)/python -m bench.reporting $(REPORTING_BENCH_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
