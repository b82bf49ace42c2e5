"""Paths and settings in one place: where the catalog, notebooks, data and stores live.

Everything is a function, not a constant, so a test (or a user) can point an environment variable
elsewhere and every module follows.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from urllib.parse import urlparse

REPO_ROOT = Path(__file__).resolve().parent.parent


def catalog_dir() -> Path:
    return Path(os.environ.get("WORKBENCH_CATALOG_DIR", REPO_ROOT / "catalog"))


def notebooks_dir() -> Path:
    return Path(os.environ.get("WORKBENCH_NOTEBOOKS_DIR", REPO_ROOT / "notebooks"))


def data_dir() -> Path:
    """Public datasets, laid out as ``<dataset_id>/<file>`` (tests point it at ../shared/datasets)."""
    return Path(os.environ.get("WORKBENCH_DATA_DIR", REPO_ROOT / "datasets" / "cache"))


PATH_VARIABLES = ("WORKBENCH_CATALOG_DIR", "WORKBENCH_NOTEBOOKS_DIR", "WORKBENCH_DATA_DIR")


def anchor_relative_paths() -> None:
    """Relative folders in the path variables made absolute, from where the command was started: a
    notebook's kernel runs in notebooks/, where ``WORKBENCH_DATA_DIR=../shared/datasets`` would name
    another folder (and the card would quietly train on its simulator instead of the public data)."""
    for name in PATH_VARIABLES:
        value = os.environ.get(name)
        if value and not Path(value).is_absolute():
            os.environ[name] = str(Path(value).resolve())


def sources_file() -> Path:
    return REPO_ROOT / "datasets" / "sources.yaml"


def mlruns_dir() -> Path:
    return REPO_ROOT / "mlruns"


def tracking_uri() -> str:
    """``MLFLOW_TRACKING_URI`` when set, else a SQLite store under ``mlruns/`` (absolute: MLflow
    otherwise creates ``./mlflow.db`` wherever it happens to run)."""
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return uri
    mlruns_dir().mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{mlruns_dir() / 'mlflow.db'}"


def _sqlite_path(uri: str) -> Path | None:
    if uri.startswith("sqlite:///"):
        return Path(uri[len("sqlite:///"):])
    parsed = urlparse(uri)
    if parsed.scheme in ("", "file") and uri.endswith(".db"):
        return Path(parsed.path)
    return None


@contextlib.contextmanager
def environment(values: dict[str, str]):
    """Set variables while the block runs (a notebook kernel started inside inherits them), and put this
    process's environment back after: a run's kernel settings (register or not, the cluster) must not
    stay behind for the next run a long-lived process (a notebook, a test, a Dask worker) starts."""
    saved = dict(os.environ)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def store_lock(purpose: str, uri: str | None = None):
    """Held while one process does what others must not do at the same moment on a local SQLite store:
    create its tables, or decide a champion and move the alias. A lock file beside the store (filelock:
    any OS); a tracking server or PostgreSQL store orders writers itself, so nothing is held there."""
    db = _sqlite_path(uri or tracking_uri())
    if db is None:
        yield
        return
    from filelock import FileLock

    db.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(db.parent / f".{db.name}.{purpose}.lock"), timeout=600):
        yield


def artifact_root(uri: str | None = None) -> str | None:
    """Artifacts beside a local SQLite store; a tracking server decides for itself (None)."""
    db = _sqlite_path(uri or tracking_uri())
    return (db.parent / "artifacts").as_uri() if db else None


def optuna_storage(uri: str | None = None) -> str:
    """Optuna storage: ``WORKBENCH_OPTUNA_STORAGE`` when set, else a SQLite file beside the MLflow
    store, so an interrupted run finds its study again."""
    explicit = os.environ.get("WORKBENCH_OPTUNA_STORAGE")
    if explicit:
        return explicit
    db = _sqlite_path(uri or tracking_uri())
    folder = db.parent if db else mlruns_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'optuna.db'}"


def registering() -> bool:
    """False inside a validation run (the runner sets ``WORKBENCH_REGISTER=0`` for its kernel):
    ``register`` then compares with the champion and writes ``metrics.json`` but registers nothing,
    so a nightly check can never replace a champion."""
    return os.environ.get("WORKBENCH_REGISTER", "1") != "0"


def refitting() -> bool:
    """False when ``workbench run --no-refit`` set ``WORKBENCH_REFIT=0`` for the kernel: the registered
    model is then the one fitted on the internal train part only (the behaviour before refitting)."""
    return os.environ.get("WORKBENCH_REFIT", "1") != "0"


def retraining() -> bool:
    """True when ``workbench run --retrain`` set ``WORKBENCH_RETRAIN=1``: register a new version even when
    the run only repeats one already registered (same study, best trial, code and settings)."""
    return os.environ.get("WORKBENCH_RETRAIN", "0") == "1"


def language() -> str:
    """Language of messages for people: ``WORKBENCH_LANG`` (ko|en), else the locale (ko_KR -> ko), else en."""
    explicit = os.environ.get("WORKBENCH_LANG", "").strip().lower()
    if explicit in ("ko", "en"):
        return explicit
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name, "")
        if value:
            return "ko" if value.lower().startswith("ko") else "en"
    return "en"


def max_file_bytes() -> int:
    """Largest data file the workbench reads into memory (``WORKBENCH_MAX_FILE_MB``, default 1024 MB):
    a bigger export is refused with advice before it exhausts the machine."""
    return int(float(os.environ.get("WORKBENCH_MAX_FILE_MB", "1024")) * 1024 * 1024)
