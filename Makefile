# Daily Papers. Quick start: `make run` (serve the demo on http://127.0.0.1:8000) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=
# Every dependency's exact version, as measured (docs/benchmarks.md) and tested: `make lock` refreshes it.
LOCK := requirements/lock.txt
LOCK_ARGS ?=

.PHONY: run serve test test-deps lint bench clean lock

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements/torch.txt

$(VENV)/.installed: pyproject.toml $(LOCK) | $(BIN)/python
	$(BIN)/pip install -q -c $(LOCK) -e .
	touch $@

$(VENV)/.test-installed: pyproject.toml $(LOCK) | $(BIN)/python
	$(BIN)/pip install -q -c $(LOCK) -e '.[test]'
	touch $@ $(VENV)/.installed

## Pin every dependency of pyproject.toml (the test extras included) in the lock; `make lock LOCK_ARGS=--upgrade`
## moves all to their newest releases, `LOCK_ARGS="--upgrade-package fastapi"` one (docs/dependencies.md).
lock: | $(BIN)/python
	$(BIN)/pip install -q pip-tools
	$(BIN)/pip-compile -q --extra test --strip-extras --unsafe-package torch --no-emit-index-url \
	  --no-emit-find-links --constraint requirements/torch.txt $(LOCK_ARGS) -o $(LOCK) pyproject.toml

## Create .venv, install, migrate, load the demo data into an empty database, serve on :8000.
run: $(VENV)/.installed
	$(BIN)/dailypapers migrate
	$(BIN)/dailypapers demo --if-empty
	$(BIN)/dailypapers serve

## Install test needs (Python packages, Debian's Chromium, a postgres user) and run the whole suite.
test: test-deps lint
	$(BIN)/pytest -n auto -p no:cacheprovider $(PYTEST_ARGS)

test-deps: $(VENV)/.test-installed
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium redis-server >/dev/null; }
	@command -v redis-server >/dev/null 2>&1 || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }
	@PATH="$$PATH:/usr/sbin" command -v nginx >/dev/null 2>&1 || { \
	  echo "Installing Debian's nginx for the reverse-proxy test (tests/deploy)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null; }
	@command -v chromium >/dev/null 2>&1 || { echo "error: chromium is required for the browser tests" >&2; exit 1; }
	@command -v redis-server >/dev/null 2>&1 || { echo "error: redis-server is required for the tests" >&2; exit 1; }
	@PATH="$$PATH:/usr/sbin" command -v nginx >/dev/null 2>&1 || { echo "error: nginx is required for the reverse-proxy test" >&2; exit 1; }
	@if [ "$$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then useradd --system --no-create-home postgres; fi

## Style, and the layering of docs/architecture.md (import-linter contracts in pyproject.toml).
lint: $(VENV)/.test-installed
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports --no-cache

## Benchmarks; figures go to docs/benchmarks.md.
bench: $(VENV)/.test-installed
	$(BIN)/python -m bench.bench_import 100000
	$(BIN)/python -m bench.bench_web
	$(BIN)/python -m bench.bench_votes
	$(BIN)/python -m bench.bench_digest
	$(BIN)/python -m bench.bench_jobs --guarantees
	# Curation against arxiv-sanity-lite's method: needs the curation data set (docs/curation.md).
	@if [ -d "$${CURATION_DATA:-../shared/data/curation}" ]; then \
		$(BIN)/python -m bench.bench_curation "$${CURATION_DATA:-../shared/data/curation}" && \
		$(BIN)/python -m bench.bench_curation "$${CURATION_DATA:-../shared/data/curation}" --two-years; \
	else echo "bench_curation: no curation data set (set CURATION_DATA); skipped"; fi
	# "For you" at 1M papers and 10k readers: BENCH_1M names a folder (made and kept on the first run, ~30 min).
	@if [ -n "$${BENCH_1M}" ]; then $(BIN)/python -m bench.bench_for_you --data-dir "$${BENCH_1M}"; \
	else echo "bench_for_you: set BENCH_1M to a folder for a 1M-paper instance; skipped"; fi

clean:
	rm -rf $(VENV) data test-artifacts .pytest_cache .ruff_cache
