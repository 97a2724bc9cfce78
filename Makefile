# atlasiam developer tasks. `make test` and `make demo` work on a fresh clone: they create the venv.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.atlasiam-installed
PYTEST_WORKERS ?= 2
RUNS ?= 1
# checkov pins boto3 (==1.35.49), packaging (<24) and networkx (<2.7) exactly: in .venv it would downgrade
# the SDK atlasiam runs on, so it gets a tool venv of its own (inside .venv, so git ignores it too).
CHECKOV_VENV ?= $(VENV)/tools/checkov
CHECKOV := $(CHECKOV_VENV)/bin/checkov
CHECKOV_SPEC ?= checkov>=3.2,<4

.PHONY: setup checkov test test-unit test-tf lint fmt typecheck tf-fmt demo bench clean schemas mutation docs

# Both distributions from this checkout: atlasiam (the product) and atlasiam-sandbox (sandbox/, the offline cloud).
$(STAMP): pyproject.toml sandbox/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e ./sandbox -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

$(CHECKOV): | $(STAMP)
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check '$(CHECKOV_SPEC)'

## checkov (tests/tf/test_checkov.py scans every rendered variant with it, offline).
checkov: $(CHECKOV)

## The whole suite: lint, types, unit and Terraform tests (offline).
test: setup checkov lint typecheck
	CHECKOV_BIN=$(abspath $(CHECKOV)) $(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile -q

test-unit: setup
	$(PY) -m pytest -q -m "not terraform"

test-tf: setup checkov
	CHECKOV_BIN=$(abspath $(CHECKOV)) $(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile -q -m terraform

lint: setup
	$(PY) -m ruff check atlas_iam_tf sandbox tests scripts bench
	$(PY) -m ruff format --check atlas_iam_tf sandbox tests scripts bench

fmt: setup
	$(PY) -m ruff format atlas_iam_tf sandbox tests scripts bench
	$(PY) -m ruff check --fix atlas_iam_tf sandbox tests scripts bench

typecheck: setup
	$(PY) -m mypy

## The README's module inputs/outputs table, generated from the module's variables and outputs (python-hcl2);
## tests/test_module_docs.py fails when it is out of date.
MODULE_DIR ?= modules/atlas-iam-access
docs: setup
	$(PY) scripts/module_docs.py $(MODULE_DIR) --write README.md

## Mutation testing, not part of `make test` (~2 min on 2 cores): mutmut (a dev dependency) mutates config.py,
## diagnose.py, verify/result.py and render.py ([tool.mutmut] in pyproject.toml), runs the fast unit tests that
## cover each mutant, then prints the score per module. MUTATION.md has the last scores and why the rest survive.
mutation: setup
	rm -rf mutants
	$(VENV)/bin/mutmut run --max-children $(PYTEST_WORKERS)
	$(PY) scripts/mutation_scores.py

## init -> plan -> apply -> output -> destroy of examples/atlasiam.toml against the offline stand-ins.
demo: setup
	$(PY) -m atlasiam_sandbox.demo

## Performance figures against their targets. Byte-compiles first: a wheel install has bytecode, and this
## editable checkout would otherwise compile atlasiam's modules on every run when PYTHONDONTWRITEBYTECODE is set.
bench: setup
	$(PY) -m compileall -q atlas_iam_tf sandbox/atlasiam_sandbox
	$(PY) bench/run.py --runs $(RUNS)

## Re-extract the provider schemas from the cdktf npm packages (needs npm).
schemas: setup
	$(PY) sandbox/scripts/extract_schemas.py --out sandbox/atlasiam_sandbox/schemas

clean:
	rm -rf .atlasiam .pytest_cache .mypy_cache .ruff_cache .bench
