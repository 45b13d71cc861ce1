# StockWiz developer commands. Every target creates .venv when it is missing and installs the exact
# versions in constraints.txt, so every machine gets the same build.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed
# `make run` installs only what the three services import (about a tenth of the development tool chain);
# every other target installs everything.
RUN_STAMP := $(VENV)/.installed-run
SERVICE_REQUIREMENTS := apps/products/requirements.txt apps/inventory/requirements.txt \
	apps/gateway/requirements.txt
REQUIREMENTS := requirements-dev.txt constraints.txt requirements.txt policy/requirements.txt \
	$(SERVICE_REQUIREMENTS)
GATEWAY_PORT ?= 8000
PRODUCTS_PORT ?= 8001
INVENTORY_PORT ?= 8002
export PYTHONPATH := $(CURDIR)/apps:$(CURDIR)
STACK ?= dev

.PHONY: help install run test check lint fmt pytest lock upgrade synth diff policy mutants lambda-invoke bench capacity \
	screenshots clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(PY):
	$(PYTHON) -m venv $(VENV)

$(RUN_STAMP): $(PY) constraints.txt $(SERVICE_REQUIREMENTS)
	$(BIN)/pip install --quiet --disable-pip-version-check $(SERVICE_REQUIREMENTS:%=-r %) -c constraints.txt
	@touch $(RUN_STAMP)

$(STAMP): $(RUN_STAMP) $(REQUIREMENTS)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	@touch $(STAMP)

install: $(STAMP) ## create .venv and install the pinned tool chain

run: $(RUN_STAMP) ## run all three services on 127.0.0.1:8000/8001/8002 (GATEWAY_PORT=... to change; Ctrl-C stops them)
	$(PY) -m tools.devrun --gateway-port $(GATEWAY_PORT) --products-port $(PRODUCTS_PORT) \
		--inventory-port $(INVENTORY_PORT)

lint: $(STAMP) ## ruff, and strict mypy over everything (apps, components, policy, tests, tools, bootstrap)
	$(BIN)/ruff check apps components policy tests tools bootstrap __main__.py
	$(BIN)/ruff format --check apps components policy tests tools bootstrap __main__.py
	$(BIN)/mypy apps/stockwiz_runtime apps/products apps/inventory apps/gateway apps/lowstock components policy tests tools bootstrap
	$(PY) -m tools.image_locks --check

fmt: $(STAMP) ## reformat and fix what ruff can
	$(BIN)/ruff check --fix apps components policy tests tools bootstrap __main__.py
	$(BIN)/ruff format apps components policy tests tools bootstrap __main__.py

pytest: $(STAMP) ## the test suite alone (pass ARGS=... to select)
	$(PY) tools/ensure_chromium.py
	$(BIN)/pytest $(ARGS)

test: lint pytest ## lint, then the whole test suite

# The edit-test loop: the tests that need neither PostgreSQL, Docker, a browser nor service processes.
# STOCKWIZ_TEST_NO_POSTGRES and _NO_PROCESSES make a test that reaches PostgreSQL or starts a service
# without its `postgres` or `slow` mark fail, so the marks keep selecting what they say.
CHECK_MARKS := not postgres and not docker and not browser and not slow
check: lint ## lint, then the tests that need no PostgreSQL, Docker, browser or processes (about 1.5 minutes)
	STOCKWIZ_TEST_NO_POSTGRES=1 STOCKWIZ_TEST_NO_PROCESSES=1 $(BIN)/pytest -q -p no:cacheprovider \
		-m "$(CHECK_MARKS)" $(ARGS)

lock: $(STAMP) ## write the image locks and the policy pack's pins from constraints.txt
	$(PY) -m tools.image_locks

upgrade: ## re-resolve the pins in constraints.txt (PACKAGES="a b" for only those), then install and lock
	$(PYTHON) -m tools.upgrade_pins $(PACKAGES)
	$(MAKE) --no-print-directory install lock

synth: $(STAMP) ## print the resource tree `pulumi up` would create for STACK (no AWS needed)
	$(PY) -m tools.synth --stack $(STACK)

diff: $(STAMP) ## offline `pulumi preview` of STACK: BASE=<git ref> against the working tree
	@test -n "$(BASE)" || { echo "usage: make diff BASE=<git ref> [STACK=dev|prod]" >&2; exit 2; }
	@$(PY) -m tools.diff --base "$(BASE)" --stack $(STACK)

policy: $(STAMP) ## evaluate the CrossGuard pack offline against every stack
	$(PY) -m tools.policy_check

mutants: $(STAMP) ## mutation test: the pack must reject each mistake of tools/mutant_catalogue.py
	$(PY) -m tools.mutants $(ARGS)

lambda-invoke: $(STAMP) ## run the low-stock Lambda handler once against the local app (make run)
	$(PY) -m tools.lambda_invoke

bench: $(STAMP) ## benchmark the services on PostgreSQL (see README, Performance)
	$(PY) -m tools.bench

capacity: $(STAMP) ## one task of each stack's size under Docker: req/s at p99 < 100 ms, then the capacity model (README, Capacity and cost)
	$(PY) -m tools.capacity $(ARGS)

screenshots: $(STAMP) ## retake the README's screenshots of the web UI (docs/screenshots/; needs Chromium)
	$(PY) tools/ensure_chromium.py
	$(PY) -m tools.screenshots

clean: ## remove the virtualenv, local data and build output
	rm -rf $(VENV) data build .mypy_cache .ruff_cache .pytest_cache
