"""End to end through real parts: papermill kernels, a SQLite MLflow store and Optuna storage in a
temporary folder, the registry's aliases, and the command line."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import numpy as np
import optuna
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

import pipelines as wb
from pipelines import cards, registry, runner, settings, tracking, tuning
from pipelines.cli import app
from pipelines.errors import NotebookError




def _small(catalog_copy, card_id="heat-treatment-hardness", rows=1500, accept=None):
    def change(raw):
        raw["reference_data"]["simulator"]["rows"] = rows
        if accept is not None:
            raw["metric"]["accept"] = accept
    catalog_copy.edit(card_id, change)


# Worker processes are spawned, never forked: a fork of a process whose LightGBM has started its OpenMP
# threads deadlocks in the child's first predict (it hung a CI run for its whole limit).
SPAWN = multiprocessing.get_context("spawn")


PUBLIC = {"injection-molding-quality": "kamp_injection_molding", "steel-plate-fault-type": "steel_plates_faults",
          "turbofan-rul": "cmapss", "steel-plant-energy": "steel_energy"}


@pytest.mark.slow
@pytest.mark.parametrize("card_id", cards.list_ids())
def test_every_card_notebook_runs_and_registers_a_champion(store, tmp_path, card_id):
    """Each card's own notebook, on its reference data, at a tiny budget, meets its threshold."""
    card = cards.load_card(card_id)
    outcome = runner.run_card(card_id, n_trials=2, seed=0, output_dir=tmp_path / "out", progress=False)
    summary = outcome.summary
    value = summary["metrics"][f"test_{card.metric.primary}"]
    assert summary["decision"]["passes_threshold"], f"{card_id}: {card.metric.primary}={value} vs {card.metric.accept}"
    client = MlflowClient()
    run = client.get_run(outcome.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.tags["card.id"] == card_id and run.data.tags["data.sha256"]
    assert f"test_{card.metric.primary}" in run.data.metrics
    artifacts = {a.path for a in client.list_artifacts(outcome.run_id)}
    assert {"notebook", "plots", "card"} <= artifacts
    plots = {Path(a.path).name for a in client.list_artifacts(outcome.run_id, "plots")}
    assert {"feature_importance.png", "shap_summary.png"} <= plots
    # the features a row sent alone is scored without: named on the run and a known limit in its report
    needing = run.data.tags["model.history_features"]
    report = Path(mlflow.artifacts.download_artifacts(run_id=outcome.run_id, artifact_path="report.html",
                                                      dst_path=str(tmp_path))).read_text(encoding="utf-8")
    assert ("need the earlier rows of the same unit" in report) == bool(needing), needing
    if card_id in ("turbofan-rul", "casting-furnace-energy", "bearing-rul"):  # windows and lags per unit
        assert needing
    if card_id in ("power-plant-output", "heat-treatment-hardness"):  # each row's own readings only
        assert not needing
    champion = client.get_model_version_by_alias(card_id, "champion")
    assert champion.run_id == outcome.run_id
    if card_id in ("turbofan-rul", "bearing-rul", "power-plant-output"):  # what the server's schema tells clients
        from pipelines import serving

        told = serving.Served.load(card, int(champion.version), champion.run_id).describe()["history"]
        assert told["features"] == [n for n in needing.split(", ") if n]
        assert ("send the same unit's recent rows" in told["advice"]) == (card_id == "turbofan-rul")
    # the registered model predicts from raw card columns, as served
    model = mlflow.pyfunc.load_model(f"models:/{card_id}@champion")
    sample = wb.load_data(card).frame.head(50)
    predictions = model.predict(sample)
    assert len(predictions) == 50 and "prediction" in predictions
    _served_features_are_the_trained_ones(model.unwrap_python_model().model, sample)


def _served_features_are_the_trained_ones(model, sample: pd.DataFrame) -> None:
    """A few rows (a served request) get their features on numpy (features.derive's fast path); the
    model learned them from pandas on a large frame: both must give the booster the same matrix."""
    from pipelines import features

    requests = [sample.iloc[[i]] for i in range(0, len(sample), 7)] + [sample.head(20)]
    fast = [model.matrix(model.featurize(rows)) for rows in requests]
    small, features.SMALL = features.SMALL, -1  # every frame takes the pandas path
    try:
        slow = [model.matrix(model.featurize(rows)) for rows in requests]
    finally:
        features.SMALL = small
    for rows, a, b in zip(requests, fast, slow):
        np.testing.assert_allclose(a, b, rtol=1e-12, equal_nan=True, err_msg=f"{len(rows)} row(s)")


def test_worse_second_run_does_not_replace_the_champion(store, catalog_copy, tmp_path):
    _small(catalog_copy, accept=50.0)  # both runs pass the threshold: the champion comparison decides
    card = cards.load_card("heat-treatment-hardness")

    def train(data):
        wb.start_run(card, data)
        result = wb.tune(card, data, n_trials=2, seed=0)
        report = wb.evaluate(result, plots=False)
        decision = wb.register(result, report, wb.log_result(result, report))
        mlflow.end_run()
        return decision

    first = train(wb.load_data(card))
    assert first.promoted and first.version == 1
    few = tmp_path / "few_batches.csv"
    wb.load_data(card).frame.head(150).to_csv(few, index=False)
    second = train(wb.load_data(card, few))
    assert second.passes_threshold and not second.promoted
    assert second.champion_before == 1 and second.champion_value < second.value  # rmse: lower is better
    assert "worse than champion v1" in second.reason
    client = MlflowClient()
    assert int(client.get_model_version_by_alias(card.id, "champion").version) == 1
    assert int(client.get_model_version_by_alias(card.id, "challenger").version) == 2


def test_registered_model_is_refit_on_every_row_and_the_champion_is_compared_as_tested(store, catalog_copy,
                                                                                      monkeypatch):
    """The registered model has seen the test rows too; the champion comparison re-scores the model the
    test rows scored, so a rerun on the same data meets exactly the champion's recorded test value
    (the refit champion, which has seen those rows, would flatter itself)."""
    _small(catalog_copy, rows=1500, accept=50.0)
    card = cards.load_card("heat-treatment-hardness")
    data = wb.load_data(card)

    def train():
        run = wb.start_run(card, data)
        result = wb.tune(card, data, n_trials=2, seed=0)
        report = wb.evaluate(result, plots=False)
        decision = wb.register(result, report, wb.log_result(result, report))
        mlflow.end_run()
        return run.info.run_id, result, report, decision

    run_id, result, report, first = train()
    tags, params = MlflowClient().get_run(run_id).data.tags, MlflowClient().get_run(run_id).data.params
    assert tags["model.refit"] == "all_rows" and int(params["model.rows_fit"]) == data.rows
    assert int(params["model.rows_test_fit"]) == len(result.y_train) < data.rows
    registered = registry.load_model(card.id, version=first.version)
    tested = tracking.load_holdout_model(run_id)
    assert registered.rows_fit == data.rows and tested.rows_fit == len(result.y_train)
    rows = result.test.frame()
    truth = result.test.y
    error = lambda m: float(np.sqrt(np.mean((m.predict(rows)["prediction"].to_numpy() - truth) ** 2)))  # noqa: E731
    assert error(tested) == pytest.approx(report.metrics["test_rmse"], rel=1e-9)
    assert error(registered) < error(tested)  # it has seen them: why the comparison must not use it

    monkeypatch.setenv("WORKBENCH_RETRAIN", "1")  # the same trials again: registered only when asked to
    _, _, again, second = train()
    assert second.champion_value == pytest.approx(report.metrics["test_rmse"], rel=1e-9)
    assert second.promoted and "not worse than champion v1" in second.reason

    monkeypatch.setenv("WORKBENCH_REFIT", "0")
    run_id, result, report, _ = train()
    assert MlflowClient().get_run(run_id).data.tags["model.refit"] == "train_part"
    assert tracking.load_holdout_model(run_id) is None
    assert registry.load_model(card.id, version=3).rows_fit == len(result.y_train)


def test_a_test_metric_on_a_handful_of_defects_cannot_promote_a_champion(store, tmp_path):
    """Seven defects in the test split: average precision on them is reported with its interval and
    counts and flagged as untrustworthy; it never decides a promotion alone."""
    card = cards.load_card("injection-molding-quality")
    frame = wb.load_data(card).frame
    bad = frame["PassOrFail"] == card.target.positive
    few = pd.concat([frame[~bad].head(400), frame[bad].head(28)]).sample(frac=1, random_state=0)
    path = tmp_path / "few_defects.csv"
    few.to_csv(path, index=False)
    data = wb.load_data(card, path, options={"split": "stratified"})
    wb.start_run(card, data)
    result = wb.tune(card, data, n_trials=1, seed=0)
    report = wb.evaluate(result, plots=False)
    decision = wb.register(result, report, wb.log_result(result, report))
    mlflow.end_run()
    assert report.counts["test_positives"] == 7 and report.counts["test_rows"] == len(result.test.y)
    assert "test_average_precision" in report.untrusted and "positive" in report.untrusted["test_average_precision"]
    lo, hi = report.intervals["test_average_precision"]
    assert lo <= report.value <= hi
    assert "test_accuracy" not in report.untrusted  # accuracy counts every row, not the defects
    # a first version may lean on its cross-validation figure (every training row), never on the test alone
    cv = result.cv["cv_average_precision"]
    assert decision.version == 1 and "cannot be trusted" in decision.reason
    assert decision.promoted == (cv >= card.metric.accept)
    # beside a champion, an untrustworthy figure decides nothing
    wb.start_run(card, data)
    again = wb.register(result, report, wb.log_result(result, report))
    mlflow.end_run()
    assert again.version == 2 and not again.promoted and "kept as challenger" in again.reason


def test_shuffled_target_scores_at_chance(store, catalog_copy):
    _small(catalog_copy, rows=2000)
    card = cards.load_card("heat-treatment-hardness")
    data = wb.load_data(card)
    real = wb.evaluate(wb.tune(card, data, n_trials=2, seed=0), plots=False)
    rng = np.random.default_rng(0)
    data.frame[card.target.column] = rng.permutation(data.frame[card.target.column].to_numpy())
    data.sha256 = "shuffled"
    shuffled = wb.evaluate(wb.tune(card, data, n_trials=2, seed=0), plots=False)
    assert real.metrics["test_r2"] > 0.8
    assert shuffled.metrics["test_r2"] < 0.05


@pytest.mark.slow
def test_killed_run_resumes_its_study(store, catalog_copy, tmp_path):
    _small(catalog_copy, rows=1500)
    env = {**os.environ, "WORKBENCH_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "run", "heat-treatment-hardness",
                             "--trials", "200", "--quiet", "--seed", "0"], env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    storage = None  # opened once the run has made the file, through the engine: it races the run to make tables
    finished_before: dict[int, float] = {}
    deadline = time.time() + 240
    try:
        while time.time() < deadline and len(finished_before) < 4:
            time.sleep(1)
            if storage is None and Path(store / "optuna.db").exists():
                storage = tuning.open_storage()
            for name in optuna.get_all_study_names(storage) if storage is not None else []:
                study = optuna.load_study(study_name=name, storage=storage)
                finished_before = {t.number: t.value for t in study.trials if t.state.name == "COMPLETE"}
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert len(finished_before) >= 4, "the first run finished too few trials before the deadline"
    [name] = optuna.get_all_study_names(storage)
    target = len(finished_before) + 3
    outcome = runner.run_card("heat-treatment-hardness", n_trials=target, seed=0, output_dir=tmp_path / "again",
                              progress=False)
    study = optuna.load_study(study_name=name, storage=storage)
    after = {t.number: t.value for t in study.trials if t.state.name == "COMPLETE"}
    for number, value in finished_before.items():
        assert after[number] == value  # nothing finished was lost or redone
    done = [t for t in study.trials if t.state.name in ("COMPLETE", "PRUNED")]
    assert len(done) >= target
    params = MlflowClient().get_run(outcome.run_id).data.params
    assert params["study"] == name and int(params["n_trials_new"]) <= target - len(finished_before) + 1


def test_failing_notebook_names_the_cell_and_registers_nothing(store, catalog_copy, tmp_path, monkeypatch):
    for name in ("WORKBENCH_REGISTER", "WORKBENCH_PROGRESS_FILE", "WORKBENCH_SCHEDULER"):
        monkeypatch.delenv(name, raising=False)
    path = catalog_copy.notebooks / "heat-treatment-hardness.ipynb"
    nb = json.loads(path.read_text(encoding="utf-8"))
    load_cell = next(i for i, c in enumerate(nb["cells"]) if "load_data" in "".join(c["source"]))
    nb["cells"].insert(load_cell + 1, {"cell_type": "code", "id": "broken", "metadata": {}, "outputs": [],
                                       "execution_count": None,
                                       "source": "raise RuntimeError('thermocouple log truncated')"})
    path.write_text(json.dumps(nb), encoding="utf-8")
    with pytest.raises(NotebookError) as info:
        runner.run_card("heat-treatment-hardness", n_trials=1, output_dir=tmp_path / "out", progress=False,
                        register=False, scheduler="tcp://127.0.0.1:1")
    # what the runner set for its kernel stays out of this process: the next run here must not inherit
    # "do not register" (a CI worker's later subprocess runs registered nothing)
    assert [n for n in ("WORKBENCH_REGISTER", "WORKBENCH_PROGRESS_FILE", "WORKBENCH_SCHEDULER") if n in os.environ] == []
    error = info.value
    assert error.cell_index == load_cell + 1 and error.ename == "RuntimeError"
    assert "thermocouple log truncated" in str(error) and "nothing was registered" in str(error)
    client = MlflowClient()
    [run] = client.search_runs([client.get_experiment_by_name("heat-treatment-hardness").experiment_id])
    assert run.info.status == "FAILED"
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert "notebook" in artifacts and "model" not in artifacts  # the traceback is kept, no model
    assert client.search_registered_models() == []


def test_cli_broken_card_fails_clearly_and_creates_no_run(store, catalog_copy):
    catalog_copy.edit("press-anomaly", lambda raw: raw["split"].update(kind="sideways"))
    result = CliRunner().invoke(app, ["run", "press-anomaly", "--trials", "1", "--quiet"])
    assert result.exit_code == 2
    assert "press-anomaly.yaml" in result.output and "split.kind" in result.output
    assert "Traceback" not in result.output
    assert MlflowClient().search_experiments(filter_string="name = 'press-anomaly'") == []


def test_cli_bad_data_fails_clearly_and_creates_no_run(store, tmp_path):
    bad = tmp_path / "press_log.csv"
    pd.DataFrame({"working_time": ["2024-01-01 00:00"], "pressure_1": [1.0]}).to_csv(bad, index=False)
    result = CliRunner().invoke(app, ["run", "press-anomaly", "--data", str(bad), "--quiet"])
    assert result.exit_code == 2
    # without fault labels an anomaly card learns from the signals; one row is too few for anything
    assert "press_log.csv" in result.output and "need at least 20" in result.output
    assert MlflowClient().search_runs(experiment_ids=[e.experiment_id for e in MlflowClient().search_experiments()]) == []
    assert not optuna.get_all_study_names(settings.optuna_storage())


def test_cli_list_and_show():
    runner_ = CliRunner()
    listing = runner_.invoke(app, ["list"], env={"COLUMNS": "200"})
    assert listing.exit_code == 0 and "turbofan-rul" in listing.output and "사출성형" in listing.output
    shown = runner_.invoke(app, ["show", "injection-molding-quality"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0 and "Max_Injection_Pressure" in shown.output and "bar" in shown.output


def _open_and_list(url: str, start: float) -> list[str]:
    time.sleep(max(0.0, start - time.time()))  # all processes open the new store at the same moment
    return optuna.get_all_study_names(tuning.open_storage(url))


def test_runs_starting_together_share_a_new_optuna_store(tmp_path):
    """validate --workers N starts N runs at once on a fresh store: each must open it, none may fail
    on the tables another is creating."""
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(4, mp_context=SPAWN) as pool:
        pool.submit(time.sleep, 0).result()  # workers started before the clock
        for attempt in range(5):
            url = f"sqlite:///{tmp_path / f'optuna{attempt}.db'}"
            start = time.time() + 0.5
            assert [f.result() for f in [pool.submit(_open_and_list, url, start) for _ in range(4)]] == [[]] * 4


def _tune_small(storage: str, catalog: str, start: float) -> list:
    os.environ["WORKBENCH_CATALOG_DIR"] = catalog
    os.environ["WORKBENCH_THREADS"] = "1"
    card = cards.load_card("heat-treatment-hardness")
    data = wb.load_data(card)
    while time.time() < start:
        time.sleep(0.01)
    result = tuning.tune(card, data, n_trials=6, seed=42, storage=storage)
    return [t.number for t in result.study.trials]


def test_runs_of_one_study_side_by_side_add_up_to_its_budget_without_repeating_a_trial(catalog_copy, tmp_path):
    """Three runs of one card started together on one study (--trials 6 each): the study ends near 6
    trials, not 18 (at most two over: three processes may check the budget at the same instant between
    their trials, as a busy machine makes likelier), and no two processes propose the same parameters."""
    from concurrent.futures import ProcessPoolExecutor

    _small(catalog_copy, rows=600)
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    tuning.open_storage(storage)  # tables made before the race (the race itself: the test above)
    with ProcessPoolExecutor(3, mp_context=SPAWN) as pool:
        pool.submit(time.sleep, 0).result()
        start = time.time() + 1.0
        for future in [pool.submit(_tune_small, storage, str(catalog_copy.catalog), start) for _ in range(3)]:
            future.result()
    [name] = optuna.get_all_study_names(storage)
    trials = optuna.load_study(study_name=name, storage=storage).trials
    finished = [t for t in trials if t.state.name in ("COMPLETE", "PRUNED")]
    assert 6 <= len(finished) <= 6 + 2  # three processes starting their last trial at the same instant: two over
    proposals = [tuple(sorted(t.params.items())) for t in finished]
    assert len(set(proposals)) == len(proposals)
    assert not [t for t in trials if t.state.name in ("RUNNING", "WAITING")]


def test_a_rerun_that_adds_no_trial_leaves_the_registry_as_it_is(store, catalog_copy, monkeypatch):
    """`make demo` twice: the second run's study already holds its trials, so it would only register the
    same model again. It registers nothing and says so; --retrain registers anyway."""
    _small(catalog_copy, rows=600)
    card = cards.load_card("heat-treatment-hardness")

    def run_once():
        data = wb.load_data(card)
        wb.start_run(card, data)
        result = wb.tune(card, data, n_trials=2, seed=0)
        report = wb.evaluate(result, plots=False)
        decision = wb.register(result, report, wb.log_result(result, report))
        mlflow.end_run()
        return result, decision

    first_result, first = run_once()
    again_result, again = run_once()
    assert first_result.new_trials == 2 and again_result.new_trials == 0
    assert first.version == 1 and first.promoted
    assert again.version == 1 and again.promoted and "model unchanged" in again.reason
    assert [r.version for r in registry.versions(card.id)] == [1]
    monkeypatch.setenv("WORKBENCH_RETRAIN", "1")
    _, forced = run_once()
    assert forced.version == 2
    assert [r.version for r in registry.versions(card.id)] == [2, 1]
