# The two commands in README.md. Both create .venv on first use (Python >= 3.11, pip only).
VENV   ?= .venv
PYTHON ?= python3
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
OUT    ?= data/processed

.PHONY: demo test test-fast lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

## Install and run the whole pipeline on the bundled sample (data/sample/).
demo: $(STAMP)
	HF_HUB_OFFLINE=1 $(VENV)/bin/feedback run --config data/sample/pipeline.yaml --out $(OUT)

## Install and run the whole test suite (slow, model-heavy tests included).
test: $(STAMP)
	HF_HUB_OFFLINE=1 $(PY) -m pytest

## Fast tests only (no sentence-transformers, BERTopic or Prefect flow).
test-fast: $(STAMP)
	HF_HUB_OFFLINE=1 $(PY) -m pytest -m "not slow"

lint: $(STAMP)
	$(VENV)/bin/ruff check nlp flows tests scripts
	$(VENV)/bin/ruff format --check nlp flows tests scripts

clean:
	rm -rf $(OUT) .pytest_cache
