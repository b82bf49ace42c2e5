"""SHAP contributions straight from the boosters: one output gives (rows, features + 1); a multiclass
LightGBM model (classes side by side in its output) gives (rows, classes, features + 1) like XGBoost."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from pipelines import boosters


@pytest.fixture(scope="module")
def data():
    X = pd.DataFrame(np.random.default_rng(0).normal(size=(300, 4)), columns=list("abcd"))
    return X, ((X["a"] > 0).astype(int) + (X["b"] > 0)).to_numpy()


def test_lightgbm_contributions_per_class(data):
    X, y = data
    multi = lgb.train({"objective": "multiclass", "num_class": 3, "verbose": -1, "num_threads": 1}, lgb.Dataset(X, y), 10)
    binary = lgb.train({"objective": "binary", "verbose": -1, "num_threads": 1}, lgb.Dataset(X, (y > 0).astype(int)), 10)
    per_class = boosters.contributions("lightgbm", multi, X)
    assert per_class.shape == (300, 3, 5)
    # contributions plus the expected value add up to the raw score of each class
    np.testing.assert_allclose(per_class.sum(axis=2), multi.predict(X, raw_score=True), rtol=1e-6, atol=1e-6)
    assert boosters.contributions("lightgbm", binary, X).shape == (300, 5)


def test_xgboost_contributions_per_class(data):
    X, y = data
    multi = xgb.train({"objective": "multi:softprob", "num_class": 3, "nthread": 1}, xgb.DMatrix(X, y), 10)
    assert boosters.contributions("xgboost", multi, X).shape == (300, 3, 5)
