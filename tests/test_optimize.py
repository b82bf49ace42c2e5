"""`workbench optimize` on a real champion: recommendations inside the card's bounds that the model
predicts to beat the settings the plant runs today (the data's median); clear errors otherwise."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

import pipelines as wb
from pipelines import cards
from pipelines.cli import app
from pipelines.errors import WorkbenchError
from pipelines.optimize import recommend

CARD = "die-casting-quality"


@pytest.fixture
def champion(store):
    card = wb.load_card(CARD)
    data = wb.load_data(card)
    wb.start_run(card, data)
    result = wb.tune(card, data, n_trials=2, seed=0)
    report = wb.evaluate(result, plots=False)
    decision = wb.register(result, report, wb.log_result(result, report))
    assert decision.promoted, decision.summary()
    return card, data


def test_recommendations_stay_in_bounds_and_beat_the_median_settings(champion):
    card, data = champion
    found = recommend(card, data, top=3, n_trials=60, seed=0)
    assert 1 <= len(found.table) <= 3
    for name in card.settings:
        col = card.column(name)
        assert found.table[name].between(col.min, col.max).all(), name
    assert found.table["predicted"].is_monotonic_increasing  # best first (lower defect probability)
    assert found.table["predicted"].iloc[0] < found.median_predicted
    assert "inside_data" in found.table and (found.table["distance_sd"] >= 0).all()


def test_fixed_settings_are_held(champion):
    card, data = champion
    found = recommend(card, data, top=2, n_trials=30, fixed={"molten_temp": 705.0}, seed=1)
    assert (found.table["molten_temp"] == 705.0).all()


def test_cli_optimize_prints_recommendations_and_refuses_cards_without_settings(champion):
    runner = CliRunner()
    out = runner.invoke(app, ["optimize", CARD, "--top", "2", "--trials", "20", "--fix", "cast_pressure=330"])
    assert out.exit_code == 0, out.output
    assert "median settings" in out.output and "high_section_speed" in out.output
    refused = runner.invoke(app, ["optimize", "turbofan-rul"])
    assert refused.exit_code != 0 and "settings" in refused.output
    bad_fix = runner.invoke(app, ["optimize", CARD, "--fix", "no_such_column=3"])
    assert bad_fix.exit_code != 0 and "no_such_column" in bad_fix.output


def test_without_a_champion_it_says_what_to_run(store):
    card = cards.load_card(CARD)
    with pytest.raises(WorkbenchError, match="workbench run die-casting-quality"):
        recommend(card, wb.load_data(card), n_trials=5)


def test_a_notebook_recommends_from_its_own_model_without_a_champion(store):
    """The +opt notebooks end with recommendations even when their run did not become champion."""
    card = wb.load_card(CARD)
    data = wb.load_data(card)
    wb.start_run(card, data)
    result = wb.tune(card, data, n_trials=1, seed=0)
    model_uri = wb.log_result(result, wb.evaluate(result, plots=False))
    found = recommend(card, data, top=2, n_trials=25, seed=0, model_uri=model_uri)
    assert found.model_version is None and "this run's model" in found.summary()
    assert found.table["predicted"].iloc[0] <= found.median_predicted


def test_a_model_trained_without_a_setting_searches_the_others_near_the_settings_run(store):
    """A plant file may lack a setting: the search covers what the model reads, and stays near what was
    run (the card's range is a sensor's limit, not an operating window)."""
    card = wb.load_card(CARD)
    data = wb.load_data(card)
    data.frame = data.frame.drop(columns=["cast_pressure"])
    wb.start_run(card, data)
    result = wb.tune(card, data, n_trials=1, seed=0)
    model_uri = wb.log_result(result, wb.evaluate(result, plots=False))
    found = recommend(card, data, top=2, n_trials=20, seed=0, model_uri=model_uri)
    assert "cast_pressure" not in found.table and "molten_temp" in found.table
    assert found.not_searched == ("cast_pressure",) and "not searched" in found.summary()
    for name in ("molten_temp", "high_section_speed"):
        seen = data.frame[name].dropna()
        margin = 0.1 * (seen.max() - seen.min())
        assert found.table[name].between(seen.min() - margin, seen.max() + margin).all(), name
