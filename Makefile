# Two commands do all the set-up on a fresh machine:
#   make serve   venv + install + migrate + demo adapters + serve on http://127.0.0.1:8000 (SQLite + ./.hub/)
#   make test    venv + install (server, torch, dev) + the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: serve test install-server install-dev lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install-server: $(BIN)/python
	$(BIN)/pip install --quiet -c constraints.txt -e '.[server]'

install-dev: $(BIN)/python
	$(BIN)/pip install --quiet -c constraints.txt -e '.[server,torch,dev]'

serve: install-server
	$(BIN)/hub db upgrade
	$(BIN)/hub demo
	$(BIN)/hub serve --host $(HOST) --port $(PORT)

test: install-dev
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Benchmarks (never part of `make test`): every row of issue 7 beside its baseline, then a summary table.
# Takes 15-30 minutes; the memory row installs the npm package s3rver into bench/.node/ on first use.
bench: install-dev
	$(BIN)/python -m bench.run_all $(BENCH_ARGS)

clean:
	rm -rf .hub
