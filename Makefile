# The two commands: `make plan` and `make test`. Each sets up .venv on a fresh machine.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Wheels of lagoform's runtime and `github` extra dependencies (and setuptools), at the versions
# the dev venv holds: the wheel smoke test (tests/packaging) and the Action's install test
# (tests/github) install from here with --no-index, so they need no network.
WHEELHOUSE := $(VENV)/wheelhouse
# The editor engine the schema tests drive over LSP (tests/catalog/test_editor.py), from npm.
YAML_LANGUAGE_SERVER := 2.0.0
# The Action's hash-pinned constraints file, and the runners it has wheels for (make action-lock).
ACTION_LOCK := .github/action/constraints.txt
ACTION_PYTHONS := 3.11 3.12 3.13
ACTION_PLATFORMS := --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64
# lagoform's runtime + github extra requirements (and setuptools, for building from source).
ACTION_REQUIREMENTS = $(BIN)/python -c 'import tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; print("\n".join(p["dependencies"] + p["optional-dependencies"]["github"] + ["setuptools>=77"]))'

.PHONY: plan test lint typecheck bench clean setup schemas action-lock

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	rm -rf $(WHEELHOUSE)
	$(BIN)/python -m pip freeze --all --exclude-editable > $(VENV)/freeze.txt
	$(ACTION_REQUIREMENTS) > $(VENV)/action-requirements.txt
	$(BIN)/python -m pip download -q --only-binary=:all: -d $(WHEELHOUSE) -r $(VENV)/action-requirements.txt -c $(VENV)/freeze.txt
	rm -rf $(VENV)/node && mkdir -p $(VENV)/node
	npm install --silent --no-audit --no-fund --prefix $(VENV)/node yaml-language-server@$(YAML_LANGUAGE_SERVER)
	touch $(STAMP)

plan: $(STAMP)
	$(BIN)/lagoform plan

test: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

# Regenerate the editor schemas shipped in the package (a test checks they are up to date).
schemas: $(STAMP)
	$(BIN)/lagoform schema --out-dir src/lagoform/schemas

# Re-pin the Action's dependencies (hashes of every wheel for each Python on Linux x86_64) at the
# dev venv's versions. `make action-lock RELEASE=1` also builds dist/lagoform-<version>.whl
# and pins it: publish exactly that file (docs/release.md).
action-lock: $(STAMP)
	rm -rf build/action-lock && mkdir -p build/action-lock/wheels
	$(ACTION_REQUIREMENTS) > build/action-lock/requirements.txt
	for py in $(ACTION_PYTHONS); do \
	  $(BIN)/python -m pip download -q --only-binary=:all: $(ACTION_PLATFORMS) \
	    --implementation cp --python-version $$py -d build/action-lock/wheels \
	    -r build/action-lock/requirements.txt -c $(VENV)/freeze.txt || exit 1; \
	done
	if [ "$(RELEASE)" = 1 ]; then \
	  rm -rf dist && $(BIN)/python -m pip wheel -q --no-deps --no-build-isolation -w dist . && \
	  cp dist/lagoform-*.whl build/action-lock/wheels/; \
	fi
	$(BIN)/python .github/action/lock.py build/action-lock/wheels --out $(ACTION_LOCK)

# Every benchmark at full scale (long: see benchmarks/run_all.py), recorded in
# benchmarks/RESULTS.md; `make bench QUICK=1` runs all of them small in a few minutes and only
# prints.
bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py $(if $(QUICK),--quick)

clean:
	rm -rf $(VENV) .lagoform build dist *.egg-info
