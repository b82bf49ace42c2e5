"""The float matrix boosters read at prediction time against the DataFrame design they were trained on:
the fast path (all numeric columns in one read, categories as codes) must give the same numbers for
every kind of column a feature function can leave behind."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipelines.model import StandardModel


def _model(names: list[str], categories: dict[str, list[str]]) -> StandardModel:
    return StandardModel(card_id="t", card_version=1, task="regression", target="y", input_columns=names,
                         feature_names=names, categories=categories, kind="lightgbm", boosters={})


def _design_as_numbers(model: StandardModel, frame: pd.DataFrame) -> np.ndarray:
    X = model.design(frame)
    return np.column_stack([X[c].cat.codes.replace(-1, np.nan).to_numpy(dtype=float)
                            if isinstance(X[c].dtype, pd.CategoricalDtype)
                            else X[c].to_numpy(dtype=float, na_value=np.nan) for c in X.columns])


@pytest.mark.parametrize("rows", [1, 7, 5000])
def test_matrix_equals_the_training_design_for_every_column_kind(rows):
    r = np.random.default_rng(rows)
    frame = pd.DataFrame({
        "float": r.normal(size=rows),
        "int": r.integers(0, 100, rows),
        "small int": r.integers(0, 5, rows).astype(np.int32),
        "flag": r.random(rows) < 0.5,
        "nullable": pd.array(np.where(r.random(rows) < 0.3, None, r.integers(0, 9, rows)), dtype="Int64"),
        "grade": pd.array(r.choice(["A", "B", "new", None], rows), dtype="str"),
        "line": r.choice([1, 2, 3], rows),  # a category kept as numbers by the feature function
        "text number": r.choice(["1.5", "2", "x", None], rows).astype(object),
        "stamp": pd.Timestamp("2024-01-01") + pd.to_timedelta(r.integers(0, 10**6, rows), unit="s"),
        "unused": r.normal(size=rows),
    })
    frame.loc[r.random(rows) < 0.1, "float"] = np.nan
    # in an order unlike the frame's, with a feature the frame lacks
    names = ["grade", "nullable", "float", "absent", "flag", "line", "text number", "int", "small int"]
    model = _model(names, {"grade": ["A", "B"], "line": ["1", "2"]})
    got = model.matrix(frame)
    np.testing.assert_array_equal(got, _design_as_numbers(model, frame))
    assert np.isnan(got[:, names.index("absent")]).all()
    unseen = frame["grade"].isin(["new"]).to_numpy() | frame["grade"].isna().to_numpy()
    assert np.isnan(got[unseen, 0]).all() and not np.isnan(got[~unseen, 0]).any()


def test_an_infinite_feature_is_missing_in_the_design_and_the_matrix():
    """A ratio over a zero reading (efficiency with the motor off) is missing to the boosters: XGBoost
    refuses infinite input, and the fast path must read what training read."""
    frame = pd.DataFrame({"ratio": [1.0, np.inf, -np.inf, 2.0], "other": [1, 2, 3, 4]})
    model = _model(["ratio", "other"], {})
    assert np.isnan(model.design(frame)["ratio"].to_numpy()[1:3]).all()
    np.testing.assert_array_equal(model.matrix(frame), _design_as_numbers(model, frame))
