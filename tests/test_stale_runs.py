"""A process killed with -9 in the middle of a run: the next `workbench` command, whatever it is, marks
its MLflow run KILLED and its running Optuna trial FAIL, keeps the trials it finished, and leaves the
runs of live processes alone. Real subprocess, real SQLite stores in a temporary folder."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap

import optuna
import psutil
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from pipelines import settings, stale_runs, tracking
from pipelines.cli import app as cli

CARD = "heat-treatment-hardness"

WORKER = textwrap.dedent("""
    import sys, time
    import optuna
    from pipelines import cards, tracking
    run_id = tracking.create_run(cards.load_card(sys.argv[2]))
    study = optuna.create_study(study_name=sys.argv[2] + "-0123456789-abcdef", storage=sys.argv[1],
                                load_if_exists=True)
    study.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=2)
    study.ask()  # a trial in progress when the process is killed
    print(run_id, flush=True)
    time.sleep(600)
""")


def _worker(storage: str) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in [str(settings.REPO_ROOT),
                                                                    os.environ.get("PYTHONPATH", "")] if p)}
    proc = subprocess.Popen([sys.executable, "-c", WORKER, storage, CARD], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    run_id = proc.stdout.readline().strip()
    assert run_id, f"the worker did not start its run: {proc.wait(60) and proc.stderr.read()[-3000:]}"
    return proc, run_id


def test_a_run_killed_with_sigkill_is_marked_killed_by_the_next_command_and_its_trials_kept(tmp_path, monkeypatch):
    uri, storage = f"sqlite:///{tmp_path / 'mlflow.db'}", f"sqlite:///{tmp_path / 'optuna.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("WORKBENCH_OPTUNA_STORAGE", storage)
    killed, killed_run = _worker(storage)
    living, living_run = _worker(storage)
    try:
        tracking.configure(uri)
        client = MlflowClient()
        runner = CliRunner()
        assert runner.invoke(cli, ["list"]).exit_code == 0  # both alive: nothing to do
        assert client.get_run(killed_run).info.status == "RUNNING"
        os.kill(killed.pid, signal.SIGKILL)
        killed.wait(30)
        result = runner.invoke(cli, ["list"])  # any command, even one that never touches the store
        assert result.exit_code == 0, result.output
        assert f"MLflow run {killed_run}" in result.output and "marked KILLED" in result.output
        run = client.get_run(killed_run)
        assert run.info.status == "KILLED" and "killed?" in run.data.tags[stale_runs.REASON_TAG]
        assert client.get_run(living_run).info.status == "RUNNING"  # its process still works on it
        # the killed process's running trial: FAIL, unless another live run of the card may own it
        trials = optuna.load_study(study_name=f"{CARD}-0123456789-abcdef", storage=storage).trials
        assert sum(t.state == optuna.trial.TrialState.COMPLETE for t in trials) == 4  # finished trials kept
        assert sum(t.state == optuna.trial.TrialState.RUNNING for t in trials) == 2  # the live run may own one
        os.kill(living.pid, signal.SIGKILL)
        living.wait(30)
        found = stale_runs.recover(uri)
        assert [d.run_id for d in found] == [living_run] and found[0].trials_failed == 2
        trials = optuna.load_study(study_name=f"{CARD}-0123456789-abcdef", storage=storage).trials
        states = sorted(t.state.name for t in trials)
        assert states == ["COMPLETE"] * 4 + ["FAIL"] * 2
        assert stale_runs.recover(uri) == []  # done once
    finally:
        for proc in (killed, living):
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_a_process_is_told_apart_from_a_later_one_with_the_same_pid_and_from_other_hosts():
    me = stale_runs.process_tag()
    assert stale_runs.alive(me) is True
    host, pid, started = me.split()
    assert stale_runs.alive(f"{host} {pid} {float(started) - 3600:.2f}") is False  # the pid was reused
    assert stale_runs.alive(f"other-{socket.gethostname()} {pid} {started}") is None  # cannot tell: left alone
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    assert not psutil.pid_exists(gone.pid) or stale_runs.alive(f"{host} {gone.pid} 0.00") is False
