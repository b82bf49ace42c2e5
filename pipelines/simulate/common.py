"""Small building blocks shared by the simulator families: seeded noise, drift, gaps."""

from __future__ import annotations

import ast

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


# Formulas written in cards (simulator params) are arithmetic over named columns and these functions.
FORMULA_FUNCTIONS = {
    "exp": np.exp, "log": np.log, "log10": np.log10, "sqrt": np.sqrt, "abs": np.abs, "sin": np.sin,
    "cos": np.cos, "tanh": np.tanh, "minimum": np.minimum, "maximum": np.maximum, "clip": np.clip,
    "where": np.where, "sigmoid": sigmoid, "relu": lambda x: np.maximum(x, 0.0), "pi": np.pi,
}
_FORMULA_NODES = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Compare, ast.BoolOp, ast.Call, ast.Name,
                  ast.Load, ast.Constant, ast.operator, ast.unaryop, ast.cmpop, ast.boolop, ast.IfExp)


def formula(expr: str, values: dict[str, np.ndarray]) -> np.ndarray:
    """Evaluate a card's formula, e.g. ``"20 + 60*sqrt(C) - 0.4*relu(T - 600)"``, over named arrays.

    Only arithmetic, comparisons and FORMULA_FUNCTIONS are allowed, so a card cannot run code."""
    tree = ast.parse(expr, mode="eval")
    for node in ast.walk(tree):
        if not isinstance(node, _FORMULA_NODES):
            raise ValueError(f"formula {expr!r}: {type(node).__name__} is not allowed")
        if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id in FORMULA_FUNCTIONS):
            raise ValueError(f"formula {expr!r}: only {', '.join(sorted(FORMULA_FUNCTIONS))} may be called")
        if isinstance(node, ast.Name) and node.id not in values and node.id not in FORMULA_FUNCTIONS:
            raise ValueError(f"formula {expr!r}: unknown name {node.id!r} (known: {', '.join(sorted(values))})")
    scope = {**FORMULA_FUNCTIONS, **values}
    return np.asarray(eval(compile(tree, "<card formula>", "eval"), {"__builtins__": {}}, scope), dtype=float)  # noqa: S307
