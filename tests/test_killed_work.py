"""kill -9 at the three points of issue 19 (mid-tuning, right after registration, mid-predict), then one
more command of any kind: no MLflow run or Optuna trial left RUNNING, a version the killed run had
registered tagged ``unfinished_run`` (and shown so by `workbench models`), no hidden ``.partial`` file.
And a trial whose process died where no command looks (another host) is failed by Optuna's heartbeat
and retried. Real subprocesses on a 600-row card, real SQLite stores in a temporary folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import optuna
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from pipelines import cards, data, partials, settings, stale_runs, tuning
from pipelines.cli import app as cli
from serving_support import train

CARD = "heat-treatment-hardness"


@pytest.fixture
def small(catalog_copy):
    def change(raw):
        raw["reference_data"]["simulator"]["rows"] = 600
        raw["metric"]["accept"] = 50.0  # every tiny run passes: registration is what is killed after
    catalog_copy.edit(CARD, change)


def _env() -> dict:
    path = os.pathsep.join(p for p in [str(settings.REPO_ROOT), os.environ.get("PYTHONPATH", "")] if p)
    return {**os.environ, "PYTHONPATH": path, "WORKBENCH_THREADS": "1"}


def _start(*args: str) -> subprocess.Popen:
    """`workbench ARGS` in its own process group: kill -9 of the group takes the notebook kernel too."""
    return subprocess.Popen([sys.executable, "-m", "pipelines.cli", *args], env=_env(), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _kill_when(proc: subprocess.Popen, ready, what: str, seconds: float = 240) -> None:
    deadline = time.time() + seconds
    try:
        while not ready():
            if proc.poll() is not None:
                pytest.fail(f"the command ended before {what}: {proc.stderr.read()[-3000:]}")
            assert time.time() < deadline, f"no {what} within {seconds} s"
            time.sleep(0.1)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)


def _wait_for_its_processes(run) -> None:
    """The notebook kernel runs in a session of its own (jupyter_client starts it so): killing the command's
    group leaves it to notice its parent is gone, which ipykernel does within a second."""
    deadline = time.time() + 30
    tags = [run.data.tags[k] for k in (stale_runs.TAG, stale_runs.KERNEL_TAG) if k in run.data.tags]
    while any(stale_runs.alive(t) for t in tags):
        assert time.time() < deadline, f"a process of run {run.info.run_id} outlived the kill: {tags}"
        time.sleep(0.2)


_opened: dict[str, optuna.storages.RDBStorage] = {}


def _trials(states=None) -> list[optuna.trial.FrozenTrial]:
    url = settings.optuna_storage()
    if not Path(url.removeprefix("sqlite:///")).exists():
        return []
    if url not in _opened:  # through the engine: the command may be creating the tables this moment
        _opened[url] = tuning.open_storage(url)
    storage = _opened[url]
    names = optuna.get_all_study_names(storage)
    return [t for n in names for t in optuna.load_study(study_name=n, storage=storage).get_trials(states=states)]


def _runs() -> list:
    client = MlflowClient()
    return client.search_runs([e.experiment_id for e in client.search_experiments()])


def _no_running_work() -> None:
    assert [r.info.status for r in _runs() if r.info.status == "RUNNING"] == []
    assert _trials(states=(optuna.trial.TrialState.RUNNING,)) == []


@pytest.mark.slow
def test_a_run_killed_mid_tuning_is_marked_killed_and_its_trial_failed_by_the_next_command(store, small):
    proc = _start("run", CARD, "--trials", "500", "--quiet", "--seed", "0")
    _kill_when(proc, lambda: len(_trials(states=(optuna.trial.TrialState.COMPLETE,))) >= 2
               and _trials(states=(optuna.trial.TrialState.RUNNING,)), "trial in flight")
    [run] = _runs()
    assert run.info.status == "RUNNING" and _trials(states=(optuna.trial.TrialState.RUNNING,))  # as the kill left it
    _wait_for_its_processes(run)
    result = CliRunner().invoke(cli, ["list"])  # any command, even one that never opens the store
    assert result.exit_code == 0, result.output
    assert f"MLflow run {run.info.run_id}" in result.output and "marked KILLED" in result.output
    _no_running_work()
    run = MlflowClient().get_run(run.info.run_id)
    assert run.info.status == "KILLED" and run.info.end_time and "killed?" in run.data.tags[stale_runs.REASON_TAG]
    assert len(_trials(states=(optuna.trial.TrialState.COMPLETE,))) >= 2  # what it finished is kept
    assert MlflowClient().search_registered_models() == []


@pytest.mark.slow
def test_a_version_registered_by_a_run_killed_before_it_ended_is_tagged_unfinished_and_shown(store, small):
    client = MlflowClient()
    registered = lambda: client.search_model_versions(f"name = '{CARD}'")  # noqa: E731
    proc = _start("run", CARD, "--trials", "2", "--quiet", "--seed", "0")
    _kill_when(proc, registered, "registered version")
    [run] = _runs()
    assert run.info.status == "RUNNING", "the run ended before it could be killed after registering"
    _wait_for_its_processes(run)
    [mv] = registered()
    result = CliRunner().invoke(cli, ["models"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "marked KILLED" in result.output and f"v{mv.version}) are tagged unfinished_run" in result.output
    assert "unfinished run" in result.output.split("┃")[-1]  # the table's note column
    _no_running_work()
    tags = client.get_model_version(CARD, mv.version).tags
    assert tags[stale_runs.UNFINISHED_TAG] == "true" and run.info.run_id in tags[stale_runs.UNFINISHED_REASON_TAG]
    assert client.get_run(run.info.run_id).info.status == "KILLED"
    assert stale_runs.unfinished_versions(CARD) == {(CARD, int(mv.version)): tags[stale_runs.UNFINISHED_REASON_TAG]}


@pytest.mark.slow
def test_a_predict_killed_midway_leaves_no_partial_file_after_the_next_command(store, small, tmp_path):

    version = train(CARD, seed=0)
    frame = data.load(cards.load_card(CARD)).frame
    source, out = tmp_path / "batches.csv", tmp_path / "scored" / "predictions.csv"
    pd.concat([frame] * 300, ignore_index=True).to_csv(source, index=False)  # 180,000 rows, 1,000 a chunk
    partial = out.parent / ".predictions.csv.partial"
    proc = _start("predict", CARD, "--input", str(source), "--output", str(out), "--version", str(version),
                  "--chunk-rows", "1000", "--quiet")
    _kill_when(proc, lambda: partial.exists() and partial.stat().st_size > 100_000, "partial output")
    assert partial.exists() and not out.exists()
    result = CliRunner().invoke(cli, ["list"])  # the next command, whatever it is
    assert result.exit_code == 0, result.output
    assert not partial.exists() and list(out.parent.iterdir()) == []
    _no_running_work()
    # and --force is what replaces a finished output
    frame.to_csv(source, index=False)
    args = ["predict", CARD, "--input", str(source), "--output", str(out), "--version", str(version), "--quiet"]
    assert CliRunner().invoke(cli, args).exit_code == 0 and out.exists()
    refused = CliRunner().invoke(cli, args)
    assert refused.exit_code == 2 and "already exists" in refused.output and "--force" in refused.output
    assert CliRunner().invoke(cli, [*args, "--force"]).exit_code == 0
    assert len(pd.read_csv(out, encoding="utf-8-sig")) == len(frame)


def test_the_next_predict_to_a_folder_removes_partials_of_dead_writers_only(store, tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    dead_writer = subprocess.Popen([sys.executable, "-c", "pass"])
    dead_writer.wait()
    dead, live, unclaimed_old, unclaimed_new = (folder / f".{n}.csv.partial" for n in ("a", "b", "c", "d"))
    for path in (dead, live, unclaimed_old, unclaimed_new):
        path.write_text("half a file")
    os.utime(unclaimed_old, (time.time() - 2 * partials.QUIET_S,) * 2)
    ledger = partials.ledger_dir()
    ledger.mkdir(parents=True)
    host = stale_runs.process_tag().split()[0]
    (ledger / "dead.json").write_text(f'{{"partial": "{dead}", "process": "{host} {dead_writer.pid} 0.00"}}')
    (ledger / "live.json").write_text(f'{{"partial": "{live}", "process": "{stale_runs.process_tag()}"}}')
    removed = partials.sweep(folder)
    assert sorted(removed) == sorted([dead, unclaimed_old])
    assert sorted(folder.iterdir()) == sorted([live, unclaimed_new]) and sorted(ledger.iterdir()) == [ledger / "live.json"]


WORKER = textwrap.dedent("""
    import sqlite3, sys, time
    import optuna
    from pipelines import tuning

    def beaten(trial_id):
        with sqlite3.connect(sys.argv[1].removeprefix("sqlite:///")) as db:
            return db.execute("SELECT count(*) FROM trial_heartbeats WHERE trial_id = ?", (trial_id,)).fetchone()[0]

    def objective(trial):
        x = trial.suggest_float("x", 0, 1)
        if trial.number == 2:
            # Optuna never calls a trial stale that has not beaten once; on a busy machine the beat thread's
            # first write can come after the print below, so wait for it
            while not beaten(trial._trial_id):
                time.sleep(0.1)
            print(x, flush=True)  # the test kills this process now, in the trial's middle
            time.sleep(600)
        return x

    study = optuna.create_study(study_name="beat", storage=tuning.open_storage(sys.argv[1], heartbeat_s=1))
    study.optimize(objective, n_trials=3)
""")


def test_a_trial_of_a_dead_process_is_failed_by_its_heartbeat_and_retried(tmp_path):
    """The case pipelines/stale_runs.py cannot see (a worker on another host of a shared storage): the trial
    stops beating, and the next trial any process starts fails it and runs its parameters again."""
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    proc = subprocess.Popen([sys.executable, "-c", WORKER, url], env=_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        x = float(proc.stdout.readline() or "nan")
        assert x == x, proc.wait(30) and proc.stderr.read()[-3000:]
    finally:
        proc.kill()
        proc.wait(30)
    study = optuna.load_study(study_name="beat", storage=tuning.open_storage(url, heartbeat_s=1))
    assert study.trials[2].state == optuna.trial.TrialState.RUNNING
    time.sleep(8)  # five beats missed, and room for the store's whole-second clock on a busy machine
    study.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=1)
    trials = study.get_trials()
    assert trials[2].state == optuna.trial.TrialState.FAIL
    [retry] = [t for t in trials if t.system_attrs.get("failed_trial") == 2]
    assert retry.state == optuna.trial.TrialState.COMPLETE and retry.params == {"x": x}
    assert {t.state for t in trials} <= {optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.FAIL}
