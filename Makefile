# eia: two commands to remember — `make demo` and `make test`.
# Both create .venv if missing, install the project and the reference data, then act.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DEMO   ?= params/examples/notts-diagnostics-consolidation.yaml
SHARED := ../shared/refdata

.PHONY: demo test setup data lint format bench docs browser-deps service-deps clean help

help:
	@echo "make demo   - set up, install reference data, run the Nottingham example, print the report path"
	@echo "make test   - set up, install reference data, run the full test suite"
	@echo "make lint   - ruff check and format check"
	@echo "make bench  - run the benchmark suite (after make demo)"
	@echo "make docs   - build the API reference from the docstrings into docs/api/"

$(STAMP): pyproject.toml
	@echo "Setting up .venv: installing eia and its dependencies (the first time takes a few minutes)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip uv
	@$(BIN)/uv pip install -q --python $(BIN)/python -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP)

# Reference data, in order: installed in shapes/, $EIA_REFDATA, ../shared/refdata, then fetch.
data: setup
	@if [ -f shapes/manifest.json ]; then \
		$(BIN)/eia data check; \
	elif [ -n "$$EIA_REFDATA" ]; then \
		$(BIN)/eia data install --from "$$EIA_REFDATA"; \
	elif [ -f $(SHARED)/manifest.json ]; then \
		$(BIN)/eia data install --from $(SHARED); \
	else \
		$(BIN)/eia data fetch; \
	fi

demo: data
	@$(BIN)/eia run $(DEMO)

test: data browser-deps service-deps
	@$(BIN)/ruff check --quiet src tests benchmarks conftest.py
	@$(BIN)/lint-imports --no-logo --no-cache >/dev/null || { $(BIN)/lint-imports --no-logo --no-cache; } || { echo "lint-imports: an import crosses the floors (pyproject.toml [tool.importlinter])"; exit 1; }
	@$(BIN)/pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: that is a failure"; exit 1; fi; \
	exit $$rc

lint: setup
	$(BIN)/ruff check src tests benchmarks conftest.py
	$(BIN)/ruff format --check src tests benchmarks conftest.py

format: setup
	$(BIN)/ruff format src tests benchmarks conftest.py
	$(BIN)/ruff check --fix src tests benchmarks conftest.py

docs: setup
	$(BIN)/python -m eia.runner.apidocs docs/api
	@echo "API reference: docs/api/index.html"

bench: data
	$(BIN)/python benchmarks/run.py

# Browser checks (tests/test_browser.py): Debian's chromium and the npm packages in
# package-lock.json (axe-core, playwright-core; no browser download). Quiet when present.
browser-deps:
	@if ! command -v chromium >/dev/null 2>&1; then \
		if [ "$$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "browser-deps: installing Debian's chromium"; \
			export DEBIAN_FRONTEND=noninteractive; \
			apt-get update -qq && apt-get install -y -qq chromium fonts-liberation poppler-utils >/dev/null; \
		else \
			echo "browser-deps: chromium is missing; install it with 'sudo apt-get install chromium fonts-liberation' (or set CHROMIUM=/path/to/chromium)"; \
		fi; \
	fi
	@if ! command -v pdfinfo >/dev/null 2>&1; then \
		if [ "$$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "browser-deps: installing Debian's poppler-utils (pdfinfo, pdftotext for the PDF tests)"; \
			export DEBIAN_FRONTEND=noninteractive; \
			apt-get update -qq && apt-get install -y -qq poppler-utils >/dev/null; \
		else \
			echo "browser-deps: pdfinfo is missing; install it with 'sudo apt-get install poppler-utils'"; \
		fi; \
	fi
	@if [ ! -f node_modules/axe-core/axe.min.js ] || [ ! -f node_modules/playwright-core/package.json ]; then \
		if ! command -v npm >/dev/null 2>&1; then \
			echo "browser-deps: npm is missing; install Node.js 20+ and npm"; \
		elif [ -f package-lock.json ]; then \
			PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error; \
		else \
			PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-audit --no-fund --loglevel=error; \
		fi; \
	fi

# Engine tests (tests/test_engines.py): Debian's PostgreSQL server (the tests start and stop
# their own, in a temporary folder) and Java 17 for PySpark in local mode.
service-deps:
	@missing=""; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v java >/dev/null 2>&1 || missing="$$missing openjdk-17-jre-headless"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "service-deps: installing Debian's$$missing"; \
			export DEBIAN_FRONTEND=noninteractive; \
			apt-get update -qq && apt-get install -y -qq $$missing >/dev/null; \
		else \
			echo "service-deps: missing$$missing; install with 'sudo apt-get install$$missing'"; \
		fi; \
	fi

clean:
	rm -rf $(VENV) outputs/* .pytest_cache
