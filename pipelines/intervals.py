"""Prediction intervals for regression, RUL and forecast cards: how sure a prediction is.

Split-conformal intervals (crepes' ``ConformalRegressor``) calibrated on the out-of-fold residuals of
the cross-validation, so on rows the model did not train on and through folds that respect the card's
split (engines or batches stay together, time order is kept). Mondrian bins by predicted value let the
interval widen where the model errs more (an engine near failure, a peak load): each bin holds its own
level. ``predict`` and the scoring server give ``prediction_lower`` and ``prediction_upper``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

LEVEL = 0.9  # the default level: nine predictions in ten inside their interval
MAX_RESIDUALS = 20_000  # kept in the model (80 kB); more add nothing to a 90 % quantile
ROWS_PER_BIN = 1_000  # a bin's quantile needs enough residuals to be stable
MAX_BINS = 4


@dataclass
class Conformal:
    residuals: np.ndarray  # actual - predicted, out of fold
    edges: np.ndarray  # inner edges of the bins by predicted value (empty: one bin)
    bins: np.ndarray  # the bin of each residual
    _fitted: object = field(default=None, repr=False, compare=False)

    def bounds(self, predicted: np.ndarray, level: float = LEVEL) -> tuple[np.ndarray, np.ndarray]:
        """``(lower, upper)`` around ``predicted`` holding the truth with probability ``level``."""
        predicted = np.asarray(predicted, dtype=float)
        if not len(predicted):
            return predicted.copy(), predicted.copy()
        found = self._regressor().predict_int(predicted, bins=self._bin(predicted), confidence=level)
        return found[:, 0], found[:, 1]

    def _bin(self, predicted: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.edges, predicted, side="right")

    def _regressor(self):
        if self._fitted is None:
            from crepes import ConformalRegressor

            self._fitted = ConformalRegressor().fit(self.residuals, bins=self.bins)
        return self._fitted

    def __getstate__(self):  # the fitted regressor is rebuilt on first use: the model file stays small
        return {**self.__dict__, "_fitted": None}


def calibrate(y: np.ndarray, predicted: np.ndarray, seed: int = 0) -> Conformal | None:
    """Intervals from out-of-fold predictions (NaN where no fold covered a row); None when too few."""
    y, predicted = np.asarray(y, dtype=float), np.asarray(predicted, dtype=float)
    keep = ~(np.isnan(y) | np.isnan(predicted))
    y, predicted = y[keep], predicted[keep]
    if len(y) < 20:
        return None
    if len(y) > MAX_RESIDUALS:
        pick = np.random.default_rng(seed).choice(len(y), MAX_RESIDUALS, replace=False)
        y, predicted = y[pick], predicted[pick]
    count = int(min(MAX_BINS, max(1, len(y) // ROWS_PER_BIN)))
    edges = np.unique(np.quantile(predicted, np.linspace(0, 1, count + 1)[1:-1])) if count > 1 else np.array([])
    conformal = Conformal(residuals=(y - predicted).astype(np.float32), edges=edges, bins=np.zeros(len(y), np.int8))
    conformal.bins = conformal._bin(predicted).astype(np.int8)
    return conformal


def coverage(y: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> dict[str, float]:
    """Share of the truths inside their interval, and the mean width: logged for the test rows."""
    y = np.asarray(y, dtype=float)
    return {"test_interval_coverage": float(np.mean((y >= lower) & (y <= upper))),
            "test_interval_width": float(np.mean(upper - lower))}
