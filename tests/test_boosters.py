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
