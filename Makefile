# smsdesk — two commands: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8080
HOST   ?= 127.0.0.1

.PHONY: install run test test-fast lint typecheck contracts pytest pytest-fast node-deps bench clean api-docs fuzz

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

## Everything: lint, types, import contracts, the whole test suite (slow tier included).
test: lint typecheck contracts pytest

## The same without the slow end-to-end tier.
test-fast: lint typecheck contracts pytest-fast

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy src/smsdesk

contracts: $(STAMP)
	$(BIN)/lint-imports

pytest: $(STAMP)
	$(BIN)/pytest -q

pytest-fast: $(STAMP)
	$(BIN)/pytest -q -m "not slow"

## The long fuzz and durability runs (about half an hour on a busy 2-core machine): prints cases,
## 5xx count and acknowledged writes lost, writes them into docs/reliability.md, fails unless 0 and 0.
FUZZ_DIR := var/fuzz
fuzz: $(STAMP)
	mkdir -p $(FUZZ_DIR)
	FUZZ_EXAMPLES=1700 FUZZ_REPORT=$(FUZZ_DIR)/openapi.json $(BIN)/pytest -q tests/api/test_openapi.py -k generated; echo $$? > $(FUZZ_DIR)/openapi.rc
	FUZZ_EXAMPLES=20000 FUZZ_BAYEUX_REPORT=$(FUZZ_DIR)/bayeux.json $(BIN)/pytest -q tests/bayeux/test_parser_fuzz.py; echo $$? > $(FUZZ_DIR)/bayeux.rc
	FUZZ_KILLS=30 FUZZ_DURABILITY_REPORT=$(FUZZ_DIR)/durability.json $(BIN)/pytest -q tests/reliability/test_durability.py; echo $$? > $(FUZZ_DIR)/durability.rc
	$(BIN)/python tests/reliability/fuzz_report.py $(FUZZ_DIR) --update-docs docs/reliability.md

## Rewrite docs/api.md from the OpenAPI document (a test fails when it is stale).
api-docs: $(STAMP)
	$(BIN)/python -m smsdesk.http.openapi_markdown > docs/api.md

bench: $(STAMP)
	$(BIN)/python bench/operations.py

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
