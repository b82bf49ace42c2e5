"""The series families (demand_series: energy and demand series, and anything else written as a
series of steps; delivery_routes: last-mile orders), on every card that uses them: deterministic by
seed, inside the card's ranges, learnable (a forecast beats its naive forecast, a regression beats
the mean), and at chance once the target is shuffled."""

from __future__ import annotations

import time

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from pipelines import cards
from pipelines.simulate import demand_series, families, simulate

FAMILIES = ("demand_series", "delivery_routes")
CARDS = [c.id for c in cards.list_cards() if c.reference_data.simulator.family in FAMILIES]
LGB = dict(n_estimators=150, learning_rate=0.05, random_state=0, n_jobs=1, verbose=-1)  # one thread under xdist


def _sample(card_id: str, seed: int | None = None, rows: int | None = None) -> tuple[cards.Card, pd.DataFrame]:
    card = cards.load_card(card_id)
    sim = card.reference_data.simulator
    frame, test = simulate(sim.family, rows=rows or sim.rows, seed=sim.seed if seed is None else seed, params=sim.params)
    assert test is None
    return card, frame


def _design(card: cards.Card, frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series, pd.Series, np.ndarray]:
    """Features, target, naive forecast (None-like NaN for regression) and a time-ordered test mask.
    Forecasts get the target now and two steps back per series and the calendar of the time column."""
    special = {card.time.column if card.time else None, card.group.column if card.group else None}
    names = [c.name for c in card.columns if c.name not in card.exclude and c.kind != "datetime" and c.name not in special]
    X = frame[names].copy()
    for c in card.columns:
        if c.kind == "category" and c.name in X:
            X[c.name] = X[c.name].astype("category")
    target = frame[card.target.column].astype(float)
    by = frame[card.group.column] if card.group else pd.Series(0, index=frame.index)
    naive = pd.Series(np.nan, index=frame.index)
    if card.task == "forecast":
        h = card.forecast.horizon
        y = target.groupby(by).shift(-h)
        for k in (0, 1, 2):
            X[f"target_lag{k}"] = target.groupby(by).shift(k)
        back = (card.forecast.season or h) - h
        naive = target.groupby(by).shift(back) if back else target
    else:
        y = target
    if card.time and card.time.column and pd.api.types.is_datetime64_any_dtype(frame[card.time.column]):
        stamp = frame[card.time.column] + (pd.Timedelta(0) if card.task != "forecast" else
                                           frame[card.time.column].groupby(by).diff().median() * card.forecast.horizon)
        X = X.assign(hour=stamp.dt.hour + stamp.dt.minute / 60, weekday=stamp.dt.day_of_week, month=stamp.dt.month)
        order = frame[card.time.column]
    else:
        order = pd.Series(np.arange(len(frame)), index=frame.index)  # one series, rows in time order
    test = (order >= order.quantile(0.75)).to_numpy()
    if card.task != "forecast":
        # Structure, not drift: a regression card may simulate a shift between periods on purpose (the
        # gas turbine's retune), which the card's own time split measures; here a random quarter.
        test = np.random.default_rng(0).random(len(frame)) < 0.25
    keep = y.notna().to_numpy()
    return X[keep], y[keep], naive[keep], test[keep]


def _fit_score(X, y, test, shuffle: bool) -> tuple[float, np.ndarray]:
    y_fit = y[~test].to_numpy()
    if shuffle:
        y_fit = np.random.default_rng(1).permutation(y_fit)
    pred = lgb.LGBMRegressor(**LGB).fit(X[~test], y_fit).predict(X[test])
    truth = y[test].to_numpy()
    return 1 - np.mean((truth - pred) ** 2) / np.var(truth), pred


def test_families_are_registered():
    assert set(FAMILIES) <= set(families())
    assert CARDS, "no card uses the series families"


@pytest.mark.parametrize("card_id", CARDS)
def test_deterministic_by_seed_and_quick(card_id):
    _, a = _sample(card_id, rows=1500)
    _, b = _sample(card_id, rows=1500)
    pd.testing.assert_frame_equal(a, b)
    _, c = _sample(card_id, rows=1500, seed=99)
    assert not a.equals(c)
    start = time.perf_counter()
    _sample(card_id)
    assert time.perf_counter() - start < 3.0


