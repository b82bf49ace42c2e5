"""Deterministic reference-data generators, one module per kind of data.

A card names its family (`reference_data.simulator.family`); the family is the module of that name
in this package, so a new kind of data needs a new module here and no change elsewhere. Every module
exposes ``generate(rows, seed, **params)`` returning either one frame (the engine splits it as the
card says) or ``(frame, test)`` where the family has a natural fixed test set (truncated run-to-failure
units, say).
"""

from __future__ import annotations

import importlib
import pkgutil

import pandas as pd

__all__ = ["families", "simulate"]


def families() -> list[str]:
    """Names of the simulator families available in this package."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_") and m.name != "common")


def simulate(family: str, rows: int, seed: int, params: dict | None = None) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Generate reference data of ``family``: ``(frame, test)``, ``test`` None where the card splits."""
    if family not in families():
        raise KeyError(f"unknown simulator family {family!r}; known: {', '.join(families())}")
    module = importlib.import_module(f"{__name__}.{family}")
    out = module.generate(rows=rows, seed=seed, **(params or {}))
    if isinstance(out, tuple):
        return out[0], out[1]
    return out, None
