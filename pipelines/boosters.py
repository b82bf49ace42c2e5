"""LightGBM and XGBoost behind one small interface: fit with early stopping, predict, explain.

``objective`` is one of ``binary``, ``multiclass`` or ``regression``; categorical inputs arrive as
pandas ``category`` columns and both libraries use them natively.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from . import devices

EARLY_STOPPING_ROUNDS = 30  # at a learning rate of 0.1; slower rates wait longer (``_patience``)
MAX_ROUNDS = 5000  # slow learning rates on smooth physical targets (CCPP) need thousands of rounds


def _patience(learning_rate: float) -> int:
    """Rounds without improvement before stopping: a step of 0.02 moves a fifth as far as 0.1, so its
    validation curve is flatter and noisier per round."""
    return int(max(EARLY_STOPPING_ROUNDS, round(EARLY_STOPPING_ROUNDS * 0.1 / max(learning_rate, 1e-3))))


def _threads() -> int:
    """``WORKBENCH_THREADS`` when set (parallel test workers set 1: two boosters each wanting both
    cores wait on each other: 1.5-3.7 times slower, see pipelines/__init__.py), else every core
    this process may use."""
    if os.environ.get("WORKBENCH_THREADS"):
        return max(1, int(os.environ["WORKBENCH_THREADS"]))
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def fit(kind: str, objective: str, params: dict, X: pd.DataFrame, y: np.ndarray,
        X_val: pd.DataFrame | None = None, y_val: np.ndarray | None = None, *,
        n_classes: int = 0, device: str = "cpu", seed: int = 0, rounds: int | None = None,
        weight: np.ndarray | None = None):
    """Train one booster. With validation data it stops early and returns the best round count;
    without, it trains ``rounds`` rounds. ``weight``: per training row (recent rows heavier). Returns
    ``(booster, rounds_used)``."""
    if kind == "lightgbm":
        return _fit_lightgbm(objective, params, X, y, X_val, y_val, n_classes, device, seed, rounds, weight)
    if kind == "xgboost":
        return _fit_xgboost(objective, params, X, y, X_val, y_val, n_classes, device, seed, rounds, weight)
    raise ValueError(f"unknown model kind {kind!r}")


def _fit_lightgbm(objective, params, X, y, X_val, y_val, n_classes, device, seed, rounds, weight):
    import lightgbm as lgb

    full = {"objective": objective, "verbosity": -1, "seed": seed, "deterministic": True,
            "num_threads": _threads(), "feature_pre_filter": False, **devices.lightgbm_params(device), **params}
    if objective == "multiclass":
        full["num_class"] = n_classes
    if full.get("bagging_fraction", 1.0) < 1.0:
        full.setdefault("bagging_freq", 1)
    train = lgb.Dataset(X, y, weight=weight, free_raw_data=False)
    if X_val is None:
        booster = lgb.train(full, train, num_boost_round=rounds or 100)
        return booster, booster.current_iteration()
    valid = lgb.Dataset(X_val, y_val, reference=train)
    booster = lgb.train(full, train, num_boost_round=MAX_ROUNDS, valid_sets=[valid],
                        callbacks=[lgb.early_stopping(_patience(full.get("learning_rate", 0.1)), verbose=False)])
    return booster, max(1, booster.best_iteration or booster.current_iteration())


def _fit_xgboost(objective, params, X, y, X_val, y_val, n_classes, device, seed, rounds, weight):
    import xgboost as xgb

    names = {"binary": "binary:logistic", "multiclass": "multi:softprob", "regression": "reg:squarederror"}
    full = {"objective": names[objective], "seed": seed, "nthread": _threads(), "verbosity": 0,
            **devices.xgboost_params(device), **params}
    if objective == "multiclass":
        full["num_class"] = n_classes
    train = xgb.DMatrix(X, y, weight=weight, enable_categorical=True)
    if X_val is None:
        booster = xgb.train(full, train, num_boost_round=rounds or 100)
        return booster, booster.num_boosted_rounds()
    valid = xgb.DMatrix(X_val, y_val, enable_categorical=True)
    booster = xgb.train(full, train, num_boost_round=MAX_ROUNDS, evals=[(valid, "valid")],
                        early_stopping_rounds=_patience(full.get("eta", 0.3)), verbose_eval=False)
    best = booster.best_iteration + 1
    return booster[:best], best


def predict(kind: str, booster, X: pd.DataFrame | np.ndarray) -> np.ndarray:
    """Probabilities (binary: of class 1; multiclass: one column per class) or values. ``X`` is the
    design frame, or the same as a float matrix with categories as their training codes."""
    if kind == "lightgbm":
        return np.asarray(booster.predict(X))
    import xgboost as xgb

    if isinstance(X, np.ndarray):  # the booster remembers which features are categorical
        return np.asarray(booster.inplace_predict(X))  # no DMatrix: half the time of a served row's scoring
    return np.asarray(booster.predict(xgb.DMatrix(X, enable_categorical=True)))


def contributions(kind: str, booster, X: pd.DataFrame) -> np.ndarray:
    """SHAP values from the booster itself (TreeSHAP): shape (rows, features + 1) for one output,
    (rows, classes, features + 1) for multiclass; the last column is the expected value."""
    if kind == "lightgbm":
        out = np.asarray(booster.predict(X, pred_contrib=True))
        width = X.shape[1] + 1
        out = out.reshape(len(X), -1, width)  # LightGBM puts the classes side by side
        return out[:, 0, :] if out.shape[1] == 1 else out
    import xgboost as xgb

    return np.asarray(booster.predict(xgb.DMatrix(X, enable_categorical=True), pred_contribs=True))


def importance(kind: str, booster, names: list[str]) -> pd.Series:
    """Total gain per feature, in the caller's feature names."""
    if kind == "lightgbm":
        gain = booster.feature_importance(importance_type="gain")
        return pd.Series(gain, index=names, dtype=float)
    scores = booster.get_score(importance_type="total_gain")
    internal = booster.feature_names or names
    return pd.Series([scores.get(n, 0.0) for n in internal], index=names, dtype=float)
