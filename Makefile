# Two entry points for a fresh machine (see README): `make run` and `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: setup run test lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (Python 3.11)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-*; touch $@

# The main job. Until the consultation UI lands (issue 6), it builds the hpo pack, trains the diagnosis
# model on first use (progress bars, under 2 minutes) and runs an example consultation step.
run: setup
	$(BIN)/codx pack build hpo
	$(BIN)/codx diagnose --example

lint: setup
	$(BIN)/lint-imports
	$(BIN)/ruff check src tests

test: lint
	$(BIN)/pytest -q

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .ruff_cache .hypothesis
