# `make run` and `make test` work on a fresh machine: they create .venv when missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

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

# The web app on 127.0.0.1 (it prints its address); the sample media are its examples.
run: venv
	$(BIN)/dftk samples
	$(BIN)/dftk web

test: venv
	$(BIN)/python -m pytest -q

bench: venv
	for b in benchmarks/*.py; do $(BIN)/python $$b || exit 1; done

# The example third-party plugins (separate distributions) into the venv: `dftk plugins` lists them.
examples: venv
	PIP="$(BIN)/python -m pip" bash examples/install.sh

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
