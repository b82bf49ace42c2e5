"""The thermal_batches family (batch pasteurisers, retorts), on every card that uses it: deterministic
by seed, the card's columns inside its ranges, verdicts that follow the lethality of the batch being
packed, learnable from that lethality, and at chance once the target is shuffled."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score

from pipelines import cards
from pipelines.simulate import simulate

FAMILY = "thermal_batches"
CARDS = [c.id for c in cards.list_cards() if c.reference_data.simulator.family == FAMILY]
LGB = dict(n_estimators=150, learning_rate=0.05, random_state=0, n_jobs=1, verbose=-1)  # one thread under xdist


def _sample(card_id: str, rows: int = 12_000, seed: int | None = None) -> tuple[cards.Card, pd.DataFrame]:
    card = cards.load_card(card_id)
    sim = card.reference_data.simulator
    frame, _ = simulate(FAMILY, rows=rows, seed=sim.seed if seed is None else seed, params=sim.params)
    return card, frame


def _packed_lethality(card: cards.Card, frame: pd.DataFrame) -> pd.DataFrame:
    """Per vessel, the logged F-value of the last batch that finished its hold (what the filler packs)."""
    params = card.reference_data.simulator.params
    tref, z = params["lethality"]["tref"], params["lethality"]["z"]
    dt = params["time"]["step_s"] / 60
    out = {}
    for v in params["vessels"]:
        state, temp = frame[v["state"]], frame[v["temp"]].ffill()
        batch = ((state == 1) & (state.shift(fill_value=0) == 0)).cumsum()
        so_far = pd.Series(np.where(state == 1, 10 ** ((temp - tref) / z) * dt, 0.0)).groupby(batch).cumsum()
        finished = (state == 1) & (state.shift(-1) == 0)
        out[v["temp"] + "_packed_F"] = so_far.where(finished).shift(1).ffill()
    return pd.DataFrame(out)


def _y(card: cards.Card, frame: pd.DataFrame) -> np.ndarray:
    return (frame[card.target.column].astype(str) == str(card.target.positive)).to_numpy().astype(int)


@pytest.mark.parametrize("card_id", CARDS)
def test_columns_and_ranges_are_the_cards(card_id):
    card, frame = _sample(card_id, rows=15_000)
    assert set(c.name for c in card.columns) | {card.target.column} == set(frame.columns)
    for col in card.columns:
        if col.kind == "numeric":
            values = frame[col.name].dropna()
            assert values.between(col.min, col.max).all(), col.name
            assert values.std() > 0, f"{col.name} is constant"
    rate = _y(card, frame).mean()
    assert 0.02 < rate < 0.3, f"NG rate {rate:.3%} is not a rare-but-present failure"


@pytest.mark.parametrize("card_id", CARDS)
def test_verdicts_follow_the_lethality_of_the_packed_batch(card_id):
    card, frame = _sample(card_id, rows=15_000)
    required = card.reference_data.simulator.params["lethality"]["required"]
    short = (_packed_lethality(card, frame) < 0.8 * required).any(axis=1).to_numpy()  # clearly short, past probe drift
    y = _y(card, frame)
    assert short.sum() > 50
    assert y[short].mean() > 0.9  # a clearly under-processed batch is always rejected
    assert y[~short].mean() < 0.5 * y.mean() + 0.05  # most rejects come from short batches


@pytest.mark.parametrize("card_id", CARDS)
def test_learnable_and_shuffled_at_chance(card_id):
    card, frame = _sample(card_id)
    X = pd.concat([frame[[c.name for c in card.columns if c.kind != "datetime"]], _packed_lethality(card, frame)], axis=1)
    y = _y(card, frame)
    cut = int(len(y) * 0.75)
    learnt = average_precision_score(y[cut:], lgb.LGBMClassifier(**LGB).fit(X[:cut], y[:cut]).predict_proba(X[cut:])[:, 1])
    shuffled_y = np.random.default_rng(1).permutation(y[:cut])
    shuffled = average_precision_score(y[cut:], lgb.LGBMClassifier(**LGB).fit(X[:cut], shuffled_y).predict_proba(X[cut:])[:, 1])
    chance = y[cut:].mean()
    assert learnt > 3 * chance, f"model {learnt:.3f} vs chance {chance:.3f}"
    assert shuffled < 2 * chance, f"shuffled target still scores {shuffled:.3f} (chance {chance:.3f})"