@pytest.mark.parametrize("card_id", CARDS)
def test_columns_ranges_and_time_are_the_cards(card_id):
    card, frame = _sample(card_id)
    assert set(c.name for c in card.columns) | {card.target.column} == set(frame.columns)
    assert abs(len(frame) - card.reference_data.simulator.rows) < 0.01 * card.reference_data.simulator.rows + 50
    for col in card.columns:
        if col.kind != "numeric":
            continue
        values = frame[col.name].dropna()
        assert values.between(-np.inf if col.min is None else col.min, np.inf if col.max is None else col.max).all(), col.name
        assert values.std() > 0, f"{col.name} is constant"
    assert frame[card.target.column].std() > 0
    assert frame[card.target.column].notna().all()
    if card.time and card.time.column:
        by = frame.groupby(card.group.column)[card.time.column] if card.group else [(None, frame[card.time.column])]
        for _, times in by:
            assert times.is_monotonic_increasing


@pytest.mark.parametrize("card_id", CARDS)
def test_learnable_and_shuffled_at_chance(card_id):
    card, frame = _sample(card_id)
    X, y, naive, test = _design(card, frame)
    learnt, pred = _fit_score(X, y, test, shuffle=False)
    shuffled, _ = _fit_score(X, y, test, shuffle=True)
    if card.task == "forecast":
        truth = y[test].to_numpy()
        base = naive[test].to_numpy()
        ok = ~np.isnan(base)
        model_rmse = np.sqrt(np.mean((truth[ok] - pred[ok]) ** 2))
        naive_rmse = np.sqrt(np.mean((truth[ok] - base[ok]) ** 2))
        assert model_rmse < 0.9 * naive_rmse, f"model {model_rmse:.3f} vs naive forecast {naive_rmse:.3f}"
    assert learnt > (0.2 if card.task == "forecast" else 0.3), f"R2 {learnt:.3f}"
    assert shuffled < 0.05, f"shuffled target still scores R2 {shuffled:.3f}"


def test_calendar_knows_korean_holidays_and_shutdowns():
    days = pd.date_range("2024-01-01", "2024-12-31", freq="D")
    holiday = demand_series.korean_holidays(days)
    assert holiday[days.get_loc(pd.Timestamp("2024-09-17"))]  # Chuseok
    assert holiday[days.get_loc(pd.Timestamp("2024-01-01"))]
    assert not holiday[days.get_loc(pd.Timestamp("2024-09-20"))]
    frame = demand_series.generate(rows=366, seed=0, freq="D", start="2024-01-01", time={"column": "day"},
                                   shutdowns=[["07-29", "08-02"]],
                                   columns={"works": {"formula": "workday", "int": True},
                                            "next": {"formula": "workday", "lead": 1, "int": True}})
    works = frame.set_index("day")["works"]
    assert works["2024-07-30"] == 0 and works["2024-08-05"] == 1 and works["2024-01-06"] == 0  # shutdown, Monday, Saturday
    assert (frame["next"].to_numpy()[:-1] == frame["works"].to_numpy()[1:]).all()  # lead: tomorrow's value today
    weekly = demand_series.generate(rows=53, seed=0, freq="W-MON", start="2024-01-01", columns={"h": {"formula": "holiday"}})
    assert weekly["h"].sum() >= 12 and weekly["h"].max() == 3  # Seollal and Chuseok weeks lose three days


def test_heats_follow_the_shift_plan():
    night_only = [1.0] * 6 + [0.0] * 18
    frame = demand_series.generate(rows=2000, seed=3, freq="h", start="2024-03-04", time={"column": "t"},
                                   plan={"weekday": night_only, "saturday": night_only, "sunday": night_only},
                                   cycles={"on": 3, "off": 1, "min_on": 2},
                                   columns={"on": {"formula": "cycle"}, "start": {"formula": "cycle_start"},
                                            "age": {"formula": "cycle_age"}, "length": {"formula": "cycle_len"}})
    starts = frame[frame["start"] == 1]
    assert len(starts) > 50 and (starts["t"].dt.hour < 6).all()  # heats start only when the plan allows
    heats = frame[frame["on"] == 1]
    assert (heats["age"] < heats["length"]).all() and heats["length"].min() >= 2
