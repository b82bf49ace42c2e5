"""Cost-based alarm thresholds for binary cards: when to stop the line.

A threshold turns a defect probability into an alarm. Its price is what the plant pays for wrong
decisions: ``false_alarm`` for each alarm on a good part (an unneeded stop or inspection) and
``missed`` for each defect let through. The threshold is chosen on out-of-fold predictions (never on the
test rows) to minimise that expected cost; the test rows then say what it costs per part, beside the
plain 0.5 threshold and never alarming at all.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.metrics import confusion_matrix

from .cards import Costs

NEVER = float(np.nextafter(1.0, 2.0))  # a probability threshold that no score reaches: never alarm


@dataclass(frozen=True)
class CostCurve:
    thresholds: np.ndarray  # ascending; alarm when the score is >= the threshold
    per_row: np.ndarray  # expected cost per row at each threshold, in the card's cost unit

    @property
    def best(self) -> float:
        return float(self.thresholds[int(np.argmin(self.per_row))])


def curve(y: np.ndarray, scores: np.ndarray, costs: Costs) -> CostCurve:
    """Expected cost per row at every distinct score used as the threshold, and at ``NEVER``."""
    covered = ~np.isnan(scores)
    y, scores = np.asarray(y)[covered].astype(int), np.asarray(scores)[covered]
    order = np.argsort(-scores, kind="stable")
    ranked, truth = scores[order], y[order]
    caught = np.cumsum(truth)  # positives among the rows at or above each score
    alarms = np.arange(1, len(truth) + 1)
    last_of_tie = np.r_[ranked[1:] != ranked[:-1], True]  # a threshold alarms on every row with its score
    false_alarms = (alarms - caught)[last_of_tie]
    missed = truth.sum() - caught[last_of_tie]
    total = false_alarms * costs.false_alarm + missed * costs.missed
    thresholds = np.r_[ranked[last_of_tie], NEVER]
    per_row = np.r_[total, truth.sum() * costs.missed] / max(len(truth), 1)
    ascending = np.argsort(thresholds, kind="stable")
    return CostCurve(thresholds=thresholds[ascending], per_row=per_row[ascending])


def choose(y: np.ndarray, scores: np.ndarray, costs: Costs) -> float:
    """The threshold with the lowest expected cost on these (out-of-fold) predictions."""
    return curve(y, scores, costs).best


def expected_cost(y: np.ndarray, alarm: np.ndarray, costs: Costs) -> float:
    """Cost per row of the decisions ``alarm`` (1 = alarm) against the truth ``y``."""
    tn, fp, fn, tp = confusion_matrix(np.asarray(y).astype(int), np.asarray(alarm).astype(int), labels=[0, 1]).ravel()
    return float((fp * costs.false_alarm + fn * costs.missed) / max(len(y), 1))


def test_costs(y: np.ndarray, scores: np.ndarray, threshold: float, costs: Costs) -> dict[str, float]:
    """The chosen threshold's cost per test row beside the plain 0.5 threshold and never alarming."""
    return {"decision_threshold": float(min(threshold, 1.0)),
            "test_expected_cost": expected_cost(y, scores >= threshold, costs),
            "test_cost_at_0.5": expected_cost(y, scores >= 0.5, costs),
            "test_cost_never_alarm": expected_cost(y, np.zeros(len(y)), costs)}
