"""Run cards' notebooks again and again in one kernel, each time on a variant of the card's reference data
(columns removed, say): the kernel's imports are paid once per test worker, not once per variant.

A full variant is the notebook as ``workbench run`` executes it (every cell, the parameters set as
papermill would set them), with one trial and ``WORKBENCH_REGISTER=0`` (logged and compared, never
registered). An explore-only variant runs the cells before tuning (loading, exploration, the feature
function, which is then applied to every row) and stops there: what a card's own code does with the
columns it names. The namespace is reset between cards, so no card leans on another's variables.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pandas as pd
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from pipelines import runner, settings

FEATURES_ON_ALL_ROWS = "if 'make_features' in globals():\n    make_features(data.frame.copy())"
# Each column but the target in turn missing from 30 % of the rows (a gap in an export, a null in a served
# request): the feature function on one such row, on the first 40 rows and on the whole frame.
FEATURES_WITH_GAPS = """
if 'make_features' in globals():
    _gap = __import__('numpy').random.default_rng(0).random(len(data.frame)) < 0.3
    for _col in data.frame.columns.drop(card.target.column, errors='ignore'):
        _holed = data.frame.assign(**{_col: data.frame[_col].mask(_gap)})
        for _part in (_holed[_gap].iloc[[0]], _holed.iloc[:40], _holed):
            try:
                make_features(_part.copy())
            except Exception as _e:
                raise AssertionError(f'make_features with {_col} missing, {len(_part)} rows: {type(_e).__name__}: {_e}') from _e
"""
# A served request has no history: the feature function must give its rows what it gives, on the whole
# file, each unit's first row (the earliest by the card's time; the file's first where the card has no
# unit). A feature that reads later rows (a median over the whole file) differs there, and so would a
# notebook's shortcut for one row per unit that does not give what its grouped pandas gives. A forecast's
# request carries the series' latest value; other requests never carry the target.
SERVED_ROWS_AS_FIRST = """
if 'make_features' in globals():
    import numpy as _np
    _f = data.frame.reset_index(drop=True)
    _unit = card.group.column if card.group and card.group.column in _f.columns else None
    _time = card.time.column if card.time and card.time.column in _f.columns else None
    _order = _f.sort_values(_time, kind='stable') if _time else _f
    _firsts = list(_order[_order[_unit].notna()].drop_duplicates(_unit).index[:25]) if _unit else [_order.index[0]]
    _whole = make_features(_f.copy())
    _differ = {}
    for _rows in [[i] for i in _firsts[:5]] + ([_firsts] if len(_firsts) > 1 else []):  # one row; one per unit
        _request = _f.loc[_rows].reset_index(drop=True)
        if card.task != 'forecast':
            _request = _request.drop(columns=[card.target.column], errors='ignore')
        _served = make_features(_request)
        _served.index = [_rows[i] for i in _served.index]
        for _c in _whole.columns.intersection(_served.columns).drop(card.target.column, errors='ignore'):
            _a, _b = _whole.loc[_rows, _c], _served.loc[_rows, _c]
            try:
                _same = _np.allclose(_a.to_numpy(float), _b.to_numpy(float), rtol=1e-9, atol=1e-12, equal_nan=True)
            except (TypeError, ValueError):
                _same = [str(x) for x in _a] == [str(x) for x in _b]
            if not _same:
                _differ.setdefault(_c, f'rows {_rows[:3]}: whole file {_a.tolist()[:3]}, served {_b.tolist()[:3]}')
    if _differ:
        raise AssertionError('served rows get other features than the whole file gives their unit\\'s first row: '
                             + '; '.join(f'{c} ({why})' for c, why in _differ.items()))
"""
CLEANUP = "import matplotlib.pyplot as _plt; _plt.close('all')\nimport mlflow as _mlflow; _mlflow.end_run()"


def _parameters(values: dict) -> str:
    return "\n".join(f"{name} = {value!r}" for name, value in values.items())


class KernelSession:
    """One kernel for many notebook runs; ``close`` shuts it down."""

    def __init__(self, uri: str, timeout_s: float = 600):
        self.uri = uri
        settings.anchor_relative_paths()  # the kernel starts in notebooks/
        env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "WORKBENCH_REGISTER": "0", "MPLBACKEND": "Agg",
               "WORKBENCH_PROGRESS_FILE": ""}
        self.client = NotebookClient(nbformat.v4.new_notebook(), kernel_name="python3", timeout=timeout_s,
                                     allow_errors=False)
        self.client.km = self.client.create_kernel_manager()
        self.client.start_new_kernel(env=env, cwd=str(runner.notebook_path("x").parent))
        self.client.start_new_kernel_client()

    def close(self) -> None:
        self.client._cleanup_kernel()

    def _execute(self, source: str, index: int = 0) -> None:
        self.client.execute_cell(nbformat.v4.new_code_cell(source), index)

    def run(self, card_id: str, variants: dict[str, pd.DataFrame], folder: Path, n_trials: int = 1,
            explore_only: set[str] = frozenset(), explore: str = FEATURES_ON_ALL_ROWS) -> dict[str, str | None]:
        """Execute the card's notebook once per variant; per variant name, None when it ran, or the
        failing cell's error (index, first line, exception name and value). An explore-only variant
        runs ``explore`` in place of the tuning cell and stops."""
        nb = nbformat.read(runner.notebook_path(card_id), as_version=4)
        self.client.nb = nb
        cells = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"
                 and "parameters" not in c.get("metadata", {}).get("tags", [])]
        self._execute("%reset -f")
        outcome: dict[str, str | None] = {}
        for name, frame in variants.items():
            data_file = folder / f"{card_id}-{name}.parquet"
            frame.to_parquet(data_file, index=False)
            out = folder / f"{card_id}-{name}"
            out.mkdir(parents=True, exist_ok=True)
            params = _parameters({
                "data_path": str(data_file), "column_map": None, "data_options": None, "n_trials": n_trials,
                "timeout_s": None, "device": "cpu", "seed": 42, "tracking_uri": self.uri, "output_dir": str(out),
                "mlflow_run_id": None})
            outcome[name], index, source = None, 0, params
            try:
                self._execute(params)
                for index, cell in cells:
                    source = cell.source
                    if name in explore_only and "wb.tune(" in source:
                        source = explore
                        self._execute(source, index)
                        break
                    self._execute(source, index)
            except CellExecutionError as exc:
                first = source.strip().splitlines()[0] if source.strip() else ""
                outcome[name] = f"cell {index} ({first[:70]}): {exc.ename}: {str(exc.evalue)[:400]}"
            self._execute(CLEANUP)
            if outcome[name] is None and name not in explore_only:
                summary = out / "metrics.json"
                if not summary.exists():
                    outcome[name] = "the notebook ran but wrote no metrics.json"
                else:
                    json.loads(summary.read_text())
        return outcome
