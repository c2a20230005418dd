# ganforge: two commands for a fresh machine: `make demo` (main job) and `make test` (tests).
PYTHON ?= python3
PIP := $(PYTHON) -m pip

.PHONY: install tracking demo test test-all lint fetch-data bench browser

# torch first, pinned to the CPU wheel these machines carry, so pip never pulls a CUDA build.
install:
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -e ".[dev]"

# The mlflow extra (about 50 s and 0.8 GB on an empty virtual environment) lets
# tests/train/test_mlflow_log.py run against a real store; the demo does not need it.
tracking: install
	$(PIP) install --quiet -e ".[dev,mlflow]"

fetch-data: install
	$(PYTHON) -m ganforge data fetch mnist
	$(PYTHON) -m ganforge data fetch fashion-mnist

demo: install
	$(PYTHON) -m ganforge demo

# Debian's chromium renders the HTML report in tests/report (skipped with a note where it is absent).
browser:
	@command -v chromium >/dev/null 2>&1 || (command -v apt-get >/dev/null 2>&1 && \
	  (apt-get install -y -qq chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium)) \
	  || echo "chromium not installed: the browser test of the report will be skipped")

# Then the tests marked `precision` once more as the other kind of CPU would run them: `auto` is bf16 on
# CPUs with native bf16 (AMX, AVX512-BF16) and fp32 elsewhere; GANFORGE_PRECISION overrides it. Last,
# the CUDA tests on the CPU (benchmarks/gpu.sh runs them on a GPU).
test: fetch-data browser tracking
	$(PYTHON) -m pytest -q -m "not slow and not gpu"
	@other=$$($(PYTHON) -c 'from ganforge.train.runtime import other_cpu_precision; print(other_cpu_precision())'); \
	  echo "precision-marked tests again with GANFORGE_PRECISION=$$other (the other CPU kind's auto)"; \
	  GANFORGE_PRECISION=$$other $(PYTHON) -m pytest -q -m "precision and not slow and not gpu"
	@echo "the CUDA tests of tests/test_cuda.py on the CPU (GANFORGE_TEST_DEVICE=cpu), so they stay runnable"
	GANFORGE_TEST_DEVICE=cpu $(PYTHON) -m pytest -q -m gpu tests/test_cuda.py

test-all: fetch-data browser tracking
	$(PYTHON) -m pytest -q -m "not gpu"

lint: install
	$(PYTHON) -m ruff check src tests benchmarks

bench: install
	$(PYTHON) benchmarks/data_load.py
