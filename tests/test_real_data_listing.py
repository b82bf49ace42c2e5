"""`workbench catalog` and the nightly report say where each card's figures come from: real data
(which dataset) or the simulator, and the last real-data test metric beside its baseline."""

from __future__ import annotations

import pytest
from rich.console import Console
from typer.testing import CliRunner

from pipelines import cards, cli, runner
from pipelines.nightly import CardResult

from conftest import needs_public

CARD, DATASET = "steel-tempering-hardness", "tempering_steel_hardness"


def _catalog(monkeypatch) -> str:
    monkeypatch.setattr(cli, "console", Console(width=100))  # a 100-column terminal
    # COLUMNS too: piped, the command takes its width from COLUMNS where set (pytest-xdist's workers have 80)
    result = CliRunner().invoke(cli.app, ["catalog"], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    return result.output


def test_catalog_says_simulated_without_public_data(monkeypatch, tmp_path):
    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(tmp_path))  # no dataset here
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'absent' / 'mlflow.db'}")
    assert cards.data_kind(cards.load_card(CARD)) == ("simulated", None)
    out = _catalog(monkeypatch)
    assert f"{len(cards.list_ids())} standard models, 0 on real data here" in out
    assert not (tmp_path / "absent").exists(), "listing the catalog must not create an MLflow store"


@pytest.mark.slow
@needs_public(DATASET)
def test_catalog_counts_real_cards_and_shows_the_last_real_metric_beside_its_baseline(store, tmp_path, monkeypatch):
    public = [c for c in cards.list_cards() if cards.data_kind(c)[0].startswith("real")]  # + injected faults too
    assert CARD in {c.id for c in public}
    outcome = runner.run_card(CARD, n_trials=1, seed=0, output_dir=tmp_path / "out", progress=False)
    value = outcome.summary["metrics"]["test_rmse"]
    baseline = outcome.summary["baseline"]["baseline_rmse"]
    assert value < cards.load_card(CARD).metric.accept < baseline
    row = next(r for r in cards.catalog_table_rows(cards.catalog_rows(), cards.last_real_results([CARD]))
               if r[0] == CARD)
    assert row[2] == f"real\n{DATASET}" and row[3] == f"{value:.3g} (base {baseline:.3g})"
    out = _catalog(monkeypatch)
    assert f"{len(public)} on real data here" in out
    assert f"{value:.3g} (base {baseline:.3g})" in out
    assert max(len(line) for line in out.splitlines() if "│" not in line and "standard models" not in line) <= 100


def test_nightly_result_names_its_data():
    assert CardResult("x", data_source=f"public:{DATASET}").data_kind == f"real {DATASET}"
    assert CardResult("x", data_source="simulator:tempering_trials(rows=1500, seed=7)").data_kind == "simulated"


@needs_public("kamp_press")
def test_real_records_with_injected_faults_say_so():
    """The KAMP press export has no label: its loader injects fault episodes, and every listing says
    "real + injected faults", not "real"."""
    card = cards.load_card("press-anomaly")
    assert cards.data_kind(card) == ("real + injected faults", "kamp_press")
    row = next(r for r in cards.catalog_table_rows(cards.catalog_rows(), {}) if r[0] == card.id)
    assert row[2] == "real + injected faults\nkamp_press"
    listed = next(r for r in cards.catalog_rows() if r[0] == card.id)
    assert listed[-1] == "public kamp_press (real + injected faults), else simulator"
    assert CardResult("x", data_source="public:kamp_press").data_kind == "real + injected faults kamp_press"
