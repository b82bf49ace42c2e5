"""Standard Model Workbench engine.

The names a notebook needs, in the order data flows::

    card = load_card("injection-molding-quality")
    data = load_data(card, data_path)                 # validated frame (reference data when None)
    start_run(card, data, run_id=mlflow_run_id)      # MLflow run (the runner's, or a new one)
    result = tune(card, data, features=make_features, n_trials=20)
    report = evaluate(result)
    model_uri = log_result(result, report)
    decision = register(result, report, model_uri, output_dir=output_dir)

Imports are lazy so that ``workbench list`` does not pay for MLflow.
"""

from __future__ import annotations

import importlib
import os
import sys

# LightGBM and XGBoost train with OpenMP (GNU libgomp on Linux), whose idle threads spin 300,000 turns
# before they sleep. Two processes training on the same cores at once (two notebooks, runs side by side
# on one study, a run beside a batch `predict`) then spin on the cores the other needs: on 2 cores a 2-s
# LightGBM fit took over 120 s. 1,000 turns costs nothing alone (benchmarks/results/concurrent_fits.md).
# libgomp reads it once, when it loads: so here, before any booster is imported; a value set is kept.
os.environ.setdefault("GOMP_SPINCOUNT", "1000")

__all__ = ["load_card", "list_cards", "load_data", "start_run", "tune", "evaluate", "log_result", "register",
           "features"]

_WHERE = {
    "load_card": ("cards", "load_card"),
    "list_cards": ("cards", "list_cards"),
    "load_data": ("data", "load"),
    "start_run": ("tracking", "start_run"),
    "log_result": ("tracking", "log_result"),
    "tune": ("tuning", "tune"),
    "evaluate": ("evaluation", "evaluate"),
    "register": ("registry", "register"),
    "features": ("features", None),
}


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module 'pipelines' has no attribute {name!r}")
    module, attr = _WHERE[name]
    if "matplotlib.pyplot" in sys.modules:  # a notebook that plots: make its Korean labels render
        importlib.import_module(f"{__name__}.plotting").korean_fonts()
    loaded = importlib.import_module(f"{__name__}.{module}")
    return loaded if attr is None else getattr(loaded, attr)
