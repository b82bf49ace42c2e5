# The few verbs a newcomer needs. `make demo` and `make test` install first (from requirements.lock).
VENV ?= .venv
PY := $(VENV)/bin/python
WB := $(VENV)/bin/workbench
SHARED_DATA := $(abspath ../shared/datasets)
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup demo test validate ui lab lock clean

$(VENV)/.installed: requirements.lock pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --requirement requirements.lock 2>&1 | grep -v "is ignored" || true
	$(PY) -m pip install --quiet --no-deps --editable . 2>&1 | grep -v "is ignored" || true
	@$(PY) -c "import pipelines.cli, lightgbm, xgboost, mlflow, optuna, papermill" || (echo "install failed"; exit 1)
	@touch $@

setup: $(VENV)/.installed  ## create .venv and install exactly what requirements.lock pins

demo: setup  ## run one standard model end to end on its built-in reference data
	$(WB) run injection-molding-quality --trials 10

test: setup  ## the test suite, on two cores (public datasets from ../shared/datasets when present)
	WORKBENCH_DATA_DIR=$${WORKBENCH_DATA_DIR:-$(SHARED_DATA)} $(PY) -m pytest -n 2 --dist loadgroup -q

BUDGET ?= nightly
REPORT ?= reports/validation
validate: setup  ## nightly validation of every card (BUDGET=smoke|nightly|full): $(REPORT)/report.html, junit.xml
	WORKBENCH_DATA_DIR=$${WORKBENCH_DATA_DIR:-$(SHARED_DATA)} $(WB) validate --all --budget $(BUDGET) --report $(REPORT)

ui: setup  ## the MLflow UI on 127.0.0.1:5000
	$(WB) ui

lab: setup  ## JupyterLab on 127.0.0.1:8888 in notebooks/
	$(WB) lab

lock:  ## re-resolve requirements.lock after changing pyproject.toml (needs uv)
	uv pip compile pyproject.toml --extra dev --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
		-o requirements.lock --no-header --no-annotate

clean:
	rm -rf $(VENV) .pytest_cache
