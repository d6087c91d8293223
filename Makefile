# Two entry points on a fresh Debian/Ubuntu machine with Python 3.11+:
#   make demo   — set everything up and run the demo
#   make test   — set everything up and run lint + the test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: setup demo test lint clean

$(STAMP): pyproject.toml deploy/setup-system.sh
	bash deploy/setup-system.sh
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "kakou needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(BIN)/kakou demo

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python tools/import_tree.py mypy  # through build/import-tree: see tools/import_tree.py
	$(BIN)/python tools/import_tree.py lint-imports  # layering contracts ([tool.importlinter])
	$(BIN)/pytest -q -p no:cacheprovider tests/test_layering.py  # no module takes another's private names

test: lint
	$(BIN)/pytest

clean:
	rm -rf $(VENV) var build .pytest_cache .ruff_cache .hypothesis
