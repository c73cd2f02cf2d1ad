# Every target creates and uses the project's virtual environment by itself.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: help venv generate regenerate test typecheck check-generated bench simulator docs browser clean

help:
	@echo "make generate     render generated/ from the committed discovery/ snapshot (offline)"
	@echo "make regenerate   refresh discovery/ from the live API (GENVR_BASE_URL), then generate"
	@echo "make test         run the test suite"
	@echo "make typecheck    mypy --strict on generated/, the runtime, the simulator and the generator"
	@echo "make bench        benchmarks, printed as ratios against baselines measured in the same run"
	@echo "make simulator    start the GenVR simulator on 127.0.0.1:$(PORT) (PORT=8765 by default)"
	@echo "make docs         build the searchable HTML catalogue of every model into build/docs/"

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP) $(GEN_STAMP)

# `make generate` needs only the generator's dependencies (a fresh clone does not install the test stack for it).
GEN_STAMP := $(VENV)/.installed-generator

$(GEN_STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[generator]'
	touch $(GEN_STAMP)

generate: $(GEN_STAMP)
	$(PY) -m generator generate

regenerate: $(GEN_STAMP)
	$(PY) -m generator regenerate

test: $(STAMP) browser
	$(PY) -m pytest

typecheck: $(STAMP)
	$(PY) -m mypy --strict generated/genvr runtime/genvr_runtime simulator generator

# Fails when generated/ does not match what the templates make from the snapshot.
check-generated: $(STAMP)
	$(PY) -m generator generate --check

bench: $(STAMP)
	$(PY) -m bench

PORT ?= 8765
simulator: $(STAMP)
	$(PY) -m simulator --port $(PORT)

docs: $(GEN_STAMP)
	$(PY) -m generator docs --out build/docs

# The docs catalogue's browser test needs Debian's Chromium (Playwright drives it; it downloads no browser).
browser:
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium) \
	  || echo "warning: Chromium could not be installed; the docs browser test will be skipped"

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .hypothesis
