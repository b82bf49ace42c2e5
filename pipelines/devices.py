"""Which processor trains the boosters: ``auto`` (a GPU when there is one, quietly the CPU when
not), ``cpu`` or ``cuda``; and the LightGBM/XGBoost parameters that go with it.

XGBoost's wheel carries CUDA. LightGBM's wheel has OpenCL only, so on a GPU machine LightGBM runs
``device_type="gpu"`` when an OpenCL driver for a GPU is registered and answers, and stays on the CPU
otherwise. A CPU-only OpenCL platform (pocl, often the only one installed) does not count: LightGBM
would accept it and run about twice as slow as its CPU learner (measured, benchmarks/results).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import warnings
from functools import cache
from pathlib import Path

import numpy as np

DEVICES = ("auto", "cpu", "cuda")
CPU_ONLY_OPENCL = re.compile(r"pocl|intelocl|libclc", re.IGNORECASE)  # OpenCL runtimes for the processor
REGISTER_NVIDIA_OPENCL = ("echo libnvidia-opencl.so.1 > /etc/OpenCL/vendors/nvidia.icd (as root), or point "
                          "OCL_ICD_VENDORS at a folder holding such a file")


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


def opencl_gpu_drivers() -> list[str]:
    """Registered OpenCL drivers (ICD files) that drive a GPU rather than the processor."""
    where = Path(os.environ.get("OCL_ICD_VENDORS") or "/etc/OpenCL/vendors")
    files = [where] if where.is_file() else sorted(where.glob("*.icd")) if where.is_dir() else []
    return [f.name for f in files if not CPU_ONLY_OPENCL.search(f.read_text(errors="replace"))]


@cache
def lightgbm_has_gpu() -> bool:
    """A GPU OpenCL driver is registered and one tiny ``device_type=gpu`` model trains on it."""
    if gpu_count() == 0:
        return False
    if not opencl_gpu_drivers():
        warnings.warn("LightGBM trains on the CPU: this machine has a GPU but no OpenCL driver for it is "
                      f"registered. To let LightGBM use it: {REGISTER_NVIDIA_OPENCL}. XGBoost uses CUDA "
                      "either way.", stacklevel=2)
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
