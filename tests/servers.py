"""Real servers on loopback for the scale-out tests and benchmark: a throw-away PostgreSQL cluster
(initdb + pg_ctl in a temporary folder), an ``mlflow server`` with that cluster as its backend store,
and a Dask scheduler with worker processes. Each is a context manager that stops what it started."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

from serving_support import free_port, stop_command

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # mlflow and dask commands of this environment


def postgres_bin() -> Path | None:
    """The folder of initdb and pg_ctl: on PATH, else Debian's /usr/lib/postgresql/<version>/bin."""
    found = shutil.which("initdb")
    if found:
        return Path(os.path.realpath(found)).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(versions[-1]).parent if versions else None


def why_no_postgres() -> str | None:
    """None when a throw-away cluster can start here, else why not (the reason a test skips with)."""
    if postgres_bin() is None:
        return "PostgreSQL's initdb is not installed (Debian: apt-get install postgresql; .ci/run installs it)"
    if os.geteuid() == 0 and not shutil.which("runuser"):
        return "running as root without runuser: PostgreSQL refuses to start as root"
    if os.geteuid() == 0:
        try:
            import pwd

            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and no 'postgres' user to start PostgreSQL as"
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        return "psycopg2 is not installed (it is in requirements.lock: make setup)"
    return None


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@contextlib.contextmanager
def postgres(databases: tuple[str, ...] = ("mlflow", "optuna")) -> Iterator[dict[str, str]]:
    """A PostgreSQL cluster on a free loopback port with ``databases`` made; yields {name: url}."""
    import psycopg2

    binaries = postgres_bin()
    folder = Path(tempfile.mkdtemp(prefix="wb-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    data, port = folder / "data", free_port()
    subprocess.run(_as_postgres([str(binaries / "initdb"), "-D", str(data), "-U", "wb", "-A", "trust", "-E", "UTF8",
                                 "--no-sync", "--no-instructions"]), check=True, capture_output=True)
    options = f"-p {port} -c listen_addresses=127.0.0.1 -k {folder} -c fsync=off -c max_connections=200"
    subprocess.run(_as_postgres([str(binaries / "pg_ctl"), "-D", str(data), "-l", str(folder / "server.log"), "-o",
                                 options, "-w", "-t", "60", "start"]), check=True, capture_output=True)
    try:
        base = f"postgresql://wb@127.0.0.1:{port}"
        admin = psycopg2.connect(f"{base}/postgres")
        admin.autocommit = True
        with admin.cursor() as cur:
            for name in databases:
                cur.execute(f"CREATE DATABASE {name}")
        admin.close()
        yield {name: f"{base}/{name}" for name in databases}
    finally:
        subprocess.run(_as_postgres([str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                       capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def _wait(check, what: str, proc: subprocess.Popen, log: Path, seconds: float = 120) -> None:
    deadline = time.time() + seconds
    while not check():
        if proc.poll() is not None:
            raise RuntimeError(f"{what} ended at start: {log.read_text()[-3000:]}")
        if time.time() > deadline:
            raise RuntimeError(f"{what} did not start within {seconds} s: {log.read_text()[-3000:]}")
        time.sleep(0.5)


@contextlib.contextmanager
def mlflow_server(backend_uri: str, folder: Path) -> Iterator[str]:
    """``mlflow server`` on a free loopback port, artifacts served from ``folder``; yields its URL."""
    import httpx

    port, log = free_port(), folder / "mlflow-server.log"
    folder.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as out:
        proc = subprocess.Popen([str(BIN / "mlflow"), "server", "--backend-store-uri", backend_uri,
                                 "--artifacts-destination", str(folder / "artifacts"), "--host", "127.0.0.1",
                                 "--port", str(port), "--workers", "2"],
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            return httpx.get(f"{url}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        _wait(healthy, "mlflow server", proc, log)
        yield url
    finally:
        stop_command(proc)


@contextlib.contextmanager
def dask_cluster(folder: Path, workers: int = 2, env: dict | None = None, worker_args: tuple[str, ...] = ()) -> Iterator[str]:
    """A Dask scheduler and ``workers`` one-thread worker processes on loopback (``worker_args`` added to
    `dask worker`); yields its address."""
    from dask.distributed import Client

    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    folder.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    logs = folder / "scheduler.log", folder / "workers.log"
    with open(logs[0], "w") as out:
        scheduler = subprocess.Popen([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                      "--no-dashboard"], stdout=out, stderr=subprocess.STDOUT, env=env,
                                     start_new_session=True)
    with open(logs[1], "w") as out:
        pool = subprocess.Popen([str(BIN / "dask"), "worker", address, "--nworkers", str(workers), "--nthreads", "1",
                                 "--no-dashboard", "--local-directory", str(folder), *worker_args],
                                stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        deadline = time.time() + 120
        while True:
            try:
                with Client(address, timeout=5) as client:
                    client.wait_for_workers(workers, timeout=max(1, deadline - time.time()))
                break
            except OSError:  # the scheduler is not listening yet
                if time.time() > deadline or scheduler.poll() is not None:
                    raise RuntimeError(f"Dask scheduler did not start: {logs[0].read_text()[-3000:]}")
                time.sleep(0.5)
        yield address
    finally:
        stop_command(pool)
        stop_command(scheduler)
