# smsdesk — two commands: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8080
HOST   ?= 127.0.0.1

.PHONY: install run cluster test test-fast lint typecheck contracts pytest pytest-fast node-deps bench bench-cluster clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Start the server on SQLite (./var/smsdesk.db) with the demo contact center.
run: $(STAMP)
	$(BIN)/smsdesk migrate
	$(BIN)/smsdesk serve --demo --host $(HOST) --port $(PORT)

## A local cluster on loopback: a throwaway PostgreSQL, three nodes, nginx round-robin (no
## stickiness) on $(PORT). Ctrl-C stops everything and deletes its temporary directory.
cluster: $(STAMP)
	$(BIN)/python scripts/cluster.py --port $(PORT)

## Everything: lint, types, import contracts, the whole test suite (slow tier included).
test: lint typecheck contracts pytest

## The same without the slow end-to-end tier.
test-fast: lint typecheck contracts pytest-fast

lint: $(STAMP)
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts

typecheck: $(STAMP)
	$(BIN)/mypy src/smsdesk

contracts: $(STAMP)
	$(BIN)/lint-imports

pytest: $(STAMP)
	$(BIN)/pytest -q

pytest-fast: $(STAMP)
	$(BIN)/pytest -q -m "not slow"

bench: $(STAMP)
	$(BIN)/python bench/operations.py

## SQLite vs PostgreSQL vs two workers / two nodes behind nginx, and PostgreSQL's outbox write rate.
bench-cluster: $(STAMP)
	$(BIN)/python bench/cluster.py

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
