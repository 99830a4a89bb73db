# The two commands: `make run` serves Parley, `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# What the first run installs: setup.cfg's packages and theirs (tests/test_make_run.py counts them).
PACKAGE_COUNT := 38
NPM := $(shell command -v npm 2>/dev/null)
# npm writes this file as it installs: newer than the lock file, node_modules matches it.
NODE_MODULES := frontend/node_modules/.package-lock.json

.PHONY: run test lint fmt bench clean frontend

$(BIN)/python:
	@echo "Creating Parley's Python environment in $(VENV)/…"
	@$(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when the pins change: the stamp is newer than setup.cfg.
$(VENV)/.installed: $(BIN)/python setup.cfg
	@if [ -f $@ ]; then echo "setup.cfg changed: updating Parley's Python packages…"; \
	else echo "Installing Parley's Python packages (first run: ~$(PACKAGE_COUNT) packages, a minute or two)…"; fi
	@$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: $(VENV)/.installed setup.cfg
	@echo "Installing the test and lint tools…"
	@$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

# The browser app is bundled by esbuild from frontend/src (needs Node.js and npm).
ifdef NPM
$(NODE_MODULES): frontend/package-lock.json
	@echo "Installing the browser app's packages (npm ci)…"
	@cd frontend && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

frontend: $(NODE_MODULES)
	@cd frontend && npm run --silent build
else
frontend:
	@echo "Node.js (with npm) is not installed: the browser app at / will not load."
	@echo "Install Node.js 18+ (e.g. apt-get install nodejs npm) and run make run again."
endif

# The development server asks for DEBUG (an unset environment is production-safe: DEBUG off).
run: export DEBUG ?= true
run: $(VENV)/.installed frontend
	@$(BIN)/python manage.py migrate --no-input --verbosity 0
	@$(BIN)/python manage.py collectstatic --no-input --verbosity 0
	@$(BIN)/python manage.py serve --host $(HOST) --port $(PORT)

test: $(VENV)/.installed-dev $(if $(NPM),$(NODE_MODULES))
	@if [ -n "$(NPM)" ]; then cd frontend && npm test; fi
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# mypy's Django plugin loads the settings: those of development (no production secret needed).
lint: export DEBUG ?= true
lint: $(VENV)/.installed-dev
	$(BIN)/flake8 .
	$(BIN)/isort --check-only --diff .
	$(BIN)/mypy .
	@# The browser app against the protocol's types (frontend/protocol.d.ts), once npm ci ran.
	@if [ -d frontend/node_modules/typescript ]; then cd frontend && npx --no-install tsc -p tsconfig.json; \
	else echo "tsc skipped: run cd frontend && npm ci"; fi

fmt: $(VENV)/.installed-dev
	$(BIN)/isort .

bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .mypy_cache
