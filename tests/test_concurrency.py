"""Processes that share the default store (SQLite under mlruns/): several runs starting on a new store,
and two runs deciding the champion at the same moment. Real processes, a real store."""

from __future__ import annotations

import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient

import pipelines as wb
from pipelines import cards, settings, tracking


def _first_touch(uri: str, start: float) -> int:
    while time.time() < start:
        time.sleep(0.005)
    tracking.configure(uri)
    return len(MlflowClient().search_experiments())


def test_runs_starting_together_on_a_new_store_all_find_it(tmp_path):
    """Four processes touch a store that does not exist yet at the same instant: one creates the tables
    while the others wait, and none fails on a table another is creating."""
    with ProcessPoolExecutor(4) as pool:
        pool.submit(time.sleep, 0).result()
        for attempt in range(3):
            uri = f"sqlite:///{tmp_path / f'store{attempt}' / 'mlflow.db'}"
            start = time.time() + 0.5
            found = [f.result() for f in [pool.submit(_first_touch, uri, start) for _ in range(4)]]
            assert found == [found[0]] * 4


HOLD = """
import sys, time
from pathlib import Path
from pipelines import settings
with settings.store_lock("registry", sys.argv[1]):
    Path(sys.argv[2]).write_text("held")
    time.sleep(3)
    Path(sys.argv[2]).write_text(repr(time.time()))
"""


def test_the_champion_decision_waits_for_another_process_deciding(store, catalog_copy, tmp_path):
    """While another process holds the registry (deciding its own champion), a run's decision and alias
    move wait for it, so each is judged against the champion the other left."""
    catalog_copy.edit("heat-treatment-hardness", lambda raw: raw["reference_data"]["simulator"].update(rows=600))
    card = cards.load_card("heat-treatment-hardness")
    data = wb.load_data(card)
    wb.start_run(card, data)
    result = wb.tune(card, data, n_trials=1, seed=0)
    report = wb.evaluate(result, plots=False)
    model_uri = wb.log_result(result, report)
    marker = tmp_path / "released"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, settings.tracking_uri(), str(marker)])
    try:
        deadline = time.time() + 60
        while not marker.exists() and time.time() < deadline:
            time.sleep(0.05)
        assert marker.read_text() == "held"
        decision = wb.register(result, report, model_uri)
        decided_at = time.time()
    finally:
        holder.wait(timeout=60)
        mlflow.end_run()
    released_at = float(marker.read_text())
    assert decided_at >= released_at
    assert decision.version == 1 and decision.promoted
    assert int(MlflowClient().get_model_version_by_alias(card.id, "champion").version) == 1
