# The two commands: `make plan` and `make test`. Each sets up .venv on a fresh machine.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Wheels of lagoform's runtime dependencies, at the versions the dev venv holds: the wheel
# smoke test (tests/packaging) installs from here with --no-index, so it needs no network.
WHEELHOUSE := $(VENV)/wheelhouse

.PHONY: plan test lint typecheck bench clean setup schemas

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	rm -rf $(WHEELHOUSE)
	$(BIN)/python -m pip freeze --exclude-editable > $(VENV)/freeze.txt
	$(BIN)/python -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))' > $(VENV)/runtime.txt
	$(BIN)/python -m pip download -q --only-binary=:all: -d $(WHEELHOUSE) -r $(VENV)/runtime.txt -c $(VENV)/freeze.txt
	touch $(STAMP)

plan: $(STAMP)
	$(BIN)/lagoform plan

test: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

# Regenerate the editor schemas shipped in the package (a test checks they are up to date).
schemas: $(STAMP)
	$(BIN)/lagoform schema --out-dir src/lagoform/schemas

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) .lagoform build dist *.egg-info
