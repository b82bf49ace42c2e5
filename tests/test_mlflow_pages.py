"""What a person sees of a run (issue 17), through real parts: one `workbench run` of a small card in a
SQLite MLflow store of its own (papermill kernel, Optuna, registry), then its experiment, run, dataset
inputs, artifacts and model version read back with MLflow's client; `workbench list` and `dashboard` on
that store; and the MLflow UI that `workbench ui` starts, opened in headless Chromium where installed."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from pipelines import cards, runner, tracking
from pipelines.cli import app, card_studies

ROOT = Path(__file__).resolve().parent.parent
CARD = "heat-treatment-hardness"
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("mlflow_pages")]  # one trained store, one worker


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One real run of CARD on 1,000 simulated rows, 2 trials, in a store of its own (as `store` makes)."""
    folder = tmp_path_factory.mktemp("pages")
    with pytest.MonkeyPatch.context() as mp:
        cat, nbs = folder / "catalog", folder / "notebooks"
        shutil.copytree(ROOT / "catalog", cat)
        shutil.copytree(ROOT / "notebooks", nbs)
        path = cat / f"{CARD}.yaml"
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        raw["reference_data"]["simulator"]["rows"] = 1000
        path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
        (folder / "mlruns").mkdir()
        uri = f"sqlite:///{folder / 'mlruns' / 'mlflow.db'}"
        for name, value in {"WORKBENCH_CATALOG_DIR": str(cat), "WORKBENCH_NOTEBOOKS_DIR": str(nbs),
                            "MLFLOW_TRACKING_URI": uri}.items():
            mp.setenv(name, value)
        mp.delenv("WORKBENCH_OPTUNA_STORAGE", raising=False)
        mp.delenv("WORKBENCH_LANG", raising=False)
        outcome = runner.run_card(CARD, n_trials=2, progress=False, output_dir=folder / "out")
        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        yield {"uri": uri, "outcome": outcome, "client": client, "card": cards.load_card(CARD),
               "run": client.get_run(outcome.run_id), "folder": folder}


def test_the_experiment_carries_the_cards_names_summary_and_a_view_with_the_primary_metric_first(trained):
    client, card = trained["client"], trained["card"]
    experiment = client.get_experiment_by_name(CARD)
    tags = experiment.tags
    assert (tags["name.ko"], tags["name.en"]) == (card.name.ko, card.name.en)
    assert (tags["industry"], tags["task"], tags["summary.en"]) == (card.industry, card.task, card.summary.en)
    description = tags["mlflow.note.content"]
    assert description.startswith(f"{card.name.ko} · {card.name.en}")
    assert card.summary.ko in description and f"test_rmse ≤ {card.metric.accept:g}" in description
    assert tracking.runs_view_path(experiment.experiment_id) in description
    view = json.loads(tags[f"mlflow.sharedViewState.{tracking.VIEW_KEY}"])
    assert view["columnOrder"][0] == "metrics.`test_rmse`" and "attributes.`Dataset`" in view["selectedColumns"]


def test_the_run_is_named_for_card_data_trials_and_time_and_described_by_its_primary_metric(trained):
    run, card = trained["run"], trained["card"]
    trials = int(run.data.params["n_trials_total"])
    rmse, baseline = run.data.metrics["test_rmse"], run.data.metrics["baseline_rmse"]
    assert re.fullmatch(rf"{CARD} · reference · test_rmse {rmse:.4g} · {trials} trials · \d{{4}}-\d\d-\d\d \d\d:\d\d",
                        run.info.run_name)
    note = run.data.tags["mlflow.note.content"]
    first = note.splitlines()[0]
    assert first.startswith(f"{CARD}: primary metric test RMSE {rmse:.4f}")
    assert f"acceptance threshold ≤ {card.metric.accept:g}" in first and f"naive baseline {baseline:.4f}" in first
    assert "**Registry:** v1 champion" in note


def test_training_and_test_rows_are_the_runs_dataset_inputs(trained):
    run = trained["run"]
    inputs = {next(t.value for t in i.tags if t.key == "mlflow.data.context"): i for i in run.inputs.dataset_inputs}
    assert set(inputs) == {"training", "test"}
    rows = 0
    for context, found in inputs.items():
        tags = {t.key: t.value for t in found.tags}
        dataset = found.dataset
        assert dataset.name == "simulator heat_treatment" and dataset.source_type == "code"
        assert "heat_treatment(rows=1000" in dataset.source
        assert dataset.digest == tags["sha256"][:36] and len(tags["sha256"]) == 64
        assert tags["data.sha256"] == run.data.tags["data.sha256"]
        assert json.loads(dataset.profile)["num_rows"] == int(tags["rows"])
        assert len(json.loads(dataset.schema)["mlflow_colspec"]) == int(tags["columns"])
        rows += int(tags["rows"])
    assert rows == int(run.data.params["data.rows"])


