# Every target creates and uses the project's virtual environment by itself.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: help venv generate regenerate test test-comfyui fuzz typecheck check-generated bench simulator chaos docs browser clean

help:
	@echo "make generate     render generated/ from the committed discovery/ snapshot (offline)"
	@echo "make regenerate   refresh discovery/ from the live API (GENVR_BASE_URL), then generate"
	@echo "make test         run the test suite"
	@echo "make fuzz         the property tests with many examples (GENVR_FUZZ_EXAMPLES, default 10000; counts printed)"
	@echo "make test-comfyui the node pack in a real ComfyUI (../shared/comfyui) against the simulator"
	@echo "make typecheck    mypy --strict on generated/, the runtime, the simulator and the generator"
	@echo "make fuzz         the property tests with many more examples (GENVR_FUZZ_SCHEMAS, default 10000)"
	@echo "make bench        benchmarks, printed as ratios against baselines measured in the same run"
	@echo "make simulator    start the GenVR simulator on 127.0.0.1:$(PORT) (PORT=8765 by default)"
	@echo "make docs         build the searchable HTML catalogue of every model into build/docs/"
	@echo "make chaos        500 seeded fault schedules against genvr batch run (SEED=N replays one, KINDS=a,b)"

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP) $(GEN_STAMP) $(SIM_STAMP)

# `make generate` needs only the generator's dependencies (a fresh clone does not install the test stack for it).
GEN_STAMP := $(VENV)/.installed-generator

$(GEN_STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[generator]'
	touch $(GEN_STAMP)

generate: $(GEN_STAMP)
	$(PY) -m generator generate

# Exit code 4: regenerated, but a breaking change was found (listed first, and in discovery/CHANGELOG.md).
regenerate: $(GEN_STAMP)
	$(PY) -m generator regenerate

test: $(STAMP) browser
	$(PY) -m pytest

# The three properties of issue 10 at full size (name stability, the breaking-change classifier, the differential
# oracle); `make test` runs the same with bounded example counts.
GENVR_FUZZ_EXAMPLES ?= 10000
GENVR_FUZZ_SCHEMAS ?= 10000
fuzz: $(STAMP)
	GENVR_FUZZ_EXAMPLES=$(GENVR_FUZZ_EXAMPLES) GENVR_FUZZ_SCHEMAS=$(GENVR_FUZZ_SCHEMAS) GENVR_FUZZ_REAL=20 \
		$(PY) -m pytest -q -s tests/test_name_stability_property.py tests/test_change_classifier.py tests/test_oracle.py

# The pack in a real, headless ComfyUI. Its venv (a few GB: torch) is cached in ~/.cache/genvr-bindings/comfyui.
test-comfyui: $(STAMP)
	$(PY) -m pytest tests/test_comfyui_real.py --real-comfyui --durations=5

typecheck: $(STAMP)
	$(PY) -m mypy --strict generated/genvr runtime/genvr_runtime simulator generator

# Fails when generated/ does not match what the templates make from the snapshot.
check-generated: $(STAMP)
	$(PY) -m generator generate --check

bench: $(STAMP)
	$(PY) -m bench

# `make simulator` needs only the simulator's dependencies (the README's quickstart starts with it).
SIM_STAMP := $(VENV)/.installed-simulator

$(SIM_STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[simulator]'
	touch $(SIM_STAMP)

PORT ?= 8765
simulator: $(SIM_STAMP)
	$(PY) -m simulator --port $(PORT)

docs: $(GEN_STAMP)
	$(PY) -m generator docs --out build/docs

# The docs catalogue's browser test needs Debian's Chromium (Playwright drives it; it downloads no browser).
browser:
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium) \
	  || echo "warning: Chromium could not be installed; the docs browser test will be skipped"

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .hypothesis

# Fault-injection schedules against `genvr batch run` (tests/chaos). SEED=N replays one; KINDS=a,b uses only
# those fault kinds; COUNT=N schedules (default 500); WORKERS=N in parallel (default 3).
COUNT   ?= 500
WORKERS ?= 3
chaos: $(STAMP)
	PYTHONPATH=$(CURDIR):$(CURDIR)/runtime:$(CURDIR)/generated $(PY) -m tests.chaos \
		$(if $(SEED),--seed $(SEED),--count $(COUNT) --workers $(WORKERS)) $(if $(KINDS),--kinds $(KINDS))
