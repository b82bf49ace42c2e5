"""What a plant decides with: alarm thresholds chosen for the card's costs, and prediction intervals
that hold the truth as often as they say, on real tuned models, through the engine, `predict` and the CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import pipelines as wb
from pipelines import alarms, cards, intervals
from pipelines.cards import Costs
from pipelines.cli import app
from pipelines.predict import predict_file
from conftest import needs_public


def test_the_cost_curve_is_the_brute_force_cost_of_every_threshold():
    rng = np.random.default_rng(0)
    y = (rng.random(3000) < 0.04).astype(int)
    scores = np.round(np.clip(0.05 + 0.4 * y * rng.random(3000) + 0.4 * rng.random(3000), 0, 1), 2)  # ties
    for costs in (Costs(false_alarm=1, missed=20), Costs(false_alarm=5, missed=1), Costs(false_alarm=1, missed=1)):
        found = alarms.curve(y, scores, costs)
        brute = [alarms.expected_cost(y, scores >= t, costs) for t in found.thresholds]
        np.testing.assert_allclose(found.per_row, brute)
        every = np.r_[np.unique(scores), alarms.NEVER]
        assert min(alarms.expected_cost(y, scores >= t, costs) for t in every) == pytest.approx(found.per_row.min())
    # a missed defect that costs next to nothing: no false alarm at all, whatever it misses
    cheap = alarms.choose(y, scores, Costs(false_alarm=1, missed=1e-9))
    assert not ((scores >= cheap) & (y == 0)).any()
    # a false alarm that costs next to nothing: every defect caught
    dear = alarms.choose(y, scores, Costs(false_alarm=1e-9, missed=1))
    assert (scores[y == 1] >= dear).all()


@needs_public("ai4i2020")
def test_on_ai4i_the_threshold_chosen_for_costs_1_20_costs_less_than_half(store):
    card = cards.load_card("machine-failure")
    data = wb.load_data(card, options={"costs": "1:20"})
    assert data.card.costs.missed == 20 and data.card.costs.false_alarm == 1
    assert any(code == "costs_override" for code, _ in data.notes)
    result = wb.tune(card, data, n_trials=2, seed=0)
    # chosen on the training folds' out-of-fold predictions, never on the test rows
    assert result.model.threshold == alarms.choose(result.y_train, result.oof, data.card.costs)
    report = wb.evaluate(result, plots=False)
    d = report.decisions
    assert d["decision_threshold"] < 0.5
    assert d["test_expected_cost"] < d["test_cost_at_0.5"] < d["test_cost_never_alarm"]
    y = report.predictions["y_true"].to_numpy()
    assert d["test_expected_cost"] == pytest.approx(
        alarms.expected_cost(y, report.predictions["prediction"].to_numpy(), data.card.costs))
    assert "alarm threshold" in report.summary()


@pytest.mark.parametrize("card_id, options", [("power-plant-output", {"split": "time"}),
                                              ("heat-treatment-hardness", None)])
def test_ninety_percent_intervals_hold_the_truth_in_85_to_95_percent_of_test_rows(store, card_id, options):
    card = cards.load_card(card_id)
    data = wb.load_data(card, options=options)
    result = wb.tune(card, data, n_trials=2, seed=0)
    report = wb.evaluate(result, plots=False)
    d = report.decisions
    assert d["interval_level"] == intervals.LEVEL
    assert 0.85 <= d["test_interval_coverage"] <= 0.95, d
    p = report.predictions
    assert (p["lower"] <= p["score"]).all() and (p["score"] <= p["upper"]).all()
    assert d["test_interval_width"] > 0


def test_predict_writes_interval_columns_at_the_level_asked_for(store, tmp_path):
    """Trained on the first three quarters of the power-plant rows, scored on the rest: the file's own
    intervals hold about as many truths as their level says."""
    card = cards.load_card("power-plant-output")
    frame = wb.load_data(card).frame
    cut = int(len(frame) * 0.75)
    frame.iloc[:cut].to_csv(tmp_path / "train.csv", index=False)
    frame.iloc[cut:].to_csv(tmp_path / "new.csv", index=False)
    data = wb.load_data(card, tmp_path / "train.csv")
    wb.start_run(card, data)
    result = wb.tune(card, data, n_trials=2, seed=0)
    report = wb.evaluate(result, plots=False)
    decision = wb.register(result, report, wb.log_result(result, report))
    import mlflow

    mlflow.end_run()
    truth = frame.iloc[cut:][card.target.column].to_numpy()
    shares = {}
    for level in (0.8, 0.95):
        out = tmp_path / f"scored_{level}.csv"
        predict_file(card.id, tmp_path / "new.csv", out, version=decision.version, interval=level)
        scored = pd.read_csv(out, encoding="utf-8-sig").sort_values("input_row")
        assert (scored["prediction_lower"] <= scored["prediction"]).all()
        assert (scored["prediction"] <= scored["prediction_upper"]).all()
        inside = (truth >= scored["prediction_lower"].to_numpy()) & (truth <= scored["prediction_upper"].to_numpy())
        shares[level] = inside.mean()
        assert abs(shares[level] - level) < 0.06, (level, shares[level])
    assert shares[0.95] > shares[0.8]


def test_costs_on_the_command_line_must_be_two_positive_numbers(store):
    result = CliRunner().invoke(app, ["run", "machine-failure", "--costs", "twenty", "--trials", "1"])
    assert result.exit_code == 2
    assert "FALSE_ALARM:MISSED" in result.output
    with pytest.raises(ValueError, match="two positive numbers"):
        Costs.parse("1:-3")
