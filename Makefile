# The two commands: `make run` serves Parley, `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint fmt bench clean frontend

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when the pins change: the stamp is newer than setup.cfg.
$(VENV)/.installed: $(BIN)/python setup.cfg
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed setup.cfg
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# The browser app is bundled by esbuild from frontend/src (needs Node.js and npm).
frontend:
	@if [ ! -f frontend/package.json ]; then \
		echo "No browser app to build."; \
	elif command -v npm >/dev/null 2>&1; then \
		cd frontend && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build; \
	else \
		echo "Node.js (with npm) is not installed: the browser app at / will not load."; \
		echo "Install Node.js 18+ (e.g. apt-get install nodejs npm) and run make run again."; \
	fi

# The development server asks for DEBUG (an unset environment is production-safe: DEBUG off).
run: export DEBUG ?= true
run: $(VENV)/.installed frontend
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py collectstatic --no-input --verbosity 0
	@echo "Parley is serving on http://$(HOST):$(PORT)/"
	$(BIN)/uvicorn project.asgi:application --host $(HOST) --port $(PORT) --ws-max-size 1048576

test: $(VENV)/.installed-dev
	@if [ -f frontend/package.json ] && command -v npm >/dev/null 2>&1; then \
		cd frontend && npm ci --no-audit --no-fund --loglevel=error && npm test; fi
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# mypy's Django plugin loads the settings: those of development (no production secret needed).
lint: export DEBUG ?= true
lint: $(VENV)/.installed-dev
	$(BIN)/flake8 .
	$(BIN)/isort --check-only --diff .
	$(BIN)/mypy .

fmt: $(VENV)/.installed-dev
	$(BIN)/isort .

bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .mypy_cache
