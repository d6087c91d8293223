# Two entry points on a fresh Debian/Ubuntu machine with Python 3.11+:
#   make demo   — set everything up and run the demo
#   make test   — set everything up and run lint + the test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: setup demo test lint clean lock

$(STAMP): pyproject.toml constraints.txt deploy/setup-system.sh Makefile
	bash deploy/setup-system.sh
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "kakou needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]' -c constraints.txt
	# The plate-specific recogniser's model (models/plate_net.py): the wheel asks for opencv-python,
	# which would shadow opencv-python-headless, and only its model files are used.
	$(BIN)/pip install -q --no-deps 'hyperlpr==0.0.2'
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

# The newest versions pyproject.toml allows, installed and written to constraints.txt: run make test
# before committing it.
lock:
	$(BIN)/pip install -q -U -e '.[test]'
	{ sed -n '1,3p' constraints.txt; $(BIN)/pip freeze --exclude-editable | grep -v -i '^kakou'; } > constraints.txt.new
	mv constraints.txt.new constraints.txt

clean:
	rm -rf $(VENV) var build .pytest_cache .ruff_cache .hypothesis
