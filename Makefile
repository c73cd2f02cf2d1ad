# Every target creates and uses the project's virtual environment by itself.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: help venv generate regenerate test typecheck check-generated bench simulator fuzz clean

help:
	@echo "make generate     render generated/ from the committed discovery/ snapshot (offline)"
	@echo "make regenerate   refresh discovery/ from the live API (GENVR_BASE_URL), then generate"
	@echo "make test         run the test suite"
	@echo "make typecheck    mypy --strict on generated/, the runtime, the simulator and the generator"
	@echo "make fuzz         the property tests with many more examples (GENVR_FUZZ_SCHEMAS, default 10000)"
	@echo "make bench        benchmarks, printed as ratios against baselines measured in the same run"
	@echo "make simulator    start the GenVR simulator on 127.0.0.1:8765"

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

generate: $(STAMP)
	$(PY) -m generator generate

regenerate: $(STAMP)
	$(PY) -m generator regenerate

test: $(STAMP)
	$(PY) -m pytest

typecheck: $(STAMP)
	$(PY) -m mypy --strict generated/genvr runtime/genvr_runtime simulator generator

# Fails when generated/ does not match what the templates make from the snapshot.
check-generated: $(STAMP)
	$(PY) -m generator generate --check

# Property tests at full size; each line one property (counts from the environment).
GENVR_FUZZ_SCHEMAS ?= 10000
fuzz: $(STAMP)
	GENVR_FUZZ_SCHEMAS=$(GENVR_FUZZ_SCHEMAS) GENVR_FUZZ_REAL=20 $(PY) -m pytest -q -s tests/test_oracle.py

bench: $(STAMP)
	$(PY) -m bench

simulator: $(STAMP)
	$(PY) -m simulator --port 8765

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .hypothesis
