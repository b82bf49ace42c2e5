"""Dask: the cluster a command works on, and what it runs there.

``workbench validate`` sends one card per worker (pipelines/nightly.py); ``workbench run --scheduler``
or ``--workers`` spreads the trials of the card's one Optuna study over the workers (``spread_trials``),
every worker reading and writing the same study through an RDB storage all of them reach (PostgreSQL
for workers on other machines). The notebook's last steps (test, refit, registration) stay in the kernel.
"""

from __future__ import annotations

import contextlib
import logging
import os
from importlib.metadata import version
from typing import Iterator

from . import settings

SCHEDULER_ENV = "WORKBENCH_SCHEDULER"  # set by the runner for the notebook's kernel (`run --scheduler`)
WORKERS_ENV = "WORKBENCH_TUNING_WORKERS"  # `run --workers N`: a LocalCluster of N processes


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def default_workers() -> int:
    """One card per core, but no more kernels than memory holds (about 2 GB each, with headroom)."""
    import psutil

    return max(1, min(cores(), int(psutil.virtual_memory().total // 2e9)))


def worker_environment(local_workers: int | None) -> dict[str, str]:
    """What every worker must see as the client does: the same MLflow store, catalog, notebooks and
    data. On a LocalCluster the cores are shared out, so N kernels do not each start every core."""
    env = {"MLFLOW_TRACKING_URI": settings.tracking_uri()}
    for name in ("WORKBENCH_CATALOG_DIR", "WORKBENCH_NOTEBOOKS_DIR", "WORKBENCH_DATA_DIR", "WORKBENCH_THREADS"):
        if os.environ.get(name):
            env[name] = os.environ[name]
    if local_workers and "WORKBENCH_THREADS" not in env:
        env["WORKBENCH_THREADS"] = str(max(1, cores() // local_workers))
    return env


@contextlib.contextmanager
def dask_client(scheduler: str | None, workers: int | None) -> Iterator[tuple[object, str]]:
    """An existing cluster when ``scheduler`` names one, else a LocalCluster of worker processes
    (not threads: each runs a kernel and boosters that want their own process)."""
    from dask.distributed import Client, LocalCluster

    if scheduler:
        with Client(scheduler, timeout=30) as client:
            yield client, f"Dask scheduler {scheduler}"
        return
    n = workers or default_workers()
    with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        yield client, f"Dask LocalCluster, {n} worker process{'es' if n > 1 else ''}"


def requested() -> tuple[str | None, int | None] | None:
    """The cluster `workbench run` asked the kernel to tune on: (scheduler, local workers), or None."""
    scheduler = os.environ.get(SCHEDULER_ENV) or None
    workers = int(os.environ[WORKERS_ENV]) if os.environ.get(WORKERS_ENV) else None
    return (scheduler, workers) if scheduler or workers else None


def check_scheduler(address: str, seconds: float = 15) -> int:
    """The number of worker slots at ``address``, or a WorkbenchError that says what to start or install:
    checked before a run exists, so a wrong address or a worker set up from another environment costs
    seconds and leaves nothing behind."""
    from dask.distributed import Client

    from .errors import WorkbenchError

    try:
        with Client(address, timeout=seconds) as client:
            slots = sum(client.nthreads().values())
            lacking = workers_without_workbench(client) if slots else {}
    except (OSError, TimeoutError, ValueError) as exc:
        raise WorkbenchError(f"No Dask scheduler answers at {address} ({type(exc).__name__}: {exc}). Start one there "
                             f"with `dask scheduler` and workers with `dask worker {address}`, or use --workers N "
                             f"for a cluster on this machine (docs/scale-out.md).") from None
    if not slots:
        raise WorkbenchError(f"The Dask scheduler at {address} has no workers: start some with "
                             f"`dask worker {address} --nworkers 2 --nthreads 1` (docs/scale-out.md).")
    if lacking:
        named = ", ".join(f"{worker} ({what})" for worker, what in sorted(lacking.items())[:4])
        more = f" and {len(lacking) - 4} more" if len(lacking) > 4 else ""
        raise WorkbenchError(f"Dask worker(s) at {address} cannot run the trials: {named}{more}; this machine has "
                             f"{DISTRIBUTION} {version(DISTRIBUTION)}. Install the same version there (the same image, "
                             f"or `pip install -r requirements.lock && pip install -e .` from the same checkout) and "
                             f"restart those workers, or tune on this machine with --workers N (docs/scale-out.md).")
    return slots


DISTRIBUTION = "standard-model-workbench"


def workers_without_workbench(client) -> dict[str, str]:
    """The workers that cannot run a trial, each with what it lacks (the package, or this version of it):
    such a worker cannot read the task it is sent, and the run waits for it with the error only in the
    worker's log."""
    here = version(DISTRIBUTION)

    def probe(distribution: str) -> str | None:  # a local function: Dask sends it by value, no workbench needed
        import importlib.metadata
        import importlib.util

        try:
            if importlib.util.find_spec("pipelines") is None:
                return None
        except ImportError:
            return None
        try:
            return importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            return ""  # importable from a path (PYTHONPATH) without being installed: taken as it is

    found = client.run(probe, DISTRIBUTION)
    return {worker: "no workbench installed" if v is None else f"{DISTRIBUTION} {v}"
            for worker, v in found.items() if v not in (here, "")}


def spread_trials(study, objective, n_trials: int, timeout_s: float | None, callbacks: list, progress,
                  samplers, storage_url: str, scheduler: str | None, workers: int | None) -> str:
    """Run ``n_trials`` of ``study`` on the cluster: the budget is shared out over the workers' slots,
    each slot tunes its share in one task with a sampler of its own seed (``samplers(i)``), and the
    study-wide callbacks (budget, stagnation) stop every slot alike. ``progress`` is fed here, from
    the study, while the tasks run. Returns the cluster in words."""
    import time

    with dask_client(scheduler, workers) as (client, engine):
        members = client.scheduler_info()["workers"]
        on_host: dict[str, int] = {}  # slots per machine: their boosters share its cores
        for w in members.values():
            on_host[w["host"]] = on_host.get(w["host"], 0) + w["nthreads"]
        sharing = {address: on_host[w["host"]] for address, w in members.items()}
        slots = max(1, sum(w["nthreads"] for w in members.values()))
        shares = [n_trials // slots + (i < n_trials % slots) for i in range(slots)]
        futures = [client.submit(_tune_share, study.study_name, storage_url, objective, share, timeout_s,
                                 callbacks, samplers(i), study.pruner, sharing, pure=False)
                   for i, share in enumerate(shares) if share]
        while not all(f.done() for f in futures):
            time.sleep(1)
            progress(study, None)
        client.gather(futures)  # a worker's error is raised here, in the notebook
    progress(study, None)
    return engine


def _tune_share(study_name: str, storage_url: str, objective, n_trials: int, timeout_s: float | None,
                callbacks: list, sampler, pruner, sharing: dict[str, int]) -> None:
    """On a worker: tune ``n_trials`` of the shared study. Unless WORKBENCH_THREADS says otherwise, a
    trial's boosters get the machine's cores divided by the slots on it (``sharing``: worker address ->
    slots on its machine), so N local workers do not each start every core."""
    import optuna
    from distributed import get_worker

    from . import tuning

    threads = {}
    if not os.environ.get("WORKBENCH_THREADS"):  # for this task only: a long-lived worker serves other runs
        worker = get_worker()
        threads["WORKBENCH_THREADS"] = str(max(1, cores() // sharing.get(worker.address, worker.state.nthreads)))
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(study_name=study_name, storage=tuning.open_storage(storage_url),
                              sampler=sampler, pruner=pruner)
    with settings.environment(threads):
        tuning.run_trials(study, objective, n_trials, timeout_s, callbacks)
