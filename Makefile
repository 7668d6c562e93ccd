# faaslab: two commands do everything on a fresh Debian/Ubuntu machine.
#   make demo   the tutorial, end to end, on the local cloud
#   make test   lint, type-check and the whole test suite
PYTHON ?= python3
VENV   := .venv
STAMP  := $(VENV)/.installed

# The tutorial's Java functions (examples/tutorial6/java), in Lambda's zip layout.
JAVA_TUTORIAL := examples/tutorial6/java
JAVA_ZIPS     := $(JAVA_TUTORIAL)/build/hello-sqlite.zip $(JAVA_TUTORIAL)/build/hello-mysql.zip
JAVA_SOURCES  := $(shell find $(JAVA_TUTORIAL)/src faaslab/functions/java/src -name '*.java') \
                 $(JAVA_TUTORIAL)/db.properties $(JAVA_TUTORIAL)/build.sh

.PHONY: install demo test lint bench clean java

install: $(STAMP)

$(STAMP): pyproject.toml scripts/install.sh
	@PYTHON=$(PYTHON) bash scripts/install.sh

java: $(JAVA_ZIPS)

$(JAVA_ZIPS) &: $(JAVA_SOURCES) | $(STAMP)
	bash $(JAVA_TUTORIAL)/build.sh

demo: $(STAMP) java
	$(VENV)/bin/faaslab demo

lint: $(STAMP)
	$(VENV)/bin/ruff check faaslab tests benchmarks examples
	$(VENV)/bin/ruff format --check faaslab tests benchmarks examples
	$(VENV)/bin/mypy faaslab

test: lint java
	$(VENV)/bin/pytest -q

bench: $(STAMP)
	$(VENV)/bin/python benchmarks/invoke.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache $(JAVA_TUTORIAL)/build faaslab/functions/java/build
