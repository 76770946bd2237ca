# The two commands at the top of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
RUNSTAMP := $(VENV)/.installed
CONFIG ?= config/pmhub.yaml
# `make run PORT=9090` when 8080 is taken (0 picks a free port).
PORT ?= 8080

.PHONY: run serve test lint typecheck pytest bench chaos retention-size clean kustomize-config

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The sandbox's extra (`demo`: aiosmtpd, trustme) comes with it: `make run` is the demo.
$(RUNSTAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[demo]'
	touch $@

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,demo]'
	touch $@ $(RUNSTAMP)

# The sandbox: every vendor faked on loopback, the real daemon on 127.0.0.1:8080.
run: $(RUNSTAMP)
	$(BIN)/pmhub demo --port $(PORT)

# The daemon itself, on your configuration.
serve: $(RUNSTAMP)
	mkdir -p var
	$(BIN)/pmhub serve --config $(CONFIG)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

# Workers (PYTEST_WORKERS, one per core by default): each has its own databases, and tests
# bind port 0. Tests go out one at a time, longest first (tests/conftest.py orders them),
# so the whole-system tests do not all land on one worker.
PYTEST_WORKERS ?= auto
pytest: $(STAMP)
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist load --maxschedchunk 1

test: lint typecheck pytest

bench: $(STAMP)
	$(BIN)/python -m tests.bench.run

# Issue 12's proof, full size: replicas killed, vendors failing; writes RELIABILITY.md.
chaos: $(STAMP)
	$(BIN)/python -m tests.reliability.chaos

# Database size after 100,000 deliveries with and without retention -> RELIABILITY.md
# (its "Retention" section only, between the retention markers).
retention-size: $(STAMP)
	$(BIN)/python -m tests.bench.retention_size

# kustomize reads no file outside its folder: the Kubernetes base keeps copies of the
# production configuration and the policies (tests/deploy fails when they drift).
kustomize-config:
	cp deploy/pmhub.production.yaml deploy/kubernetes/base/config/pmhub.yaml
	rm -f deploy/kubernetes/base/config/policies/*.yaml
	cp config/policies/*.yaml deploy/kubernetes/base/config/policies/

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
