# make run   - install everything, build the synthetic partnership, run the pipeline
# make test  - install everything and run the tests
# make dagster (or make ui) - the Dagster UI on http://127.0.0.1:3000
# make clean - remove the synthetic partnership, warehouse, outputs and Dagster state (keeps .venv)

PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 3000

# Dagster reads dagster.yaml from DAGSTER_HOME (this folder); its state goes in .dagster/.
export DAGSTER_HOME := $(CURDIR)

.PHONY: run test dagster ui clean install .venv

run: $(STAMP)
	$(VENV)/bin/neglect run

test: $(STAMP)
	$(VENV)/bin/python -m pytest

dagster ui: $(STAMP)
	mkdir -p .dagster
	$(VENV)/bin/dagster dev -m pipelines.definitions -h $(HOST) -p $(PORT)

install .venv: $(STAMP)

# Re-installs only when pyproject.toml or constraints.txt change.
$(STAMP): pyproject.toml constraints.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

# Generated, rebuildable things only: not .venv, and not data/ beyond the synthetic partnership
# (real extracts may be kept under data/).
clean:
	rm -rf data/synthetic warehouse output .dagster logs .pytest_cache
