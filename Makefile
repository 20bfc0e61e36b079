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

.PHONY: run test dagster ui clean install .venv chromium

run: $(STAMP) chromium
	$(VENV)/bin/neglect run

test: $(STAMP) chromium
	$(VENV)/bin/python -m pytest -n 2 --dist loadscope

# Debian's Chromium, for the PNG charts (Plotly/Kaleido) and the browser test of the board report.
# Installed when missing and this machine can (root with apt-get); otherwise the PNGs and that test
# are skipped with a message, and everything else works.
chromium:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian's chromium (for PNG charts and the browser test)"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || \
	      echo "note: could not install chromium; PNG charts and the browser test will be skipped"; \
	  else \
	    echo "note: no chromium and no way to install it here; PNG charts and the browser test will be skipped"; \
	  fi

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
