# acdflow developer commands. `make test` and `make demo` bootstrap everything from uv.lock on a
# machine that has only Python 3.11, make and git.

SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
UV_VERSION := 0.13.8
UV := .tools/bin/uv
VENV := .venv
BIN := $(VENV)/bin

# Extra pytest arguments for `make unit`/`make test-e2e`, e.g. PYTEST_ARGS=--durations=0 (CI sets it).
PYTEST_ARGS ?=

# The lock is the single source of versions: never let uv fetch an interpreter or re-resolve.
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: venv test test-e2e lint typecheck unit requirements check-requirements demo airflow bench bench-parse bench-storage bench-clear-day bench-triggerer bench-history soak clean help

help:
	@echo "make test      lint, type-check and run the test suite (bootstraps .venv from uv.lock)"
	@echo "make demo      run the end-to-end demo against the local 8x8 simulator"
	@echo "make airflow   airflow standalone with the demo integration (UI on http://127.0.0.1:8080)"
	@echo "make test-e2e  opt-in tests under a real scheduler and in a headless browser"
	@echo "make bench     benchmarks (not tests); make bench-storage: WAL and rows written per day"
	@echo "               make bench-parse: DAG-folder processing at 1,000 integrations"
	@echo "               make bench-history: 30 days of history through the history DAG"
	@echo "make soak      a simulated day of three integrations under faults and a real scheduler (about an hour)"
	@echo "make requirements  regenerate requirements.txt (Astro) from uv.lock"

$(UV):
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "acdflow needs Python 3.11, found " + sys.version.split()[0]'
	$(PYTHON) -m venv .tools
	.tools/bin/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

# Bytecode compiled once here: where PYTHONDONTWRITEBYTECODE is set, every Airflow process would
# otherwise compile Airflow, pandas and Great Expectations from source on each start (seconds each).
$(VENV)/.synced: uv.lock pyproject.toml | $(UV)
	$(UV) sync --frozen --compile-bytecode --python "$(PYTHON)"
	@touch $@

venv: $(VENV)/.synced

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv
	$(BIN)/mypy plugins/acdflow dev/acdflow_dev

check-requirements: venv
	@$(UV) export --frozen --no-dev --no-hashes --no-emit-workspace --no-header --quiet -o .acdflow-requirements.check
	@if ! diff -q requirements.txt .acdflow-requirements.check >/dev/null; then \
		rm -f .acdflow-requirements.check; \
		echo "requirements.txt is out of sync with uv.lock: run 'make requirements'"; exit 1; fi
	@rm -f .acdflow-requirements.check
	@echo "requirements.txt matches uv.lock"

requirements: $(UV)
	$(UV) export --frozen --no-dev --no-hashes --no-emit-workspace --no-header --quiet -o requirements.txt

# pytest's exit code 5 (no tests collected) is not a failure.
unit: venv
	$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests selected"; rc=0; fi; exit $$rc

test: lint typecheck check-requirements unit

demo: venv
	$(BIN)/acdflow-dev demo run

airflow: venv
	$(BIN)/acdflow-dev demo airflow

# Opt-in end-to-end tests: a real Airflow scheduler (several minutes) and a headless browser
# (Debian's chromium and chromium-driver; skipped with a reason when they are not installed).
test-e2e: venv
	$(BIN)/python -m pytest -m e2e --basetemp=.acdflow/tmp/e2e $(PYTEST_ARGS); rc=$$?; if [ $$rc -eq 5 ]; then echo "no e2e tests selected"; rc=0; fi; exit $$rc

bench: venv
	$(BIN)/python bench/bench_interactions.py
	$(BIN)/python bench/bench_live.py
	$(BIN)/python bench/bench_parse.py
	$(BIN)/python bench/bench_capacity.py
	$(BIN)/python bench/bench_storage.py
	$(BIN)/python bench/bench_clear_day.py
	$(BIN)/python bench/bench_triggerer.py

# WAL and rows written for a day of one 100,000-interaction tenant at the default windows, next to
# the same day imported by the revision before unchanged re-reads stopped writing (BENCH_ARGS:
# e.g. --hours 6 for a quarter of the day).
bench-storage: venv
	$(BIN)/python bench/bench_storage.py $(BENCH_ARGS)

# DAG-folder processing for 1,000 integrations next to plain EmptyOperator DAGs of the same shapes.
bench-parse: venv
	$(BIN)/python bench/bench_parse.py $(BENCH_ARGS)

# The clear-a-day benchmark alone (a real scheduler; the longest part of make bench).
bench-clear-day: venv
	$(BIN)/python bench/bench_clear_day.py

# The live-status trigger's CPU and memory per poller with 100, 300 and 1,000 simulated tenants in
# one triggerer process (BENCH_ARGS: e.g. --pollers 100 --duration 60).
bench-triggerer: venv
	$(BIN)/python bench/bench_triggerer.py $(BENCH_ARGS)

# Thirty days of one 100,000-interaction, 300-agent tenant through its history DAG under a real
# scheduler, next to downloading the same report pages raw (BENCH_ARGS: e.g. --days 5).
bench-history: venv
	$(BIN)/python bench/bench_history.py $(BENCH_ARGS)

# Three integrations import a simulated day each (100,000 interactions, 300 agents) under a real
# scheduler while 5 % of requests fail; the warehouse is then compared with the ground truth.
soak: venv
	$(BIN)/python bench/soak.py

clean:
	rm -rf $(VENV) .tools .acdflow .pytest_cache .mypy_cache .ruff_cache
