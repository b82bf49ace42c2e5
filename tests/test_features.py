"""The feature helpers against plain loops over their definitions: rows since a restart, and rolling
statistics within a unit (including the case a served row hits: every unit holds one row)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipelines import features as F


def _frame(n: int = 600, seed: int = 0, units=("a", "b", None, "c")) -> pd.DataFrame:
    r = np.random.default_rng(seed)
    stamps = pd.Series(pd.Timestamp("2024-01-01") + pd.to_timedelta(np.cumsum(r.exponential(60, n)), unit="s"))
    stamps[r.random(n) < 0.02] = pd.NaT
    frame = pd.DataFrame({"unit": r.choice(list(units), n), "x": r.normal(size=n), "t": stamps})
    frame.loc[r.random(n) < 0.05, "x"] = np.nan
    return frame


def test_since_gap_counts_rows_since_the_last_long_stop():
    frame = _frame()
    got = F.since_gap(frame, "t", pd.Timedelta(minutes=3), name="since")["since"].tolist()
    expected, count, previous = [], 0, None
    for stamp in frame["t"]:
        restart = previous is None or pd.isna(stamp) or pd.isna(previous) or stamp - previous > pd.Timedelta(minutes=3)
        count = 0 if restart else count + 1
        expected.append(count)
        previous = stamp
    assert got == expected


@pytest.mark.parametrize("units", [("a", "b", None, "c"), None], ids=["shared units", "one row per unit"])
def test_rolling_within_a_unit_matches_a_loop_over_each_units_past_rows(units):
    frame = _frame(units=units) if units else _frame().assign(unit=lambda f: [f"u{i}" for i in range(len(f))])
    got = F.rolling(frame, ["x"], [5], stats=("mean", "std", "max"), by="unit")
    for i in range(len(frame)):
        unit = frame["unit"].iloc[i]
        if unit is None:
            assert got.loc[i, ["x_mean5", "x_std5", "x_max5"]].isna().all()
            continue
        past = frame["x"].iloc[:i + 1][frame["unit"].iloc[:i + 1] == unit].tail(5).dropna()
        for stat, value in (("mean", past.mean()), ("std", past.std()), ("max", past.max())):
            assert got.loc[i, f"x_{stat}5"] == pytest.approx(value, nan_ok=True), (i, stat)
