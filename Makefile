# ganforge: two commands for a fresh machine: `make demo` (main job) and `make test` (tests).
PYTHON ?= python3
PIP := $(PYTHON) -m pip

.PHONY: install demo test test-all lint fetch-data bench

# torch first, pinned to the CPU wheel these machines carry, so pip never pulls a CUDA build.
install:
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -e ".[dev]"

fetch-data: install
	$(PYTHON) -m ganforge data fetch mnist
	$(PYTHON) -m ganforge data fetch fashion-mnist

demo: install
	$(PYTHON) -m ganforge demo

test: fetch-data
	$(PYTHON) -m pytest -q -m "not slow and not gpu"

test-all: fetch-data
	$(PYTHON) -m pytest -q -m "not gpu"

lint: install
	$(PYTHON) -m ruff check src tests benchmarks

bench: install
	$(PYTHON) benchmarks/data_load.py
