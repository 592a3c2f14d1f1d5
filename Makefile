# Garrison: `make demo` (the main job on the embedded SQLite default) and
# `make test` (the whole suite, on SQLite and on a throwaway PostgreSQL server) do all
# the set-up on a fresh machine. `make test-year-ahead` runs the suite again with the
# system clock a year ahead, as CI does.

VENV     ?= .venv
PYTHON   ?= python3
BIN      := $(VENV)/bin
STAMP    := $(VENV)/.installed
SYS_CMDS := nmap tmux
# pytest runs through tests/pgcluster.py: it starts a throwaway PostgreSQL server for the
# run (unless GARRISON_TEST_PG names one) and removes it afterwards. Extra pytest
# arguments: make pytest PYTEST_ARGS='-x tests/garrison'.
PYTEST   := $(BIN)/python -m tests.pgcluster -- $(BIN)/pytest $(PYTEST_ARGS)
APT_GET  := DEBIAN_FRONTEND=noninteractive apt-get install -y -q
# apt-get install, refreshing the package lists once if a package is not found.
apt_install = $(APT_GET) $(1) >/dev/null || (apt-get update -q >/dev/null && $(APT_GET) $(1) >/dev/null)

.PHONY: demo test test-year-ahead lint pytest bench system-deps clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# System tools the scanner and the TUI tests use, and the PostgreSQL server programs the
# storage tests start their throwaway server with; installed with apt when running as
# root, otherwise named so you can install them yourself.
system-deps:
	@missing=""; for c in $(SYS_CMDS); do command -v $$c >/dev/null 2>&1 || missing="$$missing $$c"; done; \
	$(PYTHON) -c 'import tests.pgcluster as p; p.find_bindir()' 2>/dev/null || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing:$$missing"; \
	    $(call apt_install,$$missing); \
	  else echo "note: missing$$missing (sudo apt-get install$$missing); tests that need them skip"; fi; \
	fi

# Ends in the TUI on the demo data when run in a terminal; otherwise (CI, a pipe) it
# prints the findings summary instead.
demo: $(STAMP) system-deps
	$(BIN)/garrison demo
	@echo "(run garrison as $(BIN)/garrison, or after: source $(BIN)/activate)"
	@if [ -t 0 ] && [ -t 1 ]; then \
	  $(BIN)/garrison tui; \
	else \
	  $(BIN)/garrison findings summary; \
	  echo "Not a terminal, so the TUI was not opened: run $(BIN)/garrison tui"; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

pytest: $(STAMP) system-deps
	$(PYTEST)

test: lint pytest

# The whole suite again with the system clock a year ahead (libfaketime): a test or code
# path that reads the system's date instead of settings.clock fails here. The PostgreSQL
# server, throwaway or GARRISON_TEST_PG, keeps the real time. Only the wall clock moves:
# with a faked monotonic clock, Python's timed lock waits (sem_clockwait, not intercepted
# by libfaketime 0.9.10) wait a year and the run hangs. tests/yearahead/sitecustomize.py
# works around the one thing a real monotonic clock breaks under libfaketime (time.sleep
# fails with EINVAL, wolfcw/libfaketime#426).
test-year-ahead: $(STAMP) system-deps
	@command -v faketime >/dev/null 2>&1 || \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing: faketime"; $(call apt_install,faketime); \
	else echo "make test-year-ahead needs faketime: sudo apt-get install faketime" >&2; exit 1; fi
	PYTHONPATH=$(CURDIR)/tests/yearahead FAKETIME_DONT_FAKE_MONOTONIC=1 \
	  $(BIN)/python -m tests.pgcluster -- faketime -f '+365d' $(BIN)/pytest $(PYTEST_ARGS)

bench: $(STAMP) system-deps
	$(BIN)/python bench/startup.py
	$(BIN)/python bench/scan_bench.py
	$(BIN)/python bench/import_bench.py
	$(BIN)/python bench/assets_bench.py
	$(BIN)/python bench/findings_bench.py
	$(BIN)/python bench/drill_bench.py
	$(BIN)/python bench/match_bench.py
	$(BIN)/python bench/rotation_bench.py
	$(BIN)/python bench/tui_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis dist build
