# smsdesk — two commands: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# One venv, two stamps: serving needs the package alone (`pip install -e .`); testing, linting and
# benchmarking add the dev extras on top (several hundred MB), so `make run` never waits for them.
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev
# npm packages from lockfiles: the official CometD client (conformance, cluster) and the desktop's.
CONFORMANCE_STAMP := tests/conformance/node_modules/.installed
# A real OpenID Connect provider (npm oidc-provider) for the single sign-on tests (lockfile).
OIDC_STAMP := tests/oidc/node_modules/.installed
WEB_STAMP := web/node_modules/.installed
PORT   ?= 8080
HOST   ?= 127.0.0.1

.PHONY: install run cluster cluster-ha test test-fast test-deps lint typecheck contracts pytest pytest-fast node-deps oidc-deps bench bench-cluster clean browser-deps web web-check screenshots api-docs fuzz

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $(RUN_STAMP)

# The dev extras include the package itself, so they satisfy `make run` too.
$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(DEV_STAMP) $(RUN_STAMP)

## Everything the tests, linters and benchmarks need.
install: $(DEV_STAMP)

## Start the server on SQLite (./var/smsdesk.db) with the demo contact center.
run: $(RUN_STAMP)
	$(BIN)/smsdesk migrate
	$(BIN)/smsdesk serve --demo --host $(HOST) --port $(PORT)

## A local cluster on loopback: a throwaway PostgreSQL, three nodes, nginx with soft affinity (each
## desktop's requests to one node while it lives, any node otherwise) on $(PORT). Ctrl-C stops
## everything and deletes its temporary directory.
## PostgreSQL's driver comes with the dev extras.
cluster: $(DEV_STAMP)
	$(BIN)/python scripts/cluster.py --port $(PORT)

## The same cluster on a pg_auto_failover pair (a monitor, a primary and its synchronous standby, the
## nodes on the multi-host URL): kill the primary and watch the cluster carry on (deploy/postgresql-failover.md).
cluster-ha: $(DEV_STAMP) test-deps
	$(BIN)/python scripts/cluster.py --ha --port $(PORT)

## Everything: lint, types, import contracts, the whole test suite (slow tier included).
test: lint typecheck contracts test-deps browser-deps web-check pytest

