# gongkai 政务公开 — the two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | cksum | cut -d' ' -f1)

.PHONY: run test test-unit lint contracts bench infra-up infra-down up down clean

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing dependencies into $(VENV) (pinned by constraints.txt)…"
	@$(BIN)/pip install -q --upgrade pip
	@$(BIN)/pip install -q -c constraints.txt -e '.[dev,bench]'
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

## run: the whole suite in one process (embedded mode: SQLite under var/, no external services)
run: $(STAMP)
	@bash deploy/fonts.sh || echo "make run: no CJK font; the workbench's letters print from the browser, their PDF download says why it is missing" >&2
	$(BIN)/gongkai run

## test: every test; starts real PostgreSQL and Kafka from deploy/ when it can
test: $(STAMP)
	@bash scripts/test.sh

## test-unit: only the pure, fast tests
test-unit: $(STAMP)
	$(BIN)/pytest -q -m unit

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict shared services gongkai
	$(BIN)/python -m gongkai.contracts check

## contracts: regenerate contracts/ (event schemas, AsyncAPI, OpenAPI) from the code
contracts: $(STAMP)
	$(BIN)/python -m gongkai.contracts write

## bench: benchmarks with their peers (not tests); PostgreSQL started from deploy/
bench: $(STAMP)
	@bash scripts/bench.sh

## up / down: the distributed suite on this machine (Kafka, PostgreSQL, every service process)
up: $(STAMP)
	@bash deploy/suite.sh up

down:
	@bash deploy/suite.sh down

infra-up:
	@bash deploy/infra.sh up

infra-down:
	@bash deploy/infra.sh down

clean:
	rm -rf var/ .pytest_cache .mypy_cache .ruff_cache
