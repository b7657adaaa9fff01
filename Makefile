# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench sandbox demo clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Reinstall only when the project metadata changes; the install is editable.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/conturs db upgrade
	$(BIN)/conturs serve --port $${PORT:-8082}

test: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-logo
	$(BIN)/python -m pytest -n 2

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-logo
	$(BIN)/ruff format --check .

bench: $(VENV)/.dev-installed
	$(BIN)/python benchmarks/leads_throughput.py

sandbox: $(VENV)/.installed
	$(BIN)/conturs sandbox

# The app and an emulated HubSpot wired to each other, with a demo portal to
# install on (README, "Try it: make demo"); ports: DEMO_PORT, DEMO_SANDBOX_PORT.
demo: $(VENV)/.installed
	$(BIN)/conturs demo

clean:
	rm -rf $(VENV) instance .pytest_cache
