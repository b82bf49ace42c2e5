"""Booster helpers on tiny real data (found by `workbench validate --budget smoke`: LightGBM's
multiclass SHAP values failed to reshape when the defaults won the study)."""

import numpy as np
import pandas as pd
import pytest

from pipelines import boosters


@pytest.mark.parametrize("kind", ["lightgbm", "xgboost"])
def test_multiclass_contributions_have_one_row_of_shap_values_per_class(kind):
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    y = (X["a"] > 0).astype(int) + (X["b"] > 0.5).astype(int)  # three classes
    booster, _ = boosters.fit(kind, "multiclass", {}, X, y.to_numpy(), n_classes=3, rounds=5)
    contrib = boosters.contributions(kind, booster, X)
    assert contrib.shape == (300, 3, 3)  # rows, classes, features + expected value
    # SHAP values add up to the raw score of each class
    raw = contrib.sum(axis=2)
    assert np.all(np.argmax(raw, axis=1) == np.argmax(boosters.predict(kind, booster, X), axis=1))


def test_starting_points_are_queued_within_the_budget_and_a_rerun_goes_on_down_the_list():
    """Defaults first, then the portfolio; a one-trial run leaves nothing waiting for nobody, and a
    rerun with a larger budget tries the points not yet tried instead of starting the list again."""
    import optuna

    from pipelines import tuning

    study = optuna.create_study(direction="maximize")
    objective = lambda trial: trial.suggest_float("learning_rate", 0.01, 0.3) if trial.suggest_categorical(
        "model", ["lightgbm", "xgboost"]) == "lightgbm" else trial.suggest_float("eta", 0.01, 0.3)
    tuning._enqueue_starting_points(study, ["lightgbm", "xgboost"], 1)
    study.optimize(objective, n_trials=1)
    assert [t.state.name for t in study.trials] == ["COMPLETE"]
    points = tuning.starting_points(["lightgbm", "xgboost"])
    assert study.trials[0].params == {"model": "lightgbm", "learning_rate": points[0]["learning_rate"]}
    tuning._enqueue_starting_points(study, ["lightgbm", "xgboost"], 3)
    queued = [t.system_attrs["fixed_params"] for t in study.trials if t.state.name == "WAITING"]
    assert queued == points[1:4]


@pytest.mark.parametrize("kind", ["lightgbm", "xgboost"])
def test_row_weights_pull_the_fit_toward_the_heavy_rows(kind):
    """The same inputs gave 0 in the old rows and 10 in the recent ones (a process that shifted): unweighted,
    the booster predicts about the middle; with the recent rows far heavier, near 10."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x": rng.normal(size=2000)})
    y = np.r_[np.zeros(1000), np.full(1000, 10.0)]
    plain, _ = boosters.fit(kind, "regression", {}, X, y, rounds=50)
    heavy, _ = boosters.fit(kind, "regression", {}, X, y, rounds=50, weight=np.r_[np.full(1000, 0.01), np.ones(1000)])
    assert abs(boosters.predict(kind, plain, X).mean() - 5) < 1
    assert boosters.predict(kind, heavy, X).mean() > 9
