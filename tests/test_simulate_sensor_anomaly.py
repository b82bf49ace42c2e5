"""The generic sensor-anomaly family, on every card that uses it: deterministic by seed, inside the
card's ranges, every event kind present before and after the time cut, and learnable the way the
engine learns it (a normal-behaviour model of each signal from the context; the residuals rank the
labelled events far above chance, a shuffled label ranks at chance). Plus the event shapes on a
small hand-made machine, so the family does what its docstring promises."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score

from pipelines import cards
from pipelines.simulate import simulate

FAMILY = "sensor_anomaly"
CARDS = [c.id for c in cards.list_cards() if c.reference_data.simulator.family == FAMILY]
LGB = dict(n_estimators=150, learning_rate=0.08, random_state=0, n_jobs=1, verbose=-1)  # one thread under xdist


def _sample(card_id: str, rows: int | None = None, seed: int | None = None):
    card = cards.load_card(card_id)
    sim = card.reference_data.simulator
    frame, _ = simulate(FAMILY, rows=rows or sim.rows, seed=sim.seed if seed is None else seed,
                        params={**sim.params, "kind_column": "event"})
    return card, frame


def _context(card: cards.Card, frame: pd.DataFrame) -> pd.DataFrame:
    """What the engine's signal models may read: the card's non-signal columns, the hour and the rows
    since the last pause (start-up and position in a stroke), nothing derived from the signals."""
    signals = set(card.anomaly.signals)
    X = frame[[c.name for c in card.columns if c.name not in signals and c.kind != "datetime"]].copy()
    for c in card.columns:
        if c.kind == "category":
            X[c.name] = X[c.name].astype("category")
    if card.time and card.time.column:
        t = frame[card.time.column]
        gap = t.diff().dt.total_seconds()
        pause = (gap > 3 * gap.median()) | gap.isna()
        X["rows_since_pause"] = frame.groupby(pause.cumsum()).cumcount()
        X["hour"] = t.dt.hour
    return X


def _scores(card: cards.Card, frame: pd.DataFrame, labels: np.ndarray) -> np.ndarray:
    """Root mean square of standardised residuals, models fitted on the 'normal' rows of the first
    75 % (scale from a held-out slice of them), as the engine scores a card."""
    X = _context(card, frame)
    cut = int(len(frame) * 0.75)
    normal = np.flatnonzero(labels[:cut] == 0)
    fit, hold = normal[: int(len(normal) * 0.8)], normal[int(len(normal) * 0.8):]
    z = []
    for s in card.anomaly.signals:
        y = frame[s].to_numpy(float)
        ok = fit[~np.isnan(y[fit])]
        residual = y - lgb.LGBMRegressor(**LGB).fit(X.iloc[ok], y[ok]).predict(X)
        z.append(residual / np.nanstd(residual[hold]))
    return np.sqrt(np.nanmean(np.column_stack(z) ** 2, axis=1))


@pytest.mark.parametrize("card_id", CARDS)
def test_columns_ranges_and_events_are_the_cards(card_id):
    card, frame = _sample(card_id)
    events = frame.pop("event")
    assert set(c.name for c in card.columns) | {card.target.column} == set(frame.columns)
    for col in card.columns:
        if col.kind == "numeric":
            values = frame[col.name].dropna()
            assert values.between(col.min if col.min is not None else -np.inf,
                                  col.max if col.max is not None else np.inf).all(), col.name
    for s in card.anomaly.signals:
        assert frame[s].std() > 0, f"{s} is constant"
    if card.time and card.time.column:
        assert frame[card.time.column].is_monotonic_increasing
    label = (frame[card.target.column] == card.target.positive).to_numpy()
    assert 0.03 < label.mean() < 0.2, f"fault rate {label.mean():.1%} is not rare-but-present"
    assert (label == (events != "normal").to_numpy()).all()
    kinds = set(card.reference_data.simulator.params["events"])
    cut = int(len(frame) * 0.75)
    assert set(events[:cut]) - {"normal"} == kinds, "every kind is in the training period"
    assert set(events[cut:]) - {"normal"} == kinds, "every kind is in the test period"


@pytest.mark.parametrize("card_id", CARDS)
def test_learnable_and_shuffled_at_chance(card_id):
    card, frame = _sample(card_id)
    events = frame.pop("event").to_numpy()
    y = (frame[card.target.column] == card.target.positive).to_numpy().astype(int)
    cut = int(len(frame) * 0.75)
    score = _scores(card, frame, y)
    chance = y[cut:].mean()
    learnt = average_precision_score(y[cut:], score[cut:])
    # generic context only (a card's notebook adds its physics, e.g. a furnace's thermal lags)
    assert learnt > max(2.5 * chance, chance + 0.15), f"residual score AP {learnt:.3f} vs chance {chance:.3f}"
    shuffled = np.random.default_rng(1).permutation(y)
    at_chance = average_precision_score(shuffled[cut:], _scores(card, frame, shuffled)[cut:])
    assert at_chance < shuffled[cut:].mean() + 0.1, f"shuffled labels still score AP {at_chance:.3f}"
    normal_level = np.nanmedian(score[y == 0])
    for kind in set(events) - {"normal"}:  # each kind leaves a mark on the signals
        assert np.nanmean(score[events == kind]) > 1.25 * normal_level, kind


# --- the shapes, on a small machine made up here ------------------------------------------------------

MACHINE = {
    "time": {"column": "t", "step_s": 60},
    "context": {"load": {"levels": [40, 60, 80], "per": "run", "run": 50}},
    "signals": {"current": {"formula": "10 + 0.5*load", "noise": 0.1, "decimals": 3},
                "temp": {"formula": "30 + 0.2*load", "lag": 5, "noise": 0.05, "decimals": 3}},
    "label": {"column": "fault"},
}


def _machine(shape: str, amount, rows=(20, 40), signal: str = "current", **extra) -> tuple[pd.DataFrame, pd.DataFrame]:
    events = {"e": {"count": 25, "rows": list(rows), "shape": shape, "effects": {signal: {"amount": amount, **extra}}}}
    with_event = simulate(FAMILY, rows=2000, seed=3, params={**MACHINE, "events": events, "kind_column": "event"})[0]
    quiet = {"e": {**events["e"], "effects": {}}}  # the same episodes, no effect: the machine without the fault
    baseline = simulate(FAMILY, rows=2000, seed=3, params={**MACHINE, "events": quiet})[0]
    return with_event, baseline


def test_step_and_percent_effects():
    hit, base = _machine("step", "+10%")
    rows = hit["fault"] == 1
    ratio = (hit.loc[rows, "current"] / base.loc[rows, "current"]).to_numpy()
    assert np.allclose(ratio, 1.1, atol=0.01)
    assert np.allclose(hit.loc[~rows, "current"], base.loc[~rows, "current"])
    assert rows.sum() >= 5 * 20 * 0.9  # the record is long enough for five episodes of 20-40 rows


def test_ramp_grows_and_spike_is_short():
    hit, base = _machine("ramp", 5.0)
    first = np.flatnonzero(hit["fault"].to_numpy())
    episode = first[: np.argmax(np.diff(first) > 1) + 1]
    extra = (hit["current"] - base["current"]).to_numpy()[episode]
    assert extra[0] < 1.5 and extra[-1] > 4.5 and np.all(np.diff(extra) > -0.3)
    spiked, _ = _machine("spike", 20.0, rows=(1, 2))
    runs = np.diff(np.flatnonzero(np.diff(np.r_[0, spiked["fault"].to_numpy(), 0])))[::2]
    assert runs.max() <= 2


def test_stuck_reading_is_frozen_and_noise_scatters():
    hit, _ = _machine("stuck", 0)
    for _, episode in hit[hit["fault"] == 1].groupby((hit["fault"] != hit["fault"].shift()).cumsum()):
        assert episode["current"].nunique() == 1
    noisy, base = _machine("noise", 3.0)
    rows = noisy["fault"] == 1
    assert (noisy.loc[rows, "current"] - base.loc[rows, "current"]).std() > 1.0


def test_lag_slows_the_response():
    hit, base = _machine("lag", 20.0, rows=(100, 150), signal="temp")
    rows = (hit["fault"] == 1).to_numpy()
    change = np.abs(np.diff(base["temp"].to_numpy()))[rows[1:]]
    slowed = np.abs(np.diff(hit["temp"].to_numpy()))[rows[1:]]
    assert slowed.max() < change.max()  # after a load step the lagging reading moves more slowly
