"""The generic process-quality family, on every card that uses it: deterministic by seed, inside the
card's ranges, learnable from the noisy readings, and at chance on a shuffled target."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, balanced_accuracy_score, r2_score

from pipelines import cards
from pipelines.simulate import simulate

FAMILY = "process_quality"
CARDS = [c.id for c in cards.list_cards() if c.reference_data.simulator.family == FAMILY]
LGB = dict(n_estimators=150, learning_rate=0.05, random_state=0, n_jobs=1, verbose=-1)  # one thread under xdist


def _sample(card_id: str, rows: int = 4000, seed: int | None = None) -> tuple[cards.Card, pd.DataFrame]:
    card = cards.load_card(card_id)
    sim = card.reference_data.simulator
    frame, _ = simulate(FAMILY, rows=rows, seed=sim.seed if seed is None else seed, params=sim.params)
    return card, frame


def _xy(card: cards.Card, frame: pd.DataFrame):
    X = frame[[c.name for c in card.columns if c.kind != "datetime" and c.name not in card.exclude]].copy()
    for c in card.columns:
        if c.kind == "category" and c.name in X:
            X[c.name] = X[c.name].astype("category")
    if card.task == "forecast":  # the value `horizon` rows ahead, from the readings now (the target's too)
        X[card.target.column] = frame[card.target.column]
        y = frame[card.target.column].shift(-card.forecast.horizon)
        keep = y.notna().to_numpy()
        return X[keep].reset_index(drop=True), y[keep].reset_index(drop=True)
    return X, frame[card.target.column]


def _score(card: cards.Card, X, y, shuffle: bool) -> tuple[float, float]:
    """Train on the first 75 % (time order), score the rest: (model score, what chance scores)."""
    cut = int(len(y) * 0.75)
    y_fit = np.random.default_rng(1).permutation(y[:cut].to_numpy()) if shuffle else y[:cut]
    if card.task in ("regression", "forecast"):
        pred = lgb.LGBMRegressor(**LGB).fit(X[:cut], y_fit).predict(X[cut:])
        return r2_score(y[cut:], pred), 0.0
    if card.task == "binary":
        positive = (y.astype(str) == str(card.target.positive)).astype(int)
        y_fit = np.random.default_rng(1).permutation(positive[:cut].to_numpy()) if shuffle else positive[:cut]
        prob = lgb.LGBMClassifier(**LGB).fit(X[:cut], y_fit).predict_proba(X[cut:])[:, 1]
        return average_precision_score(positive[cut:], prob), positive[cut:].mean()
    pred = lgb.LGBMClassifier(**LGB).fit(X[:cut], y_fit).predict(X[cut:])
    return balanced_accuracy_score(y[cut:], pred), 1.0 / y.nunique()


@pytest.mark.parametrize("card_id", CARDS)
def test_columns_and_ranges_are_the_cards(card_id):
    card, frame = _sample(card_id, rows=20_000)
    assert set(c.name for c in card.columns) | {card.target.column} == set(frame.columns)
    for col in card.columns:
        if col.kind == "numeric":
            values = frame[col.name].dropna()
            assert values.between(col.min if col.min is not None else -np.inf,
                                  col.max if col.max is not None else np.inf).all(), col.name
            assert values.std() > 0, f"{col.name} is constant"
    if card.task == "binary":
        rate = (frame[card.target.column].astype(str) == str(card.target.positive)).mean()
        assert 0.002 < rate < 0.3, f"defect rate {rate:.3%} is not a rare-but-present defect"


@pytest.mark.parametrize("card_id", CARDS)
def test_learnable_and_shuffled_at_chance(card_id):
    card, frame = _sample(card_id)
    X, y = _xy(card, frame)
    learnt, chance = _score(card, X, y, shuffle=False)
    shuffled, _ = _score(card, X, y, shuffle=True)
    margin = 0.1 if card.task != "binary" else 2 * chance
    assert learnt > chance + margin, f"model {learnt:.3f} vs chance {chance:.3f}"
    assert shuffled < chance + margin / 2, f"shuffled target still scores {shuffled:.3f} (chance {chance:.3f})"
