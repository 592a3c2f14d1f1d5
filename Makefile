# Garrison: `make demo` (the main job on the embedded SQLite default) and
# `make test` (the whole suite) do all the set-up on a fresh machine.

VENV     ?= .venv
PYTHON   ?= python3
BIN      := $(VENV)/bin
STAMP    := $(VENV)/.installed
SYS_CMDS := nmap tmux

.PHONY: demo test lint pytest bench system-deps clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# System tools the scanner and the TUI tests use; installed with apt when running as
# root, otherwise named so you can install them yourself.
system-deps:
	@missing=""; for c in $(SYS_CMDS); do command -v $$c >/dev/null 2>&1 || missing="$$missing $$c"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing:$$missing"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing >/dev/null \
	      || (apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing >/dev/null); \
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
	$(BIN)/pytest

test: lint pytest

bench: $(STAMP) system-deps
	$(BIN)/python bench/startup.py
	$(BIN)/python bench/scan_bench.py
	$(BIN)/python bench/import_bench.py
	$(BIN)/python bench/findings_bench.py
	$(BIN)/python bench/drill_bench.py
	$(BIN)/python bench/match_bench.py
	$(BIN)/python bench/rotation_bench.py
	$(BIN)/python bench/tui_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis dist build
