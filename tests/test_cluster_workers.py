"""`workbench run --scheduler` on a Dask cluster where a worker lacks the workbench (set up from another
environment): refused before a run exists, naming the worker and the fix. It used to wait at "tuning 0/2"
for good, the ModuleNotFoundError only in the worker's log, the MLflow store and study already made."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from dask.distributed import Client

import servers
from pipelines import cluster

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("cluster_workers")]

# Preloaded into the worker: its Python cannot import the workbench, as on a machine without it.
NO_WORKBENCH = '''import sys


class _NoWorkbench:
    def find_spec(self, name, path=None, target=None):
        if name == "pipelines" or name.startswith("pipelines."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, _NoWorkbench())
'''


def test_a_worker_without_the_workbench_is_named_before_any_run_starts(tmp_path):
    preload = tmp_path / "no_workbench.py"
    preload.write_text(NO_WORKBENCH)
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}", "COLUMNS": "200",
           "WORKBENCH_OPTUNA_STORAGE": f"sqlite:///{tmp_path / 'optuna.db'}"}
    with servers.dask_cluster(tmp_path / "dask", workers=1, worker_args=("--preload", str(preload))) as address:
        with Client(address, timeout=30) as client:
            (worker,) = client.scheduler_info()["workers"]
        done = subprocess.run([sys.executable, "-m", "pipelines.cli", "run", "machine-failure", "--scheduler", address,
                               "--trials", "2"], env=env, capture_output=True, text=True, timeout=300)
    said = " ".join((done.stdout + done.stderr).split())
    assert done.returncode != 0, said
    assert f"{worker} (no workbench installed)" in said and "pip install" in said, said
    assert "Traceback" not in said and "ModuleNotFoundError" not in said, said
    assert not (tmp_path / "mlflow.db").exists() and not (tmp_path / "optuna.db").exists(), "a run was started"


def test_workers_of_this_environment_pass_the_check(tmp_path):
    with servers.dask_cluster(tmp_path / "dask", workers=2) as address:
        assert cluster.check_scheduler(address) == 2


def test_nightly_validation_names_the_worker_too(tmp_path):
    preload = tmp_path / "no_workbench.py"
    preload.write_text(NO_WORKBENCH)
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}", "COLUMNS": "200"}
    with servers.dask_cluster(tmp_path / "dask", workers=1, worker_args=("--preload", str(preload))) as address:
        done = subprocess.run([sys.executable, "-m", "pipelines.cli", "validate", "machine-failure", "--budget", "smoke",
                               "--scheduler", address, "--report", str(tmp_path / "report")],
                              env=env, capture_output=True, text=True, timeout=300)
    said = " ".join((done.stdout + done.stderr).split())
    assert done.returncode != 0 and "no workbench installed" in said and "Traceback" not in said, said
    assert not (tmp_path / "report").exists(), "a report was written for checks that never ran"
