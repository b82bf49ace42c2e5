"""Shared fixtures: a real MLflow store and Optuna storage in a temporary folder per test, public
datasets from ../shared/datasets when present, one booster thread per test worker."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "datasets"

os.environ.setdefault("WORKBENCH_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
if "WORKBENCH_DATA_DIR" not in os.environ and SHARED.exists():
    os.environ["WORKBENCH_DATA_DIR"] = str(SHARED)


def public_data_present(dataset_id: str) -> bool:
    folder = Path(os.environ.get("WORKBENCH_DATA_DIR", ROOT / "datasets" / "cache")) / dataset_id
    return folder.exists() and any(folder.iterdir())


def needs_public(dataset_id: str):
    return pytest.mark.skipif(not public_data_present(dataset_id),
                              reason=f"public dataset {dataset_id} not found under WORKBENCH_DATA_DIR "
                                     f"(tests use ../shared/datasets; see datasets/sources.yaml to get it)")


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A fresh SQLite MLflow store (Optuna's storage beside it) for one test."""
    folder = tmp_path / "mlruns"
    folder.mkdir()
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.delenv("WORKBENCH_OPTUNA_STORAGE", raising=False)
    import mlflow

    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    yield folder
    if mlflow.active_run():
        mlflow.end_run()


@pytest.fixture
def catalog_copy(tmp_path, monkeypatch):
    """A private copy of catalog/ and notebooks/ that a test may edit (``edit(card_id, **changes)``)."""
    cat, nbs = tmp_path / "catalog", tmp_path / "notebooks"
    shutil.copytree(ROOT / "catalog", cat)
    shutil.copytree(ROOT / "notebooks", nbs)
    monkeypatch.setenv("WORKBENCH_CATALOG_DIR", str(cat))
    monkeypatch.setenv("WORKBENCH_NOTEBOOKS_DIR", str(nbs))

    class Catalog:
        catalog, notebooks = cat, nbs

        @staticmethod
        def edit(card_id: str, change) -> Path:
            path = cat / f"{card_id}.yaml"
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
            change(raw)
            path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
            return path

    return Catalog
