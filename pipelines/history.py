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


def features_needing_history(model, raw: pd.DataFrame, sample: int = SAMPLE) -> list[str]:
    """The model's features whose value for a row scored alone differs from the value the whole of
    ``raw`` (the model's input columns, in file order) gives it, for at least half of ``sample`` rows
    spread over the frame's second half (rows with history before them); in the model's feature order."""
    if model.features is None or len(raw) < 2:
        return []
    raw = raw.reset_index(drop=True)
    rows = np.unique(np.linspace(len(raw) // 2, len(raw) - 1, min(sample, len(raw) - len(raw) // 2)).astype(int))
    whole = model.featurize(raw)  # may reorder rows: its index says which input row each is
    in_file = model.matrix(whole)[whole.index.get_indexer(rows)]
    alone = np.vstack([model.matrix(model.featurize(raw.iloc[[i]])) for i in rows])
    same = np.isclose(alone, in_file, rtol=1e-9, atol=1e-12, equal_nan=True)
    return [name for name, share in zip(model.feature_names, same.mean(axis=0)) if share < 0.5]
