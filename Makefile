# Two commands do all set-up on a fresh machine:
#   make run    — install, migrate, apply examples/statuspage.yml, serve http://127.0.0.1:8080
#   make test   — install test dependencies (and Debian's chromium when missing, as root), run everything
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8080
CONFIG ?= examples/statuspage.yml
PYTEST_ARGS ?=

.PHONY: run test install install-test browser lint bench bench-public clean worker

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml package.json | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	# Browser-test assets from npm (the official status widget, axe-core), pinned by package-lock.json.
	npm ci --no-audit --no-fund --silent
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

run: install
	$(BIN)/statuspage db upgrade
	$(BIN)/statuspage config apply $(CONFIG)
	$(BIN)/statuspage run --host $(HOST) --port $(PORT)

worker: install
	$(BIN)/statuspage worker

# Browser tests drive Debian's Chromium (Playwright cannot download browsers here).
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = "0" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "Debian's chromium is missing: run 'sudo apt-get install chromium'" >&2; exit 1; fi; fi

test: install-test browser
	$(BIN)/python -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

# Public page benchmark (wrk, nginx and gunicorn; on a fresh machine: apt-get install -y wrk nginx).
bench-public: install-test
	$(BIN)/python bench/public_page.py

lint: install-test
	$(BIN)/ruff check statuspage checks tests bench

clean:
	rm -rf $(VENV) instance test-results
