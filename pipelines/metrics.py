"""Metric definitions per task: how each is computed and which way is better.

A card's ``metric.primary`` must be one of its task's metrics; the tuner optimises it, evaluation
reports all of them next to a naive baseline.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from sklearn import metrics as skm


@dataclass(frozen=True)
class Metric:
    name: str
    higher_is_better: bool
    needs: str  # "score" (probability or anomaly score), "label" or "value"
    fn: Callable


def _rmse(y, p):
    return float(np.sqrt(np.mean((np.asarray(y, float) - np.asarray(p, float)) ** 2)))


def _mape(y, p):
    y = np.asarray(y, float)
    p = np.asarray(p, float)
    keep = np.abs(y) > 1e-9
    return float(np.mean(np.abs((y[keep] - p[keep]) / y[keep])) * 100)


def _nasa_score(y, p):
    """PHM08 asymmetric score: late predictions (p > y) cost more than early ones."""
    d = np.asarray(p, float) - np.asarray(y, float)
    return float(np.sum(np.where(d < 0, np.exp(-d / 13) - 1, np.exp(d / 10) - 1)))


_CLASSIFICATION_SCORES = {
    "average_precision": Metric("average_precision", True, "score", lambda y, s: float(skm.average_precision_score(y, s))),
    "roc_auc": Metric("roc_auc", True, "score", lambda y, s: float(skm.roc_auc_score(y, s))),
    "f1": Metric("f1", True, "label", lambda y, p: float(skm.f1_score(y, p, zero_division=0))),
    "precision": Metric("precision", True, "label", lambda y, p: float(skm.precision_score(y, p, zero_division=0))),
    "recall": Metric("recall", True, "label", lambda y, p: float(skm.recall_score(y, p, zero_division=0))),
}
_REGRESSION = {
    "rmse": Metric("rmse", False, "value", _rmse),
    "mae": Metric("mae", False, "value", lambda y, p: float(skm.mean_absolute_error(y, p))),
    "r2": Metric("r2", True, "value", lambda y, p: float(skm.r2_score(y, p))),
}

TASK_METRICS: dict[str, dict[str, Metric]] = {
    "binary": {
        **_CLASSIFICATION_SCORES,
        "accuracy": Metric("accuracy", True, "label", lambda y, p: float(skm.accuracy_score(y, p))),
    },
    "multiclass": {
        "accuracy": Metric("accuracy", True, "label", lambda y, p: float(skm.accuracy_score(y, p))),
        "macro_f1": Metric("macro_f1", True, "label", lambda y, p: float(skm.f1_score(y, p, average="macro", zero_division=0))),
        "balanced_accuracy": Metric("balanced_accuracy", True, "label", lambda y, p: float(skm.balanced_accuracy_score(y, p))),
    },
    "regression": {**_REGRESSION, "mape": Metric("mape", False, "value", _mape)},
    "rul": {**_REGRESSION, "nasa_score": Metric("nasa_score", False, "value", _nasa_score)},
    "anomaly": dict(_CLASSIFICATION_SCORES),
    "forecast": {**_REGRESSION, "mape": Metric("mape", False, "value", _mape)},
}


def for_task(task: str) -> dict[str, Metric]:
    return TASK_METRICS[task]


def get(task: str, name: str) -> Metric:
    return TASK_METRICS[task][name]


def better(task: str, name: str, a: float, b: float, tolerance: float = 0.0) -> bool:
    """True when ``a`` is at least as good as ``b`` (within ``tolerance``) for this metric."""
    m = get(task, name)
    return a >= b - tolerance if m.higher_is_better else a <= b + tolerance
