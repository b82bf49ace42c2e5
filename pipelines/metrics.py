"""Metric definitions per task: how each is computed and which way is better.

A card's ``metric.primary`` must be one of its task's metrics; the tuner optimises it, evaluation
reports all of them next to a naive baseline.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
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


MIN_POSITIVES = 10  # a ranking or alarm metric on fewer positives than this says little
RESAMPLES = 200
_NEEDS_POSITIVES = {"average_precision", "roc_auc", "f1", "precision", "recall"}


def untrusted(task: str, name: str, y: np.ndarray) -> str | None:
    """Why ``name`` on test truths ``y`` cannot be trusted (None when it can): r2 of a constant target,
    a ranking or alarm metric on fewer than ``MIN_POSITIVES`` positives, too few rows for any figure."""
    y = np.asarray(y)
    if len(y) < MIN_POSITIVES:
        return f"only {len(y)} test rows"
    if task in ("binary", "anomaly") and name in _NEEDS_POSITIVES:
        positives = int(np.sum(y == 1))
        if positives < MIN_POSITIVES:
            return f"only {positives} positive test rows (at least {MIN_POSITIVES} needed)"
    if name in ("r2", "mape") and task not in ("binary", "multiclass", "anomaly"):
        if np.nanstd(y.astype(float)) == 0:
            return "the test target is constant"
    return None


def defined(task: str, name: str, y: np.ndarray) -> bool:
    """False where ``name`` has no value on truths ``y``: a ranking or alarm metric on rows of one class
    (a time fold without a single defect scores AP 0, which says nothing about the model)."""
    return not (task in ("binary", "anomaly") and name in _NEEDS_POSITIVES and len(np.unique(y)) < 2)


def interval(metric: Metric, y: np.ndarray, p: np.ndarray, level: float = 0.9, seed: int = 0,
             block: int = 1, groups: np.ndarray | None = None) -> tuple[float, float]:
    """Percentile bootstrap interval of ``metric`` over the test rows. Resamples where the metric is
    undefined (no positive drawn) are left out, which ``scipy.stats.bootstrap`` cannot do. ``block`` > 1:
    rows in time order are drawn in runs of that many (see ``block_length``); ``groups`` (each row's
    engine, batch or lot): whole groups are drawn (see ``_draw``)."""
    return _bootstrap(len(y), lambda pick: metric.fn(y[pick], p[pick]), level, seed, block, groups)


def paired_interval(metric: Metric, y: np.ndarray, a: np.ndarray, b: np.ndarray, level: float = 0.9,
                    seed: int = 0, block: int = 1, groups: np.ndarray | None = None) -> tuple[float, float]:
    """Bootstrap interval of ``metric(a) - metric(b)``, two models' predictions ``a`` and ``b`` of the same
    rows scored on the same resamples: whether one model is better than the other beyond the luck of the
    test rows (an interval that holds 0 says the test cannot tell them apart)."""
    return _bootstrap(len(y), lambda pick: metric.fn(y[pick], a[pick]) - metric.fn(y[pick], b[pick]), level, seed,
                      block, groups)


def block_length(rows: int) -> int:
    """Rows per drawn run for test rows in time order: neighbouring readings (an hour's, a shift's, a
    defect episode's) err together, and drawing them one by one would count them as independent
    evidence and give too narrow an interval. The square root of the rows (40 of 1,600, 100 of 10,000)
    is on the long, cautious side of the usual choices."""
    return max(1, int(round(np.sqrt(rows))))


def _draw(rng: np.random.Generator, n: int, block: int, members: list[np.ndarray] | None = None) -> np.ndarray:
    """n row positions: drawn one by one, or (``block`` > 1) as runs of ``block`` consecutive rows from
    random starts, wrapping past the last row to the first (a circular block bootstrap). With ``members``
    (each group's row positions), as many whole groups as there are, drawn with replacement (a cluster
    bootstrap): the rows of one engine or batch err together, and one by one they would count as
    independent evidence."""
    if members is not None:
        return np.concatenate([members[g] for g in rng.integers(0, len(members), len(members))])
    if block <= 1:
        return rng.integers(0, n, n)
    starts = rng.integers(0, n, -(-n // block))
    return ((starts[:, None] + np.arange(block)) % n).ravel()[:n]


def group_members(groups: np.ndarray) -> list[np.ndarray]:
    """Each group's row positions (a missing group is one group of its own)."""
    codes = pd.factorize(pd.Series(groups), use_na_sentinel=False)[0]
    order = np.argsort(codes, kind="stable")
    return np.split(order, np.flatnonzero(np.diff(codes[order])) + 1)


def _bootstrap(n: int, value_of, level: float, seed: int, block: int = 1,
               groups: np.ndarray | None = None) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    members = group_members(groups) if groups is not None else None
    values = []
    with np.errstate(all="ignore"):
        for _ in range(RESAMPLES):
            pick = _draw(rng, n, block, members)
            try:
                values.append(value_of(pick))
            except ValueError:  # e.g. ROC AUC of a resample with one class
                continue
    values = np.asarray([v for v in values if np.isfinite(v)])
    if not len(values):
        return float("nan"), float("nan")
    tail = (1 - level) / 2 * 100
    return float(np.percentile(values, tail)), float(np.percentile(values, 100 - tail))


def for_task(task: str) -> dict[str, Metric]:
    return TASK_METRICS[task]


def get(task: str, name: str) -> Metric:
    return TASK_METRICS[task][name]


def better(task: str, name: str, a: float, b: float, tolerance: float = 0.0) -> bool:
    """True when ``a`` is at least as good as ``b`` (within ``tolerance``) for this metric."""
    m = get(task, name)
    return a >= b - tolerance if m.higher_is_better else a <= b + tolerance