def test_notebook_html_optuna_plots_and_a_sorted_leaderboard_are_logged(trained):
    client, run_id = trained["client"], trained["outcome"].run_id
    listed = {a.path for folder in ("notebook", "plots", "tables") for a in client.list_artifacts(run_id, folder)}
    assert {f"notebook/{CARD}.executed.html", "plots/optuna_history.png", "tables/leaderboard.csv"} <= listed
    local = Path(client.download_artifacts(run_id, "", str(trained["folder"] / "artifacts")))
    page = (local / "notebook" / f"{CARD}.executed.html").read_text(encoding="utf-8")
    assert "<html" in page and card_name_in(page) and "cdnjs" not in page  # readable offline
    for name in ("optuna_history", *(["optuna_param_importances"] if "plots/optuna_param_importances.png" in listed
                                     else [])):
        assert (local / "plots" / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    import pandas as pd

    board = pd.read_csv(local / "tables" / "leaderboard.csv")
    assert list(board.columns[:3]) == ["rank", "model", "CV RMSE"]
    done = board[board["state"] == "COMPLETE"]
    assert done["CV RMSE"].is_monotonic_increasing and set(board["model"]) <= {"lightgbm", "xgboost"}


def card_name_in(page: str) -> bool:
    return "Heat treatment hardness" in page or "열처리" in page


def test_the_model_version_is_described_by_the_card_and_the_decision(trained):
    client, card = trained["client"], trained["card"]
    version = client.get_model_version(CARD, "1")
    assert card.summary.en in version.description and card.summary.ko in version.description
    assert "primary metric test RMSE" in version.description and "**Decision:** champion" in version.description
    assert card.name.ko in client.get_registered_model(CARD).description


def test_list_shows_the_champion_and_dashboard_finds_the_study(trained):
    shown = CliRunner().invoke(app, ["list"], env={"COLUMNS": "100"})
    assert shown.exit_code == 0, shown.output
    row = next(line for line in shown.output.splitlines() if line.strip().startswith(CARD))
    rmse = trained["run"].data.metrics["test_rmse"]
    assert re.search(rf"v1 · {rmse:.3g} · \d{{4}}-\d\d-\d\d", row), row
    from rich.cells import cell_len

    assert max(cell_len(line) for line in shown.output.splitlines()) <= 100
    from pipelines import settings

    studies = card_studies(CARD, settings.optuna_storage())
    assert len(studies) == 1 and studies[0][1].startswith(f"{CARD}-") and studies[0][2] >= 2


def test_dashboard_serves_the_cards_study_on_loopback(trained):
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "dashboard", CARD, "--port", str(port),
                             "--no-browser"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True, env={**os.environ, "COLUMNS": "200"})
    try:
        studies = _wait_json(f"http://127.0.0.1:{port}/api/studies", 60)
        assert [s["study_name"] for s in studies["study_summaries"]] == [card_studies(CARD, _storage())[0][1]]
    finally:
        _stop(proc)
    assert f"127.0.0.1:{port}/dashboard/studies/" in proc.stdout.read()


def test_dashboard_for_a_card_without_a_study_says_what_to_run(store):
    result = CliRunner().invoke(app, ["dashboard", CARD, "--no-browser"])
    assert result.exit_code == 2 and f"workbench run {CARD}" in result.output


def _storage() -> str:
    from pipelines import settings

    return settings.optuna_storage()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_json(url: str, seconds: float):
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                return json.loads(answer.read())
        except (OSError, ValueError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _stop(proc: subprocess.Popen) -> None:
    """The process this test started and the server it started in its own session: by their group id."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=20)


@pytest.mark.skipif(shutil.which("chromium") is None,
                    reason="Debian's chromium is not installed (apt-get install -y chromium; .ci/run installs it)")
def test_mlflow_pages_in_headless_chromium_show_names_primary_metric_and_provenance(trained, tmp_path):
    """`workbench ui` on the run's store, five pages rendered by Chromium (DOM and screenshot in one call).
    WORKBENCH_SCREENSHOTS=DIR keeps the pictures."""
    client, run, card = trained["client"], trained["run"], trained["card"]
    experiment = run.info.experiment_id
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "ui", "--port", str(port), "--no-browser"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}/#"
    pages = {
        "experiments": (f"{base}/experiments", [card.name.ko, CARD]),
        "runs": (f"{base}{tracking.runs_view_path(experiment)}", ["test_rmse", "simulator heat_treatment",
                                                                  run.info.run_name[:20]]),
        "run": (f"{base}/experiments/{experiment}/runs/{run.info.run_id}",
                ["primary metric test RMSE", "simulator heat_treatment", "Registry"]),
        "registry": (f"{base}/models/{CARD}/versions/1", [card.summary.en[:40], "Decision:"]),
        "notebook": (f"{base}/experiments/{experiment}/runs/{run.info.run_id}/artifacts/notebook/{CARD}.executed.html",
                     [f"{CARD}.executed.html"]),
    }
    keep = Path(os.environ["WORKBENCH_SCREENSHOTS"]) if os.environ.get("WORKBENCH_SCREENSHOTS") else tmp_path
    keep.mkdir(parents=True, exist_ok=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5)
                break
            except OSError:
                assert time.monotonic() < deadline, "workbench ui did not answer within 120 s"
                time.sleep(1)
        for name, (url, wanted) in pages.items():
            shot = keep / f"{name}.png"
            dom = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                                  "--window-size=1800,1200", "--virtual-time-budget=12000", f"--screenshot={shot}",
                                  "--dump-dom", url], capture_output=True, text=True, timeout=120).stdout
            missing = [w for w in wanted if w not in dom]
            assert not missing, f"{name}: {missing} not on the page"
            assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 30_000
    finally:
        _stop(proc)
