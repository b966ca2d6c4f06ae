# acdflow developer commands. `make test` and `make demo` bootstrap everything from uv.lock on a
# machine that has only Python 3.11, make and git.

SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
UV_VERSION := 0.13.8
UV := .tools/bin/uv
VENV := .venv
BIN := $(VENV)/bin

# The lock is the single source of versions: never let uv fetch an interpreter or re-resolve.
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: venv test lint typecheck unit requirements check-requirements demo bench clean help

help:
	@echo "make test      lint, type-check and run the test suite (bootstraps .venv from uv.lock)"
	@echo "make demo      run the end-to-end demo against the local 8x8 simulator"
	@echo "make bench     benchmarks (not tests)"
	@echo "make requirements  regenerate requirements.txt (Astro) from uv.lock"

$(UV):
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "acdflow needs Python 3.11, found " + sys.version.split()[0]'
	$(PYTHON) -m venv .tools
	.tools/bin/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(VENV)/.synced: uv.lock pyproject.toml | $(UV)
	$(UV) sync --frozen --python "$(PYTHON)"
	@touch $@

venv: $(VENV)/.synced

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv
	$(BIN)/mypy plugins/acdflow

check-requirements: venv
	@$(UV) export --frozen --no-dev --no-hashes --no-emit-project --no-header --quiet -o .acdflow-requirements.check
	@if ! diff -q requirements.txt .acdflow-requirements.check >/dev/null; then \
		rm -f .acdflow-requirements.check; \
		echo "requirements.txt is out of sync with uv.lock: run 'make requirements'"; exit 1; fi
	@rm -f .acdflow-requirements.check
	@echo "requirements.txt matches uv.lock"

requirements: $(UV)
	$(UV) export --frozen --no-dev --no-hashes --no-emit-project --no-header --quiet -o requirements.txt

unit: venv
	$(BIN)/python -m pytest

test: lint typecheck check-requirements unit

demo: venv
	@echo "make demo: the end-to-end demo is coming in a later issue; the environment is ready in $(VENV)."

bench: venv
	$(BIN)/python bench/bench_interactions.py
	$(BIN)/python bench/bench_live.py

clean:
	rm -rf $(VENV) .tools .acdflow .pytest_cache .mypy_cache .ruff_cache