## What the tests start besides Python: Debian's PostgreSQL server, pg_auto_failover (the failover
## tests' monitor and pair) and nginx, installed when missing.
test-deps:
	@missing=""; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v psql >/dev/null 2>&1 || missing="$$missing postgresql-client"; \
	command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing="$$missing nginx"; \
	command -v runuser >/dev/null 2>&1 || missing="$$missing util-linux"; \
	major="$$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1)"; \
	ls /usr/share/postgresql/*/extension/pgautofailover.control >/dev/null 2>&1 && command -v pg_autoctl >/dev/null 2>&1 \
		|| missing="$$missing postgresql-$${major:-15}-auto-failover"; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages the tests start:$$missing"; \
		if [ "$$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi; \
		$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing >/dev/null; \
	fi

## The same without the slow end-to-end tier.
test-fast: lint typecheck contracts pytest-fast

lint: $(DEV_STAMP)
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts

typecheck: $(DEV_STAMP)
	$(BIN)/mypy src/smsdesk

contracts: $(DEV_STAMP)
	$(BIN)/lint-imports

## The suite in two halves at once (two cores; each half starts its own servers, databases and
## ports), each into var/test-*.log, printed when both are done, then one closing line for both.
## Each half's temporary files live in this clone (var/pytest-a, var/pytest-b: another checkout
## testing at the same time has its own), emptied at the start and removed when everything passed;
## after a failure they stay for a look (server logs, databases).
PYTEST_A := tests/unit tests/storage tests/api tests/connectors
PYTEST_B := tests/reliability tests/sms_e2e tests/conformance tests/cluster tests/browser tests/bayeux tests/cli tests/oidc
PYTEST_TMP := $(CURDIR)/var/pytest
pytest: $(DEV_STAMP) $(CONFORMANCE_STAMP) $(WEB_STAMP) $(OIDC_STAMP)
	@mkdir -p var; rm -f var/test-a.* var/test-b.*; rm -rf $(PYTEST_TMP)-a $(PYTEST_TMP)-b
	@echo "pytest: two halves at once, logs in var/test-a.log and var/test-b.log"
	@( $(BIN)/pytest -q -p no:cacheprovider --basetemp=$(PYTEST_TMP)-a $(PYTEST_A) > var/test-a.log 2>&1; echo $$? > var/test-a.rc ) & \
	( $(BIN)/pytest -q -p no:cacheprovider --basetemp=$(PYTEST_TMP)-b $(PYTEST_B) > var/test-b.log 2>&1; echo $$? > var/test-b.rc ); \
	wait; cat var/test-a.log var/test-b.log; \
	$(BIN)/python scripts/test_summary.py var/test-a.log var/test-b.log; \
	test "$$(cat var/test-a.rc)" = 0 && test "$$(cat var/test-b.rc)" = 0 && rm -rf $(PYTEST_TMP)-a $(PYTEST_TMP)-b

pytest-fast: $(DEV_STAMP)
	@mkdir -p var; rm -rf $(PYTEST_TMP)-fast
	$(BIN)/pytest -q -p no:cacheprovider --basetemp=$(PYTEST_TMP)-fast -m "not slow"
	@rm -rf $(PYTEST_TMP)-fast

## The official CometD client's npm packages for the conformance and cluster tiers (lockfile).
$(CONFORMANCE_STAMP): tests/conformance/package-lock.json
	cd tests/conformance && npm ci --no-audit --no-fund --loglevel=error
	touch $(CONFORMANCE_STAMP)

## The OpenID provider the single sign-on tests start on loopback (lockfile).
$(OIDC_STAMP): tests/oidc/package-lock.json
	cd tests/oidc && npm ci --no-audit --no-fund --loglevel=error
	touch $(OIDC_STAMP)

oidc-deps: $(OIDC_STAMP)

## What the browser tests need: Debian's Chromium (installed only when missing; never a
## Playwright browser download) and the desktop's npm packages from its lockfile.
$(WEB_STAMP): web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	touch $(WEB_STAMP)

browser-deps: $(WEB_STAMP)
	@if [ ! -x /usr/bin/chromium ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
	fi

## Type-check the desktop's TypeScript (strict).
web-check: $(WEB_STAMP)
	cd web && npx --no-install tsc --noEmit

## Rebuild the desktop bundle committed under src/smsdesk/web/static (commit the result).
web: $(WEB_STAMP)
	cd web && node build.mjs

## Retake the README's screenshots (docs/screenshots) with the browser tests.
screenshots: $(DEV_STAMP) browser-deps
	SMSDESK_SCREENSHOTS=$(CURDIR)/docs/screenshots $(BIN)/pytest -q tests/browser

## The long fuzz and durability runs (about half an hour on a busy 2-core machine): prints cases,
## 5xx count and acknowledged writes lost, writes them into docs/reliability.md, fails unless 0 and 0.
FUZZ_DIR := var/fuzz
# Each finding of the hostile rounds, replayed as it was found (both backends): need-to-know, the
# sign-in throttle's holes, status callbacks about unknown messages, the limits' answers.
HOSTILE_FINDINGS := tests/api/test_need_to_know.py tests/api/test_limits.py tests/sms_e2e/test_twilio_e2e.py tests/reliability/test_slow_clients.py tests/bayeux/test_memory_bounds.py
fuzz: $(DEV_STAMP)
	mkdir -p $(FUZZ_DIR)
	FUZZ_EXAMPLES=1700 FUZZ_REPORT=$(FUZZ_DIR)/openapi.json $(BIN)/pytest -q tests/api/test_openapi.py -k generated; echo $$? > $(FUZZ_DIR)/openapi.rc
	FUZZ_EXAMPLES=20000 FUZZ_BAYEUX_REPORT=$(FUZZ_DIR)/bayeux.json $(BIN)/pytest -q tests/bayeux/test_parser_fuzz.py; echo $$? > $(FUZZ_DIR)/bayeux.rc
	FUZZ_KILLS=30 FUZZ_DURABILITY_REPORT=$(FUZZ_DIR)/durability.json $(BIN)/pytest -q tests/reliability/test_durability.py; echo $$? > $(FUZZ_DIR)/durability.rc
	FLOOD_SUBSCRIPTIONS=2000000 FLOOD_NOTIFICATIONS=3000 FUZZ_FLOODS_REPORT=$(FUZZ_DIR)/floods.json $(BIN)/pytest -q tests/reliability/test_floods.py; echo $$? > $(FUZZ_DIR)/floods.rc
	$(BIN)/pytest -q --junitxml=$(FUZZ_DIR)/findings.xml $(HOSTILE_FINDINGS); echo $$? > $(FUZZ_DIR)/findings.rc
	$(BIN)/python tests/reliability/fuzz_report.py $(FUZZ_DIR) --update-docs docs/reliability.md

## Rewrite docs/api.md from the OpenAPI document (a test fails when it is stale).
api-docs: $(DEV_STAMP)
	$(BIN)/python -m smsdesk.http.openapi_markdown > docs/api.md

bench: $(DEV_STAMP)
	$(BIN)/python bench/operations.py

## SQLite vs PostgreSQL vs two workers / two nodes behind nginx, and PostgreSQL's outbox write rate.
bench-cluster: $(DEV_STAMP)
	$(BIN)/python bench/cluster.py

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache web/node_modules
