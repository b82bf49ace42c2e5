"""Small building blocks shared by the simulator families: seeded noise, drift, gaps."""

from __future__ import annotations

import numpy as np
import pandas as pd


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def ar1(r: np.random.Generator, n: int, phi: float, scale: float) -> np.ndarray:
    """A slow, mean-reverting drift (AR(1)) of length n: sensor drift, ambient swings."""
    eps = r.normal(0.0, scale, n)
    out = np.empty(n)
    acc = 0.0
    for i in range(n):
        acc = phi * acc + eps[i]
        out[i] = acc
    return out


def with_missing(frame: pd.DataFrame, r: np.random.Generator, columns: list[str], rate: float) -> pd.DataFrame:
    """Blank out a fraction of values in the given columns, as dropped PLC reads do."""
    frame = frame.copy()
    for col in columns:
        mask = r.random(len(frame)) < rate
        frame.loc[mask, col] = np.nan
    return frame


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))
