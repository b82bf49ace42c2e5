"""Run one card's notebook again and again in one kernel, each time on a variant of its reference data
(a column removed, say): the kernel's imports are paid once, not per variant.

Each variant is the notebook as ``workbench run`` executes it (every cell, the parameters set as papermill
would set them), with a small budget and ``WORKBENCH_REGISTER=0`` (logged and compared, never registered).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pandas as pd
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from pipelines import runner


def _parameters(values: dict) -> str:
    return "\n".join(f"{name} = {value!r}" for name, value in values.items())


def run_variants(card_id: str, variants: dict[str, pd.DataFrame], folder: Path, uri: str, n_trials: int = 1,
                 timeout_s: float = 600) -> dict[str, str | None]:
    """Execute the card's notebook once per variant; return, per variant name, None when every cell
    ran or the failing cell's error (name, value and the cell's first line)."""
    path = runner.notebook_path(card_id)
    nb = nbformat.read(path, as_version=4)
    cells = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"
             and "parameters" not in c.get("metadata", {}).get("tags", [])]
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "WORKBENCH_REGISTER": "0", "MPLBACKEND": "Agg",
           "WORKBENCH_PROGRESS_FILE": ""}
    client = NotebookClient(nb, kernel_name="python3", timeout=timeout_s, allow_errors=False,
                            resources={"metadata": {"path": str(path.parent)}})
    outcome: dict[str, str | None] = {}
    with client.setup_kernel(env=env):
        for name, frame in variants.items():
            data_file = folder / f"{name}.parquet"
            frame.to_parquet(data_file, index=False)
            out = folder / name
            out.mkdir(parents=True, exist_ok=True)
            params = nbformat.v4.new_code_cell(_parameters({
                "data_path": str(data_file), "column_map": None, "data_options": None, "n_trials": n_trials,
                "timeout_s": None, "device": "cpu", "seed": 42, "tracking_uri": uri, "output_dir": str(out),
                "mlflow_run_id": None}))
            cleanup = nbformat.v4.new_code_cell("import matplotlib.pyplot as _plt; _plt.close('all')\n"
                                                "import mlflow as _mlflow; _mlflow.end_run()")
            outcome[name], index, cell = None, 0, params
            try:
                client.execute_cell(params, 0)
                for index, cell in cells:
                    client.execute_cell(cell, index)
                    cell.outputs = []  # memory stays flat over many variants
            except CellExecutionError as exc:
                first = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
                outcome[name] = f"cell {index} ({first[:60]}): {exc.ename}: {str(exc.evalue)[:300]}"
            client.execute_cell(cleanup, 0)
            if outcome[name] is None and not (out / "metrics.json").exists():
                outcome[name] = "the notebook ran but wrote no metrics.json"
            elif outcome[name] is None:
                json.loads((out / "metrics.json").read_text())
    return outcome
