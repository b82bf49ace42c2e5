"""Shared by the serving and batch-prediction tests: a real MLflow store in a temporary folder with real
(cheaply trained) registered versions, and a real uvicorn server on a free loopback port."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import mlflow
import pytest
import yaml

import pipelines as wb
from pipelines import registry

ROOT = Path(__file__).resolve().parent.parent
CARD = "heat-treatment-hardness"  # small, fast, and has a datetime and two category columns


@contextmanager
def temporary_store(folder: Path, rows: int = 1500):
    """A private catalog (``CARD`` on ``rows`` simulated rows, a threshold every tiny run passes) and an
    empty SQLite MLflow store, for a whole test module: training once keeps the module fast."""
    catalog = folder / "catalog"
    shutil.copytree(ROOT / "catalog", catalog)
    path = catalog / f"{CARD}.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["reference_data"]["simulator"]["rows"] = rows
    raw["metric"]["accept"] = 50.0
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    (folder / "mlruns").mkdir()
    uri = f"sqlite:///{folder / 'mlruns' / 'mlflow.db'}"
    patch = pytest.MonkeyPatch()
    patch.setenv("WORKBENCH_CATALOG_DIR", str(catalog))
    patch.setenv("MLFLOW_TRACKING_URI", uri)
    patch.delenv("WORKBENCH_OPTUNA_STORAGE", raising=False)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    try:
        yield uri
    finally:
        if mlflow.active_run():
            mlflow.end_run()
        patch.undo()


def train(card_id: str = CARD, data=None, seed: int = 0, features=None) -> int:
    """Tune (2 trials), evaluate, log and register one version, as a notebook does; return its number."""
    card = wb.load_card(card_id)
    data = data if data is not None else wb.load_data(card)
    wb.start_run(card, data)
    result = wb.tune(card, data, n_trials=2, seed=seed, features=features)
    report = wb.evaluate(result, plots=False)
    decision = wb.register(result, report, wb.log_result(result, report))
    mlflow.end_run()
    return decision.version


def promote(version: int, card_id: str = CARD) -> None:
    registry.promote(card_id, version)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def server_thread(app):
    """Run an ASGI app with uvicorn in a thread on a free loopback port; yield its base URL."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started and time.time() < deadline:
        time.sleep(0.02)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(15)
        sock.close()


def wait_for(url: str, seconds: float, proc=None) -> None:
    """Poll ``url`` until it answers 200 (a server started in a subprocess)."""
    import httpx

    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise AssertionError(f"{url} did not answer within {seconds} s")


def start_command(args: list[str], stderr=subprocess.DEVNULL) -> subprocess.Popen:
    """``workbench ARGS`` as a user starts it (this checkout's package first), in a session of its own so
    that ``stop_command`` ends it with whatever it started."""
    from pipelines import settings

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in [str(settings.REPO_ROOT),
                                                                    os.environ.get("PYTHONPATH", "")] if p)}
    return subprocess.Popen([sys.executable, "-m", "pipelines.cli", *args], env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=stderr)


def stop_command(proc: subprocess.Popen) -> None:
    """SIGTERM to the command's process group, SIGKILL after 20 s."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
