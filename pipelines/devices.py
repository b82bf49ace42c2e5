"""Which processor trains the boosters: ``auto`` (a GPU when there is one, quietly the CPU when
not), ``cpu`` or ``cuda``; and the LightGBM/XGBoost parameters that go with it.

XGBoost's wheel carries CUDA. LightGBM's wheel has OpenCL only, so on a GPU machine LightGBM runs
``device_type="gpu"`` when an OpenCL GPU answers, and stays on the CPU otherwise.
"""

from __future__ import annotations

import shutil
import subprocess
import warnings
from functools import cache

import numpy as np

DEVICES = ("auto", "cpu", "cuda")


@cache
def gpu_count() -> int:
    if not shutil.which("nvidia-smi"):
        return 0
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return 0
    return sum(1 for line in out.stdout.splitlines() if line.startswith("GPU "))


@cache
def xgboost_has_cuda() -> bool:
    import xgboost

    return bool(xgboost.build_info().get("USE_CUDA")) and gpu_count() > 0


@cache
def lightgbm_has_gpu() -> bool:
    """Train one tiny model with ``device_type=gpu``: the only reliable test of an OpenCL device."""
    if gpu_count() == 0:
        return False
    import lightgbm as lgb

    X = np.random.default_rng(0).normal(size=(200, 3))
    try:
        lgb.train({"device_type": "gpu", "verbose": -1, "num_leaves": 4}, lgb.Dataset(X, X[:, 0]), 2)
        return True
    except Exception:
        return False


def resolve(device: str) -> str:
    """``auto`` -> ``cuda`` when XGBoost can use a GPU here, else ``cpu``; ``cuda`` without a GPU
    warns and runs on the CPU (what XGBoost itself would do, said once and plainly)."""
    if device not in DEVICES:
        raise ValueError(f"device must be one of {DEVICES}, not {device!r}")
    if device == "cpu":
        return "cpu"
    if xgboost_has_cuda():
        return "cuda"
    if device == "cuda":
        warnings.warn("--device cuda asked for, but no CUDA GPU is visible: training on the CPU.", stacklevel=2)
    return "cpu"


def xgboost_params(device: str) -> dict:
    return {"device": "cuda" if device == "cuda" else "cpu", "tree_method": "hist"}


def lightgbm_params(device: str) -> dict:
    if device == "cuda" and lightgbm_has_gpu():
        return {"device_type": "gpu"}
    return {"device_type": "cpu"}
