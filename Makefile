# The engine's commands: `make run` and `make test` set everything up on a fresh Debian machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SEED ?= 1
WORKERS ?= 1
PROFILE ?= quick
CITY ?= algiers
HA ?= 0
STANDBYS ?= 2
export HOST PORT WORKERS DATABASE_URL

ifndef DISPATCH_CONSOLE_VENDOR_DIR
VENDOR := .dispatch/vendor
else
VENDOR := $(DISPATCH_CONSOLE_VENDOR_DIR)
endif
LEAFLET := $(VENDOR)/node_modules/leaflet/dist/leaflet.js

.PHONY: help run test setup system venv vendor ha-up ha-down db-up migrate db-reset schema psql db-url db-down bench simulate replay docs docs-build lint typecheck pytest pgtap roads

help:
	@echo "make run   - install what is missing, start the embedded PostGIS, migrate, seed, serve"
	@echo "make test  - the same set-up, then ruff, mypy, the manual (mkdocs --strict), pytest and pg_prove"
	@echo "make roads - fetch the Monaco extract (OpenStreetMap) and import its roads (docs/roads.md)"
	@echo "make run HA=1 - the same against a pg_auto_failover formation (ha-up, ha-down)"
	@echo "make psql | db-url | db-down | db-reset | schema | bench | simulate | docs"

system:
	@bash scripts/ensure-system.sh

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev,bench]'
	@touch $(STAMP)

venv: $(STAMP)

db-up: system venv
	@$(BIN)/dispatch db-up

migrate: db-up
	@$(BIN)/dispatch migrate

# Leaflet for the console's map, from the npm registry into the git-ignored vendor folder (served
# under /console/vendor/), once: nothing third-party is committed, no CDN is asked at run time.
vendor:
	@test -f $(LEAFLET) || { command -v npm >/dev/null \
	  && npm install --no-save --no-audit --no-fund --silent --prefix $(VENDOR) leaflet@1.9 >&2 \
	  || echo "warning: Leaflet not installed (npm missing or offline): the console runs without its map" >&2; }

setup: migrate vendor

# Drop, re-create and migrate the embedded cluster's database (a database migrated before the SQL
# baseline is refused by `migrate` with this advice).
db-reset: system venv
	@$(BIN)/dispatch db-reset

# Refresh the schema snapshot that tests/runtime/test_schema.py compares a fresh migrate with.
schema: db-up
	@$(BIN)/dispatch schema-dump > sql/schema.sql.new && mv sql/schema.sql.new sql/schema.sql

# The HA formation (docs/operations.md, "Failover"): a pg_auto_failover monitor, a primary and
# standbys on this machine, migrated; `make run HA=1` serves against its multi-host URL.
ha-up: system venv
	@$(BIN)/dispatch ha up --standbys $(STANDBYS) >/dev/null

ha-down: venv
	@$(BIN)/dispatch ha down

# The local demo logs verification codes (no SMS gateway or SMTP here); DISPATCH_DEV_LOG_CODES=0
# turns that off. Servers started any other way never log a code unless asked to.
run: $(if $(filter 1,$(HA)),ha-up vendor,setup)
	@if [ "$(HA)" = "1" ]; then export DATABASE_URL="$$($(BIN)/dispatch ha url)"; fi; \
	if [ "$(SEED)" != "0" ]; then $(BIN)/dispatch seed; fi; \
	DISPATCH_DEV_LOG_CODES="$${DISPATCH_DEV_LOG_CODES:-1}" exec $(BIN)/dispatch serve --workers $(WORKERS)

test: setup
	$(BIN)/ruff check dispatch api tests bench docs/hooks.py
	$(BIN)/ruff format --check dispatch api tests bench docs/hooks.py
	$(BIN)/mypy
	@$(MAKE) -s docs-build
	$(BIN)/pytest
	@$(BIN)/dispatch pgtap tests/sql

psql: db-up
	@$(BIN)/dispatch psql

db-url: venv
	@$(BIN)/dispatch db-url

db-down: venv
	@$(BIN)/dispatch db-down

bench: setup
	@$(BIN)/python -m bench --profile $(PROFILE)

simulate: setup
	@$(BIN)/python -m bench.simulate --profile $(PROFILE) --city $(CITY) $(if $(filter-out algiers,$(CITY)),--seeds 1 2 3)

# A recorded day of the database in use, replayed under a policy: make replay DATE=2026-12-06 [POLICY=assignment]
replay: setup
	@$(BIN)/python -m bench.simulate.replay --date $(DATE) $(if $(POLICY),--policy $(POLICY))

# The Monaco demo extract (© OpenStreetMap contributors, ODbL), fetched once into .dispatch/osm/ and
# imported as region `monaco` into the database in use (DATABASE_URL or the embedded cluster).
roads: migrate
	@$(BIN)/dispatch roads import "$$($(BIN)/dispatch roads fetch monaco | head -n 1)" --name monaco

# The manual (docs/, mkdocs.yml). --strict fails on a broken link or page; mkdocs -q would also
# hide the warnings that --strict counts, so only its INFO lines are filtered out.
docs-build: venv
	@set -o pipefail; NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict 2>&1 | { grep -v '^INFO' || true; }

# Serves the manual on DOCS_PORT, or a free port chosen here.
docs: venv
	@port="$${DOCS_PORT:-$$($(BIN)/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"; \
	echo "the manual: http://127.0.0.1:$$port/"; \
	NO_MKDOCS_2_WARNING=1 exec $(BIN)/mkdocs serve --dev-addr "127.0.0.1:$$port"
