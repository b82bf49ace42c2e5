"""Which of a model's features need the rows before the one scored.

A served request carries the rows it carries: a row sent alone is its unit's first, so its lags are
missing, its windows hold only itself and a median of earlier rows is unknown. A model trained on a file
learned those features from rows with history, so a row sent without its history is scored on other
values than the file gave it. The run names those features (``model.history_features``), the model
report lists them as a known limit, and the README says to send the recent history with the row.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SAMPLE = 40  # rows scored alone: enough to tell a feature that needs history from one that never does
CANDIDATES = (8, 32, 128, 512)  # earlier rows a server may keep per unit, tried in turn
HISTORY_ROWS = 1_000  # earlier rows predict carries from chunk to chunk, and a server keeps where no candidate does


def _sample_rows(raw: pd.DataFrame, sample: int) -> np.ndarray:
    """Rows spread over the frame's second half: rows with history before them."""
    return np.unique(np.linspace(len(raw) // 2, len(raw) - 1, min(sample, len(raw) - len(raw) // 2)).astype(int))


def _in_file(model, raw: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
    whole = model.featurize(raw)  # may reorder rows: its index says which input row each is
    return model.matrix(whole)[whole.index.get_indexer(rows)]


def features_needing_history(model, raw: pd.DataFrame, sample: int = SAMPLE) -> list[str]:
    """The model's features whose value for a row scored alone differs from the value the whole of
    ``raw`` (the model's input columns, in file order) gives it, for at least half of ``sample`` rows
    spread over the frame's second half (rows with history before them); in the model's feature order."""
    if model.features is None or len(raw) < 2:
        return []
    raw = raw.reset_index(drop=True)
    rows = _sample_rows(raw, sample)
    in_file = _in_file(model, raw, rows)
    alone = np.vstack([model.matrix(model.featurize(raw.iloc[[i]])) for i in rows])
    same = np.isclose(alone, in_file, rtol=1e-9, atol=1e-12, equal_nan=True)
    return [name for name, share in zip(model.feature_names, same.mean(axis=0)) if share < 0.5]


def rows_needed(model, raw: pd.DataFrame, needing: list[str], unit: str | None, sample: int = SAMPLE) -> int:
    """The fewest earlier rows of a row's own unit (``unit``: the column naming it; None, one series)
    that give nine in ten of ``sample`` rows the features ``needing`` the whole file gives them: what a
    server keeps per unit to score rows sent one at a time. CANDIDATES in turn; HISTORY_ROWS where none does."""
    if not needing or model.features is None or len(raw) < 2:
        return 0
    raw = raw.reset_index(drop=True)
    rows = _sample_rows(raw, sample)
    columns = [model.feature_names.index(n) for n in needing]
    in_file = _in_file(model, raw, rows)[:, columns]
    units = raw[unit].to_numpy() if unit and unit in raw.columns else None
    own = {i: np.flatnonzero(units[: i + 1] == units[i]) if units is not None else np.arange(i + 1) for i in rows}
    for count in CANDIDATES:
        kept = [raw.iloc[own[i][-(count + 1):]] for i in rows]
        found = []
        for i, part in zip(rows, kept):
            features = model.featurize(part)
            found.append(model.matrix(features)[features.index.get_indexer([i])][0, columns])
        same = np.isclose(np.vstack(found), in_file, rtol=1e-9, atol=1e-12, equal_nan=True).all(axis=1)
        if same.mean() >= 0.9:
            return count
    return HISTORY_ROWS
