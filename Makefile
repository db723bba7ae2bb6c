# Two commands for a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_RUN := $(VENV)/.installed-run
STAMP_TEST := $(VENV)/.installed-test

.PHONY: run test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[forecast]'
	touch $@

$(STAMP_TEST): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,forecast]'
	touch $@ $(STAMP_RUN)

run: $(STAMP_RUN)
	$(BIN)/gpuplan

# Bytecode caching on for the suite, cached under .venv (not beside the sources): with
# PYTHONDONTWRITEBYTECODE set, every xdist worker re-rewrote and recompiled all ~100 test modules
# and each spawned gpuplan recompiled the app (collection 10.1 s of CPU a worker, 3.8 s cached).
test: $(STAMP_TEST)
	env -u PYTHONDONTWRITEBYTECODE PYTHONPYCACHEPREFIX=$(CURDIR)/$(VENV)/pycache $(BIN)/python -m pytest

bench: $(STAMP_TEST)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) build *.egg-info
