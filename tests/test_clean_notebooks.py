"""Executed notebooks read cleanly (issue 18): each figure is shown once (the engine's figures are shown
where the notebook displays them, not again by matplotlib's inline backend) and no library warning or
other stderr text lands in the executed copy. One card's real notebook through the real runner, with the
kernel's own matplotlib backend (the inline one, as `workbench run` has it), at a one-trial budget.
Also: `workbench lab` starts as root (every container) with --allow-root, said once."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys

import nbformat
import pytest

from pipelines import runner
from pipelines.cli import lab_command
from serving_support import free_port, wait_for

# the module's trained store is made once: every test of it on one worker (--dist loadgroup)
pytestmark = pytest.mark.xdist_group("clean_notebooks")


CARD = "heat-treatment-hardness"  # regression: residuals, intervals, importance and SHAP figures


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clean")
    patch = pytest.MonkeyPatch()
    patch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{folder / 'mlflow.db'}")
    patch.delenv("WORKBENCH_OPTUNA_STORAGE", raising=False)
    patch.delenv("MPLBACKEND", raising=False)  # the kernel picks the inline backend, as in `workbench run`
    try:
        # twice: the second run has a champion to compare with, which loads models and downloads files
        runner.run_card(CARD, n_trials=1, seed=0, output_dir=folder / "first", progress=False)
        outcome = runner.run_card(CARD, n_trials=2, seed=1, output_dir=folder / "second", progress=False)
    finally:
        patch.undo()
    return nbformat.read(outcome.executed_notebook, as_version=4)


def _outputs(nb):
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            yield index, output


def test_each_figure_is_shown_once(executed):
    seen: dict[str, int] = {}
    repeated = []
    for index, output in _outputs(executed):
        png = output.get("data", {}).get("image/png") if output.output_type in ("display_data", "execute_result") else None
        if png is None:
            continue
        digest = hashlib.sha1(png.encode()).hexdigest()
        if digest in seen:
            repeated.append((seen[digest], index))
        seen.setdefault(digest, index)
    assert len(seen) >= 4, f"only {len(seen)} figures in the executed notebook"  # exploration and evaluation
    assert not repeated, f"figures shown twice (first cell, again in cell): {repeated}"


def test_no_warning_or_stderr_in_the_executed_notebook(executed):
    found = []
    for index, output in _outputs(executed):
        if output.output_type == "stream" and output.name == "stderr":
            found.append((index, output.text[:300]))
        elif output.output_type == "error":
            found.append((index, f"{output.ename}: {output.evalue}"))
        else:
            text = output.get("text", "") or output.get("data", {}).get("text/plain", "")
            if "Warning" in text:
                found.append((index, text[:300]))
    assert not found, found


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="only root needs --allow-root")
def test_lab_starts_as_root_and_says_so_once(tmp_path):
    assert "--allow-root" in lab_command(8888, "127.0.0.1", browser=False, as_root=True)
    assert "--allow-root" not in lab_command(8888, "127.0.0.1", browser=False, as_root=False)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}  # headless: no browser
    env.update(JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"), JUPYTER_CONFIG_DIR=str(tmp_path / "cfg"))
    proc = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "lab", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        wait_for(f"http://127.0.0.1:{port}/api", 90, proc)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the command and the Lab server it started
        try:
            output, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            output, _ = proc.communicate()
    assert output.count("--allow-root") == 1, output[-2000:]  # our note, once; Lab itself did not refuse
