# Oslonac: `make run` starts the embedded platform, `make test` runs every check and test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# The reporting rebuild is measured on the embedded default (SQLite) and, where it runs, on PostgreSQL too.
REPORTING_BENCH_ARGS ?= --postgres

.PHONY: run test lint typecheck contracts unit docs bench clean browser-deps production-deps

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

# The production-topology test (tests/deploy/test_production_topology.py) runs Debian's nginx, Prometheus and
# promtool (package prometheus) and the oidc-provider npm package under node. nginx and prometheus come through apt when this runs as
# root, the provider's modules from deploy/oidc-provider/package-lock.json; what cannot be installed makes those
# tests skip and say why.
production-deps:
	@{ command -v nginx || test -x /usr/sbin/nginx; } >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing nginx and prometheus (promtool) for the production-topology test (apt)"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	      nginx prometheus >/dev/null) || echo "nginx/prometheus could not be installed: those tests will be skipped"; \
	  else echo "nginx or promtool is missing (apt-get install nginx prometheus as root): those tests will be skipped"; fi; }
	@if ! command -v npm >/dev/null 2>&1; then echo "npm is missing: the production-topology test will be skipped"; \
	elif [ ! -f deploy/oidc-provider/node_modules/.package-lock.json ] || \
	     [ deploy/oidc-provider/package-lock.json -nt deploy/oidc-provider/node_modules/.package-lock.json ]; then \
	  (cd deploy/oidc-provider && npm ci --no-audit --no-fund --loglevel=error >/dev/null) \
	    || echo "npm ci failed in deploy/oidc-provider: the production-topology test will be skipped"; fi

# Tests run on parallel workers (pytest-xdist; `auto`: one per CPU), each with its own broker and databases; the
# tests of a module that share a fixture of that module (a browser, a platform) stay on one worker (loadgroup).
# PYTEST_WORKERS=0 runs them in this process; PYTEST_ARGS are passed on (e.g. PYTEST_ARGS='-k intake').
PYTEST_WORKERS ?= auto

test: $(STAMP) browser-deps production-deps lint typecheck contracts
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

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
