# faaslab: two commands do everything on a fresh Debian/Ubuntu machine.
#   make demo   the tutorial, end to end, on the local cloud
#   make test   lint, type-check and the whole test suite
PYTHON ?= python3
VENV   := .venv
STAMP  := $(VENV)/.installed

.PHONY: install demo test lint bench clean

install: $(STAMP)

$(STAMP): pyproject.toml scripts/install.sh
	@PYTHON=$(PYTHON) bash scripts/install.sh

demo: $(STAMP)
	$(VENV)/bin/faaslab demo

lint: $(STAMP)
	$(VENV)/bin/ruff check faaslab tests benchmarks examples
	$(VENV)/bin/ruff format --check faaslab tests benchmarks examples
	$(VENV)/bin/mypy faaslab

test: lint
	$(VENV)/bin/pytest -q

bench: $(STAMP)
	$(VENV)/bin/python benchmarks/invoke.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
