# The two commands in README.md. Both create .venv on first use (Python >= 3.11, pip only) and
# install exactly requirements.lock, hash-checked, then the project itself (editable, no
# dependency resolution). `make lock` regenerates the lock after a change to pyproject.toml.
VENV   ?= .venv
PYTHON ?= python3
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check
STAMP  := $(VENV)/.installed
LOCK   := requirements.lock
OUT    ?= data/processed
SHARED ?= ../shared/data
SRC    := nlp flows tests scripts bench
# pip-tools for `make lock`, in a venv of its own (inside .venv, so ignored and cleaned with it).
LOCK_VENV ?= $(VENV)/.lock-tools
PIP_TOOLS ?= pip-tools==7.6.2

.PHONY: demo test test-fast lint format bench-quick lock clean

# --no-build-isolation: setuptools comes from the lock, so nothing unpinned is fetched to
# build the project. A venv that exists is updated in place (pins no longer in the lock stay
# installed until `rm -rf .venv`).
$(STAMP): $(LOCK) pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --require-hashes -r $(LOCK)
	$(PIP) install -q --no-deps --no-build-isolation -e .
	touch $(STAMP)

## Install and run the whole pipeline on the bundled sample (data/sample/).
demo: $(STAMP)
	HF_HUB_OFFLINE=1 $(VENV)/bin/feedback run --config data/sample/pipeline.yaml --out $(OUT)

## Install and run the whole test suite (slow, model-heavy tests included).
test: $(STAMP)
	HF_HUB_OFFLINE=1 $(PY) -m pytest -n 2 --dist loadfile --no-loadscope-reorder

## Fast tests only (no torch, sentence-transformers, BERTopic or Prefect flow).
test-fast: $(STAMP)
	HF_HUB_OFFLINE=1 $(PY) -m pytest -m "not slow"

lint: $(STAMP)
	$(VENV)/bin/ruff check $(SRC)
	$(VENV)/bin/ruff format --check $(SRC)

## Rewrite the sources in place: ruff's formatter, then its autofixes (import order etc.).
format: $(STAMP)
	$(VENV)/bin/ruff format $(SRC)
	$(VENV)/bin/ruff check --fix $(SRC)

## Short benchmarks (well under 2 minutes, needs $(SHARED)): ingest throughput on 2,000
## comments against plain normalise_text in the same run, and PII recall on 200 comments.
bench-quick: $(STAMP)
	HF_HUB_OFFLINE=1 $(PY) bench/ingest_throughput.py --n 2000 --shared $(SHARED)
	HF_HUB_OFFLINE=1 $(PY) bench/pii_eval.py --n 200 --shared $(SHARED)

## Regenerate requirements.lock from pyproject.toml ([project] deps + the dev extra), keeping
## the current pins where they still fit; UPGRADE=1 moves everything to the newest allowed.
## Resolves through pip's own config (PyPI, the file:// indexes, /opt/wheels for torch+cpu).
lock:
	test -x $(LOCK_VENV)/bin/pip-compile || \
		{ $(PYTHON) -m venv $(LOCK_VENV) && $(LOCK_VENV)/bin/pip install -q $(PIP_TOOLS); }
	$(LOCK_VENV)/bin/pip-compile -q --generate-hashes --allow-unsafe --strip-extras \
		--no-emit-index-url --extra dev $(if $(UPGRADE),--upgrade) --output-file $(LOCK) \
		pyproject.toml
	{ printf '%s\n' \
		'# Locked environment for .venv (make installs it with pip --require-hashes).' \
		'# Do not edit by hand: change pyproject.toml, then run `make lock`, which runs the' \
		'# pip-compile command below (pip-tools, through pip'"'"'s config: PyPI, the file:// indexes' \
		'# and /opt/wheels, where the CPU build of torch lies: torch==...+cpu is that wheel).' \
		; cat $(LOCK); } > $(LOCK).tmp && mv $(LOCK).tmp $(LOCK)

clean:
	rm -rf $(OUT) .pytest_cache
