"""Scale-out on real servers (issue 15): a throw-away PostgreSQL cluster, an `mlflow server` with it as
the backend store, a Dask scheduler with two worker processes, all on loopback. One study's trials spread
over both workers; concurrent runs of several cards against the one store; predict and promote through
the tracking server. Skipped, with the reason, where PostgreSQL is not installed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter

import httpx
import optuna
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

import servers
from serving_support import free_port, start_command, stop_command, wait_for
from pipelines import cards, data, settings, stale_runs

pytestmark = [pytest.mark.skipif(servers.why_no_postgres() is not None, reason=str(servers.why_no_postgres())),
              pytest.mark.xdist_group("scale_out"), pytest.mark.slow]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scale-out")
    with servers.postgres() as dbs, servers.mlflow_server(dbs["mlflow"], folder / "mlflow") as url, \
            servers.dask_cluster(folder / "dask", workers=2, env={"WORKBENCH_THREADS": "1"}) as scheduler:
        yield {"tracking": url, "optuna": dbs["optuna"], "scheduler": scheduler}


def _env(stack) -> dict:
    path = os.pathsep.join(p for p in [str(settings.REPO_ROOT), os.environ.get("PYTHONPATH", "")] if p)
    inherited = {k: v for k, v in os.environ.items()  # nothing another test of this worker left set
                 if not k.startswith("WORKBENCH_") or k == "WORKBENCH_DATA_DIR"}
    return {**inherited, "PYTHONPATH": path, "WORKBENCH_THREADS": "1", "COLUMNS": "200",
            "MLFLOW_TRACKING_URI": stack["tracking"], "WORKBENCH_OPTUNA_STORAGE": stack["optuna"]}


def _workbench(stack, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *args], env=_env(stack), capture_output=True,
                          text=True, timeout=timeout)


def _client(stack) -> MlflowClient:
    # the registry named too: without it the client reads the global registry URI that an earlier test
    # of this worker set with mlflow.set_registry_uri, and finds no version in this store
    return MlflowClient(tracking_uri=stack["tracking"], registry_uri=stack["tracking"])


def _studies(stack, card_id: str) -> list[optuna.Study]:
    return [optuna.load_study(study_name=s.study_name, storage=stack["optuna"])
            for s in optuna.get_all_study_summaries(stack["optuna"]) if s.study_name.startswith(f"{card_id}-")]


def test_one_study_spread_over_two_dask_workers_registers_one_version_that_predicts(stack, tmp_path):
    card = "injection-molding-quality"
    done = _workbench(stack, "run", card, "--trials", "20", "--scheduler", stack["scheduler"], "--quiet")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert f"trials ran on Dask scheduler {stack['scheduler']}" in done.stdout

    [study] = _studies(stack, card)
    states = Counter(t.state.name for t in study.trials)
    assert states["COMPLETE"] + states["PRUNED"] == 20 and set(states) <= {"COMPLETE", "PRUNED"}, states
    workers = Counter(t.user_attrs.get("worker") for t in study.trials)
    assert len(workers) == 2, f"the trials ran on {dict(workers)}, not on both workers"
    client = _client(stack)
    [version] = client.search_model_versions(f"name = '{card}'")
    run = client.get_run(version.run_id)
    assert run.info.status == "FINISHED" and run.data.tags["tuning.engine"] == f"Dask scheduler {stack['scheduler']}"
    kernel_pid = run.data.tags[stale_runs.KERNEL_TAG].split()[1]
    assert kernel_pid not in {w.rpartition(":")[2] for w in workers}  # the workers tuned, not the kernel

    rows = tmp_path / "shots.csv"
    data.reference(cards.load_card(card))[0].head(50).to_csv(rows, index=False)
    predicted = _workbench(stack, "predict", card, "--version", "1", "--input", str(rows),
                           "--output", str(tmp_path / "out.csv"))
    assert predicted.returncode == 0, predicted.stdout[-3000:] + predicted.stderr[-3000:]
    assert len(pd.read_csv(tmp_path / "out.csv")) == 50


def test_concurrent_runs_of_several_cards_leave_a_consistent_registry_that_serves_and_validates(stack, tmp_path):
    runs = ["heat-treatment-defect-rate", "dyeing-color-difference", "thermal-thickness-inspection",
            "semiconductor-yield", "dyeing-color-difference"]  # the last twice: two versions of one model at once
    procs = [subprocess.Popen([sys.executable, "-m", "pipelines.cli", "run", card, "--trials", "3", "--quiet",
                               "--seed", str(i), "--retrain"], env=_env(stack), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) for i, card in enumerate(runs)]
    outputs = [p.communicate(timeout=900)[0] for p in procs]
    for card, proc, out in zip(runs, procs, outputs):
        assert proc.returncode == 0, f"{card}: {out[-3000:]}"

    client = _client(stack)
    for card in set(runs):
        experiment = client.get_experiment_by_name(card)
        states = [r.info.status for r in client.search_runs([experiment.experiment_id])]
        assert states == ["FINISHED"] * runs.count(card), (card, states)
        versions = sorted(int(v.version) for v in client.search_model_versions(f"name = '{card}'"))
        assert versions == list(range(1, runs.count(card) + 1)), (card, versions)
    card = "dyeing-color-difference"
    promoted = _workbench(stack, "promote", card, "--version", "1")
    assert promoted.returncode == 0, promoted.stdout[-3000:] + promoted.stderr[-3000:]
    assert client.get_model_version_by_alias(card, "champion").version == "1"

    # the champion served and validated through the tracking server (its artifacts come over HTTP)
    frame = data.reference(cards.load_card(card))[0].head(5)
    records = json.loads(frame.drop(columns=[cards.load_card(card).target.column]).to_json(orient="records", date_format="iso"))
    port = free_port()
    with pytest.MonkeyPatch.context() as patch:
        for name, value in _env(stack).items():
            patch.setenv(name, value)
        proc = start_command(["serve", card, "--port", str(port), "--poll", "0"])
    try:
        wait_for(f"http://127.0.0.1:{port}/ping", 180, proc)
        answer = httpx.post(f"http://127.0.0.1:{port}/invocations", json={"dataframe_records": records}, timeout=60)
        assert answer.status_code == 200, answer.text
        assert answer.json()["model"] == {"id": card, "version": 1} and len(answer.json()["predictions"]) == 5
    finally:
        stop_command(proc)
    checked = _workbench(stack, "validate", card, "--budget", "smoke", "--workers", "1",
                         "--report", str(tmp_path / "report"))
    assert (tmp_path / "report" / "junit.xml").exists(), checked.stdout[-3000:] + checked.stderr[-3000:]
    validation = [r for r in client.search_runs([client.get_experiment_by_name(card).experiment_id])
                  if r.data.tags.get("workbench.kind") == "validation"]
    assert [r.info.status for r in validation] == ["FINISHED"]
    # the notebook ran and the champion (read back through the server) was compared, not skipped
    assert validation[0].data.tags["validation.notebook"] == "passed"
    assert validation[0].data.tags["validation.champion"] in ("passed", "failed"), validation[0].data.tags
