"""Train/test splits and cross-validation folds that respect the card's split kind.

The test split is made once and never seen by tuning. Time splits put every test row after every
training row; group splits keep a unit (machine, engine, batch) in one side only, and for a classifier
deal each class's units evenly, so that few units (18 CNC experiments, say) still leave every class in
the test split and in every fold; forecasting leaves a gap of ``horizon`` rows so no training target
peeks into the test period.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.model_selection import (GroupKFold, GroupShuffleSplit, KFold, ShuffleSplit, StratifiedKFold,
                                     StratifiedShuffleSplit, TimeSeriesSplit)

from .cards import Card

Indices = tuple[np.ndarray, np.ndarray]


def _gap(card: Card) -> int:
    return card.forecast.horizon if card.forecast else 0


def time_order(card: Card, frame: pd.DataFrame) -> np.ndarray:
    """Positions of the frame's rows in time order (the card's clock; the file's order without one)."""
    if card.time and card.time.column:
        clock = [c for c in (card.time.column, card.time.within) if c and c in frame.columns]
        return np.lexsort([frame[c].to_numpy() for c in reversed(clock)])  # stable: ties keep file order
    return np.arange(len(frame))


def recency_weights(card: Card, frame: pd.DataFrame) -> np.ndarray | None:
    """Per row, 0.5 to the power of the share of the rows after it in time order over the card's
    ``split.recency_half_life`` (the latest row weighs 1); None where the card asks for no weighting or
    the file has no clock to order its rows by (a time split that fell back)."""
    half_life = card.split.recency_half_life
    if half_life is None or card.split.kind != "time" or len(frame) == 0:
        return None
    rank = np.empty(len(frame))
    rank[time_order(card, frame)] = np.arange(len(frame))
    return 0.5 ** ((len(frame) - 1 - rank) / (half_life * len(frame)))


def _stratified_groups(groups: np.ndarray, labels: np.ndarray, k: int, seed: int) -> np.ndarray:
    """A fold number (0..k-1) per row: each group whole in one fold; the groups of each class (a group's
    most common label) dealt round-robin in a seeded order, rarest class first, so every fold gets every
    class that has at least k groups and fold 0 (the test split) gets its share of the rare one.
    (sklearn's StratifiedGroupKFold ignores its seed when every group holds one class.)"""
    rng = np.random.default_rng(seed)
    label_of = pd.Series(labels).astype(str).groupby(groups).agg(lambda s: s.mode().iloc[0])
    fold_of, dealt = {}, 0
    for label in label_of.value_counts(ascending=True).index:
        members = label_of[label_of == label]
        for group in rng.permutation(members.index.to_numpy()):
            fold_of[group] = dealt % k
            dealt += 1
    return np.array([fold_of[g] for g in groups])


MOST_TEST = 0.5  # a test period that needs more than half the rows to hold enough events stays as the card says


def test_share_for_events(card: Card, frame: pd.DataFrame, events: np.ndarray) -> float:
    """The share of the latest rows a time split tests on: the card's, or as much more (in steps of 5 %,
    at most ``MOST_TEST``) as it takes to hold ``split.min_test_events`` of ``events`` (1 = an event)."""
    share = card.split.test_size
    if card.split.kind != "time":
        return share
    order = time_order(card, frame)
    latest = np.cumsum(np.asarray(events, dtype=float)[order][::-1])  # events among the last k rows
    candidates = np.arange(share, MOST_TEST + 1e-9, 0.05)

    def held(candidate: float) -> float:
        rows = len(frame) - int(round(len(frame) * (1 - candidate)))
        return latest[rows - 1] if rows else 0.0

    for candidate in candidates:
        if held(candidate) >= card.split.min_test_events:
            return round(float(candidate), 2)
    if held(share) == 0:  # not enough anywhere: at least one event, or the test could judge nothing at all
        for candidate in candidates:
            if held(candidate) > 0:
                return round(float(candidate), 2)
    return share


def train_test(card: Card, frame: pd.DataFrame, seed: int) -> Indices:
    """Positions of training and test rows in ``frame``."""
    n = len(frame)
    kind, size = card.split.kind, card.split.test_size
    if kind == "time":
        order = time_order(card, frame)
        cut = int(round(n * (1 - size)))
        return np.sort(order[: max(cut - _gap(card), 1)]), np.sort(order[cut:])
    if kind == "group" and card.is_classifier:
        fold = _stratified_groups(frame[card.group.column].to_numpy(), frame[card.target.column].to_numpy(),
                                  max(2, round(1 / size)), seed)
        return np.flatnonzero(fold != 0), np.flatnonzero(fold == 0)
    if kind == "group":
        splitter = GroupShuffleSplit(n_splits=1, test_size=size, random_state=seed)
        return next(splitter.split(frame, groups=frame[card.group.column]))
    if kind == "stratified":
        splitter = StratifiedShuffleSplit(n_splits=1, test_size=size, random_state=seed)
        return next(splitter.split(frame, frame[card.target.column]))
    return next(ShuffleSplit(n_splits=1, test_size=size, random_state=seed).split(frame))


SMALL_ROWS = 5000  # below this many training rows, at least SMALL_FOLDS folds
SMALL_FOLDS = 5


def fold_count(card: Card, rows: int) -> int:
    """The card's folds, or more on small data: with 2,000 rows three folds fit on two thirds of them and
    judge a trial on noisy thirds (steel plates: the 5-fold choice tests 0.817, the 3-fold one 0.798)."""
    return max(card.split.folds, SMALL_FOLDS) if rows < SMALL_ROWS else card.split.folds


def folds(card: Card, frame: pd.DataFrame, seed: int, y: np.ndarray | None = None) -> list[Indices]:
    """Cross-validation folds over the training rows, of the same kind as the test split."""
    k, kind = fold_count(card, len(frame)), card.split.kind
    if kind == "time":
        order = time_order(card, frame)
        return [(order[tr], order[va]) for tr, va in TimeSeriesSplit(n_splits=k, gap=_gap(card)).split(order)]
    if kind == "group" and card.is_classifier:
        labels = frame[card.target.column].to_numpy() if y is None else y
        groups = frame[card.group.column].to_numpy()
        rarest = pd.Series(labels).astype(str).groupby(groups).first().value_counts().min()
        k = max(2, min(k, int(rarest)))  # every validation fold must see every class
        fold = _stratified_groups(groups, labels, k, seed)
        return [(np.flatnonzero(fold != i), np.flatnonzero(fold == i)) for i in range(k)]
    if kind == "group":
        groups = frame[card.group.column].to_numpy()
        k = min(k, len(np.unique(groups)))
        return list(GroupKFold(n_splits=k, shuffle=True, random_state=seed).split(frame, groups=groups))
    if kind == "stratified":
        labels = frame[card.target.column].to_numpy() if y is None else y
        k = max(2, min(k, int(pd.Series(labels).value_counts().min())))
        return list(StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(frame, labels))
    return list(KFold(n_splits=k, shuffle=True, random_state=seed).split(frame))
