VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EXAMPLE_STAMP := $(VENV)/.installed-example
EXAMPLE := examples/shop

.PHONY: run test lint typecheck unit integration bench docs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(EXAMPLE_STAMP): $(STAMP) $(EXAMPLE)/requirements.txt
	$(BIN)/python -m pip install --quiet -r $(EXAMPLE)/requirements.txt
	touch $(EXAMPLE_STAMP)

run: $(EXAMPLE_STAMP)
	scripts/ensure-chromium.sh || echo "make run: warning: no Chromium, so the browser suites will be reported as infrastructure errors; every other suite runs." >&2
	cd $(EXAMPLE) && PATH="$(abspath $(BIN)):$$PATH" qaagent run-all --parallel --max-workers 3

test: lint typecheck
	$(BIN)/pytest -n auto

lint: $(STAMP)
	$(BIN)/ruff check src tests bench examples
	$(BIN)/ruff format --check src tests bench examples
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest tests/unit

integration: $(STAMP)
	$(BIN)/pytest tests/integration

bench: $(STAMP)
	$(BIN)/python bench/startup.py
	$(BIN)/python bench/overhead.py
	$(BIN)/python bench/makespan.py
	$(BIN)/python bench/split.py
	$(BIN)/python bench/split_real.py
	$(BIN)/python bench/split_parts.py
	$(BIN)/python bench/scale.py
	$(BIN)/python bench/cache.py
	$(BIN)/python bench/output.py
	$(BIN)/python bench/serve_load.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .grimp_cache .import_linter_cache

docs: $(STAMP)
	$(BIN)/python -c "from pathlib import Path; from qaagent.config.reference import update_readme; update_readme(Path('README.md'))"
