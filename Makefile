# `make run` and `make test` work on a fresh machine: they create .venv when missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
EXAMPLES_STAMP := $(VENV)/.examples-stamp
# Everything an installed example is built from: a change reinstalls them.
EXAMPLE_SOURCES := examples/install.sh $(wildcard examples/*/pyproject.toml examples/*/*/*.py)

.PHONY: venv run test bench examples clean

venv: $(STAMP)

# torch/torchvision come first from the local wheels; facenet-pytorch pins torch<2.3,
# so it goes in last without its dependencies (MTCNN works with the torch we have).
$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.14.1 torchvision==0.29.1
	$(BIN)/python -m pip install -q -e '.[test]'
	$(BIN)/python -m pip install -q --no-deps facenet-pytorch==2.6.0
	touch $(STAMP)

# The main job: the samples, the demo (attested consent, her personal model trained once and
# cached, reenact / lip-sync / swap, verify), then the web app on loopback until Ctrl-C.
DEMO_PRESET ?= quick
run: venv
	$(BIN)/dftk samples
	$(BIN)/dftk demo --preset $(DEMO_PRESET)
	$(BIN)/dftk web

# The examples are installed first (as a user installs a plugin); their own tests run with
# the suite (pyproject: testpaths = tests, examples) against the installed packages.
test: venv $(EXAMPLES_STAMP)
	$(BIN)/python -m pytest -q

bench: venv
	for b in benchmarks/*.py; do $(BIN)/python $$b || exit 1; done

# The example third-party plugins (separate distributions) into the venv: `dftk plugins` lists them.
# Offline: no dependencies (the venv has them) and no build isolation (the venv's setuptools builds).
examples: $(EXAMPLES_STAMP)

$(EXAMPLES_STAMP): $(STAMP) $(EXAMPLE_SOURCES)
	PIP="$(BIN)/python -m pip" bash examples/install.sh -q --no-index
	touch $(EXAMPLES_STAMP)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
