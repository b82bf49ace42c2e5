"""A card that weighs recent rows more (``split.recency_half_life``, for a process that drifts): the
cross-validated, tested and refit models all follow a shift in the latest rows that the inputs do not
show, where unweighted ones average the old level with the new."""

from __future__ import annotations

import numpy as np
import pytest

import pipelines as wb
from pipelines import cards, tuning

SHIFT = 25.0  # mg/m3 added to NOx from 40 % of the rows on: a retuned combustor, say


@pytest.fixture(scope="module")
def shifted_file(tmp_path_factory):
    card = cards.load_card("gas-turbine-emissions")
    frame = wb.load_data(card).frame.head(8000)
    # rows drawn in random order under the same clock, so the shifted rows span every operating condition
    # (a tree weighs rows only within a leaf: a shift confined to one season would hide in its leaves)
    frame = frame.sample(frac=1, random_state=0).assign(year=frame["year"].to_numpy()).reset_index(drop=True)
    frame.loc[frame.index[int(len(frame) * 0.4):], "NOX"] += SHIFT
    path = tmp_path_factory.mktemp("recency") / "shifted.csv"
    frame.to_csv(path, index=False)
    return path


def _tuned(card, path):
    data = wb.load_data(card, str(path))
    result = wb.tune(card, data, n_trials=2, seed=0)
    return result, wb.evaluate(result, plots=False).metrics["test_rmse"]


def test_recent_rows_weigh_more_in_tuning_testing_and_refit(store, shifted_file):
    weighted_card = cards.load_card("gas-turbine-emissions")
    assert weighted_card.split.recency_half_life is not None
    plain_card = weighted_card.model_copy(
        update={"split": weighted_card.split.model_copy(update={"recency_half_life": None})})
    weighted, weighted_rmse = _tuned(weighted_card, shifted_file)
    plain, plain_rmse = _tuned(plain_card, shifted_file)
    # the internal test period lies wholly after the shift: the weighted model is much nearer its level
    assert weighted_rmse < 0.8 * plain_rmse, (weighted_rmse, plain_rmse)
    # each CV fold's model too: its out-of-fold predictions of the latest fold (shifted, as its training rows partly are)
    lag = {name: np.nanmean((r.y_train - r.oof)[int(len(r.y_train) * 0.85):])
           for name, r in (("weighted", weighted), ("plain", plain))}
    assert abs(lag["weighted"]) < 0.8 * abs(lag["plain"]), lag
    # and so is the model registered, refit on every row
    latest = weighted.test.frame()
    truth = latest["NOX"].to_numpy()
    bias = {name: np.mean(truth - tuning.refit(r).predict(latest)["prediction"].to_numpy())
            for name, r in (("weighted", weighted), ("plain", plain))}
    assert abs(bias["weighted"]) < 0.6 * abs(bias["plain"]), bias
