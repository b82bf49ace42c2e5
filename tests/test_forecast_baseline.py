"""The forecast baseline: persistence, or the seasonal naive forecast where the card gives
``forecast.season`` (the same weekday last week for daily orders), computed within each series."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipelines import cards
from pipelines.errors import CardError
from pipelines.evaluation import _naive_forecast


def _frame() -> pd.DataFrame:
    days = pd.date_range("2024-01-01", periods=20, freq="D")
    return pd.DataFrame({"제품코드": np.repeat(["A", "B"], 20), "생산일자": np.tile(days, 2),
                         "생산량(Kg)": np.r_[np.arange(20.0), 100 + np.arange(20.0)]})


def test_seasonal_naive_is_the_value_one_season_before_the_moment_forecast():
    card = cards.load_card("plating-order-forecast")
    assert card.forecast.season == 7 and card.forecast.horizon == 1
    frame = _frame()
    naive = _naive_forecast(card, frame)
    # Row t forecasts day t+1; a week before that is day t-6, within the same product.
    assert naive[10] == 4.0 and naive[20 + 10] == 104.0
    # Where a week of history is missing, it falls back to persistence (never another product's value).
    assert naive[3] == 3.0 and naive[20 + 3] == 103.0


def test_without_a_season_the_baseline_is_persistence():
    card = cards.load_card("casting-furnace-energy")
    assert card.forecast.season is None
    frame = pd.DataFrame({"Furnace": ["IF-1"] * 5, "Power_kW": [1.0, 5.0, 2.0, 8.0, 3.0]})
    np.testing.assert_array_equal(_naive_forecast(card, frame), frame["Power_kW"].to_numpy())


def test_a_season_shorter_than_the_horizon_is_refused(catalog_copy):
    catalog_copy.edit("plating-order-forecast", lambda raw: raw["forecast"].update(horizon=8))
    with pytest.raises(CardError, match="forecast.season 7 must be at least the horizon 8"):
        cards.load_card("plating-order-forecast")
