"""The degradation family, on every card that uses it: deterministic by seed, the card's columns inside
their ranges, a life story that holds together (RUL counts down to failure; test units cut short;
"fails within the horizon" marks the last rows of each life), learnable from rolling sensor means,
and at chance once the target is shuffled."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score

from pipelines import cards
from pipelines.simulate import simulate

FAMILY = "degradation"
CARDS = [c.id for c in cards.list_cards() if c.reference_data.simulator.family == FAMILY]
RUL = [c for c in CARDS if cards.load_card(c).task == "rul"]
HORIZON = [c for c in CARDS if cards.load_card(c).task == "binary"]
LGB = dict(n_estimators=150, learning_rate=0.05, random_state=0, n_jobs=1, verbose=-1)  # one thread under xdist


def _sample(card_id: str, rows: int | None = None, seed: int | None = None):
    card = cards.load_card(card_id)
    sim = card.reference_data.simulator
    frame, test = simulate(FAMILY, rows=rows or sim.rows, seed=sim.seed if seed is None else seed, params=sim.params)
    return card, frame, test


def _shuffled(y) -> np.ndarray:
    return np.random.default_rng(1).permutation(np.asarray(y))


def test_the_family_serves_both_layouts():
    assert RUL and HORIZON, "expected rul and failure-within-horizon cards on the degradation family"


@pytest.mark.parametrize("card_id", CARDS)
def test_columns_and_ranges_are_the_cards(card_id):
    card, frame, test = _sample(card_id)
    expected = {c.name for c in card.columns} | {card.target.column}
    for part in (frame, test) if test is not None else (frame,):
        assert set(part.columns) == expected
        for col in card.columns:
            if col.kind != "numeric":
                continue
            values = part[col.name].dropna()
            lo = col.min if col.min is not None else -np.inf
            hi = col.max if col.max is not None else np.inf
            assert values.between(lo, hi).all(), f"{col.name} leaves [{lo}, {hi}]"
            assert values.std() > 0, f"{col.name} is constant"
        assert part[card.target.column].notna().all()
    gappy = frame.columns[frame.isna().any()].tolist()
    assert set(gappy) <= set(card.reference_data.simulator.params.get("missing", {}).get("columns", []))


@pytest.mark.parametrize("card_id", RUL)
def test_rul_counts_down_to_failure_and_test_units_are_cut_short(card_id):
    card, train, test = _sample(card_id)
    unit, target = card.group.column, card.target.column
    assert set(train[unit]) & set(test[unit]) == set(), "test units must be other machines"
    assert train.groupby(unit).size().min() > 20 and train[unit].nunique() >= 20
    assert (train.groupby(unit)[target].last() == 0).all(), "training units run to failure"
    steps = train.groupby(unit)[target].diff().dropna()
    assert np.allclose(steps, steps.mean(), atol=0.011) and steps.mean() < 0, "RUL falls by one row's worth per row (rounded)"
    assert (test.groupby(unit)[target].last() > 0).all(), "test units are still running"
    # The wear shows: some sensor differs clearly between the healthy start and the last rows of life.
    sensors = [s for s, spec in card.reference_data.simulator.params["sensors"].items() if not spec.get("hidden")]
    young = train.groupby(unit).head(10)[sensors].median()
    old = train.groupby(unit).tail(3)[sensors].median()
    spread = train[sensors].std()
    assert ((old - young).abs() / spread).max() > 1.0


@pytest.mark.parametrize("card_id", HORIZON)
def test_horizon_label_marks_the_end_of_each_life(card_id):
    card, frame, test = _sample(card_id)
    assert test is None
    unit, time, target = card.group.column, card.time.column, card.target.column
    params = card.reference_data.simulator.params
    horizon = params["target"]["horizon"]
    frame = frame.sort_values([unit, time])
    y = (frame[target].astype(str) == str(card.target.positive)).astype(int)
    assert 0.03 < y.mean() < 0.35
    # A failing run is at most `horizon` rows long and ends with a repair stop (or the end of the data).
    run_id = ((y != y.shift()) | (frame[unit] != frame[unit].shift())).cumsum()
    runs = frame[y == 1].groupby(run_id[y == 1])
    assert runs.size().max() <= horizon and runs.ngroups >= 10
    gap = frame.groupby(unit)[time].diff().shift(-1)  # time to the next row of the same unit
    step = pd.Timedelta(minutes=params["time"]["step_min"])
    last_rows = runs.tail(1).index
    ends = gap.loc[last_rows]
    assert ((ends > step * 1.5) | ends.isna()).all(), "every failure is followed by a repair stop"


FIRST = 10  # a unit's first readings: its own healthy level


def _rolling_features(frame: pd.DataFrame, card) -> pd.DataFrame:
    """Per sensor the 10-row rolling mean, and that mean against the unit's own first readings (the
    median of its first FIRST rows, as far as they go): machines sit at different healthy levels (IMS
    bearings at 0.04-0.12 g), so wear shows as the rise from a unit's start, as the cards' notebooks read it."""
    unit = card.group.column
    sensors = [s for s, spec in card.reference_data.simulator.params["sensors"].items() if not spec.get("hidden")]
    means = frame.groupby(unit)[sensors].rolling(10, min_periods=1).mean().reset_index(level=0, drop=True).sort_index()
    first = frame.groupby(unit)[sensors].transform(lambda v: v.iloc[:FIRST].expanding().median().reindex(v.index).ffill())
    out = means.add_suffix("_mean10").join((means - first).add_suffix("_from_first"))
    index = card.reference_data.simulator.params.get("index", {}).get("column")
    if index:
        out[index] = frame[index]
    return out


def _rul_score(card_id: str, shuffle: bool) -> tuple[float, float]:
    card, train, test = _sample(card_id)
    unit, target = card.group.column, card.target.column
    train, test = train.sort_values([unit]).reset_index(drop=True), test.reset_index(drop=True)
    y = train[target].clip(upper=card.target.clip)
    y = _shuffled(y) if shuffle else y
    model = lgb.LGBMRegressor(**LGB).fit(_rolling_features(train, card), y)
    last = test.groupby(unit).tail(1).index
    truth = test.loc[last, target].to_numpy()
    pred = model.predict(_rolling_features(test, card).loc[last])
    rmse = float(np.sqrt(np.mean((pred - truth) ** 2)))
    baseline = float(np.sqrt(np.mean((np.mean(y) - truth) ** 2)))
    return rmse, baseline


@pytest.mark.parametrize("card_id", RUL)
def test_rul_learnable_and_shuffled_at_chance(card_id):
    rmse, baseline = _rul_score(card_id, shuffle=False)
    assert rmse < 0.8 * baseline, (rmse, baseline)
    shuffled, baseline = _rul_score(card_id, shuffle=True)
    assert shuffled > 0.9 * baseline, (shuffled, baseline)


def _horizon_score(card_id: str, shuffle: bool) -> tuple[float, float]:
    card, frame, _ = _sample(card_id)
    unit, time, target = card.group.column, card.time.column, card.target.column
    frame = frame.sort_values([unit, time]).reset_index(drop=True)
    X = _rolling_features(frame, card)
    y = (frame[target].astype(str) == str(card.target.positive)).astype(int).to_numpy()
    train = (frame[time] < frame[time].quantile(0.75)).to_numpy()  # forward in time
    y_fit = _shuffled(y[train]) if shuffle else y[train]
    prob = lgb.LGBMClassifier(**LGB).fit(X[train], y_fit).predict_proba(X[~train])[:, 1]
    return average_precision_score(y[~train], prob), y[~train].mean()


@pytest.mark.parametrize("card_id", HORIZON)
def test_horizon_learnable_and_shuffled_at_chance(card_id):
    ap, chance = _horizon_score(card_id, shuffle=False)
    assert ap > 2.5 * chance, (ap, chance)
    shuffled, chance = _horizon_score(card_id, shuffle=True)
    assert shuffled < 1.5 * chance, (shuffled, chance)
