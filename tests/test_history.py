"""Which features a row sent alone is scored without (pipelines/history.py): told from the model's own
feature function, whatever order it puts the rows in."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipelines import features as F
from pipelines.history import features_needing_history
from pipelines.model import StandardModel


def make_features(df: pd.DataFrame) -> pd.DataFrame:
    df = F.sort_by(df, ["unit", "t"])  # rows reordered: the index says which input row each is
    return F.added(df, F.rolling_columns(df, ["x"], [5], stats=("mean",), by="unit")
                   | F.lag_columns(df, ["x"], [1], by="unit") | {"x2": df["x"].to_numpy() * 2})


def _model() -> StandardModel:
    return StandardModel(card_id="c", card_version=1, task="regression", target="y", input_columns=["unit", "t", "x"],
                         feature_names=["x", "x2", "x_mean5", "x_lag1"], categories={}, kind="lightgbm",
                         boosters={}, features=make_features)


@pytest.mark.parametrize("order", ["file", "shuffled"])
def test_windows_and_lags_need_history_and_a_rows_own_values_do_not(order):
    r = np.random.default_rng(0)
    raw = pd.DataFrame({"unit": np.repeat(["A", "B", "C"], 100), "t": np.tile(np.arange(100.0), 3),
                        "x": r.normal(10, 2, 300)})
    if order == "shuffled":  # a file not in time order: the feature function sorts it
        raw = raw.sample(frac=1, random_state=1).reset_index(drop=True)
    assert features_needing_history(_model(), raw) == ["x_mean5", "x_lag1"]


def test_a_model_without_history_or_a_feature_function_needs_none():
    raw = pd.DataFrame({"unit": ["A"] * 50, "t": np.arange(50.0), "x": np.arange(50.0)})
    local = _model()
    local.features = lambda df: F.added(df, {"x2": df["x"].to_numpy() * 2, "x3": df["x"].to_numpy() * 3})
    local.feature_names = ["x", "x2", "x3"]
    assert features_needing_history(local, raw) == []
    local.features = None
    assert features_needing_history(local, raw) == []


def test_the_rows_a_server_keeps_are_the_fewest_that_give_the_files_features():
    """A 5-row window and a lag need 4 earlier rows of the unit: the first candidate (8) gives every row
    its features; a count since the unit's first row needs them all (HISTORY_ROWS); no look-back needs none."""
    from pipelines.history import CANDIDATES, HISTORY_ROWS, rows_needed

    r = np.random.default_rng(0)
    raw = pd.DataFrame({"unit": np.repeat(["A", "B", "C"], 100), "t": np.tile(np.arange(100.0), 3),
                        "x": r.normal(10, 2, 300)})
    assert rows_needed(_model(), raw, ["x_mean5", "x_lag1"], "unit") == CANDIDATES[0] == 8
    wide = _model()
    wide.features = lambda df: F.added(F.sort_by(df, ["unit", "t"]), F.rolling_columns(
        F.sort_by(df, ["unit", "t"]), ["x"], [20], stats=("mean",), by="unit"))
    wide.feature_names = ["x", "x_mean20"]
    assert rows_needed(wide, raw, ["x_mean20"], "unit") == 32
    counting = _model()
    counting.features = lambda df: F.added(df, {"n": df.groupby("unit").cumcount().to_numpy(dtype=float)})
    counting.feature_names = ["x", "n"]
    long = pd.DataFrame({"unit": np.repeat(["A", "B"], 1500), "t": np.tile(np.arange(1500.0), 2), "x": 1.0})
    assert rows_needed(counting, long, ["n"], "unit") == HISTORY_ROWS
    assert rows_needed(_model(), raw, [], "unit") == 0
