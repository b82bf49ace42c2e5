"""Run a card's notebook with papermill inside an MLflow run the runner owns.

The runner creates the run before the kernel starts and closes it after: FINISHED with the executed
notebook attached, or FAILED with the failing cell named, in which case nothing was registered (the
notebook registers in its last cell only). User data is validated before any run exists, so a bad
file leaves nothing behind.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import shutil
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from . import cards, cluster, data, settings, tracking
from .errors import NotebookError, WorkbenchError


@dataclass
class RunOutcome:
    card_id: str
    run_id: str
    summary: dict
    executed_notebook: Path
    seconds: float

    @property
    def decision(self) -> dict:
        return self.summary.get("decision", {})


@functools.cache
def kernel_manager_class():
    """Kernels on Unix sockets in a private folder instead of loopback TCP ports: no other user of the
    machine can reach them, and ipykernel stops warning about unencrypted TCP on every run."""
    from jupyter_client import AsyncKernelManager
    from traitlets import default

    if os.name != "posix":
        return AsyncKernelManager
    sockets = tempfile.mkdtemp(prefix="wb-kernels-")  # short: socket paths stop at 107 bytes
    atexit.register(shutil.rmtree, sockets, ignore_errors=True)

    class UnixSocketKernelManager(AsyncKernelManager):
        @default("transport")
        def _unix_transport(self):
            return "ipc"

        def _ip_default(self):  # jupyter_client's own default puts the sockets in the working folder
            return os.path.join(sockets, f"kernel-{uuid.uuid4().hex[:12]}")

    return UnixSocketKernelManager


def notebook_path(card_id: str) -> Path:
    return settings.notebooks_dir() / f"{card_id}.ipynb"


def run_card(card_id: str, data_path: str | None = None, n_trials: int = 20, timeout_s: float | None = None,
             device: str = "auto", seed: int = 42, column_map: dict | None = None, tracking_uri: str | None = None,
             output_dir: str | Path | None = None, progress: bool = True, register: bool = True,
             tags: dict | None = None, sheet: str | int | None = None, lang: str | None = None,
             cell_timeout_s: float | None = None, options: data.Options | dict | None = None,
             refit: bool = True, retrain: bool = False, scheduler: str | None = None,
             workers: int | None = None) -> RunOutcome:
    """Execute the card's notebook in a new MLflow run. ``register=False`` (validation) logs and
    compares with the champion but registers nothing; ``tags`` are added to the run;
    ``cell_timeout_s`` stops a cell that hangs (a failure like any other); ``options`` are the
    user's data choices (split, strict, date order, sensor codes), passed on to the notebook;
    ``refit=False`` registers the model fitted on the internal train part instead of on every row;
    ``retrain=True`` registers a new version even when the run only repeats a registered one;
    ``scheduler`` (a Dask scheduler's address) or ``workers`` (a LocalCluster of that many processes)
    spreads the trials over Dask workers, everything else staying in the kernel."""
    import mlflow
    import papermill as pm
    from mlflow.tracking import MlflowClient

    start = time.perf_counter()
    card = cards.load_card(card_id)
    source = notebook_path(card.id)
    if not source.exists():
        raise WorkbenchError(f"Card {card.id} has no notebook at {source}: add notebooks/{card.id}.ipynb.")
    user_file = None
    if data_path is not None:
        # Read, map and validate before any run, study or model exists: a bad file leaves nothing behind.
        checked = data.load(card, data_path, column_map, sheet=sheet, lang=lang, options=options)
        user_file = str(Path(data_path).resolve())
    out_dir = Path(output_dir or tempfile.mkdtemp(prefix=f"workbench-{card.id}-")).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    if user_file:
        # The kernel gets the validated frame, so it never re-detects encodings or sheets, and a
        # Korean CP949 export trains on exactly the rows an English UTF-8 copy of it would.
        # Its decisions (absent columns, values set missing) were made on the original: they travel along.
        data_path, column_map = str(out_dir / "data.parquet"), None
        frame = checked.frame.copy()
        frame.attrs = {"workbench": checked.carry()}
        frame.to_parquet(data_path, index=False)
    uri = tracking.configure(tracking_uri)
    run_id = tracking.create_run(card, uri, tags={"runner": "papermill", **({"data.file": user_file} if user_file else {}),
                                                    **(tags or {})})
    executed = out_dir / f"{card.id}.executed.ipynb"
    progress_file = out_dir / "progress.json"
    kernel_options = data.Options.of(options).as_dict()
    if user_file:
        # the validated frame already marks defects with the card's label and holds the labels file's target
        for done in ("positive", "labels", "on"):
            kernel_options.pop(done, None)
    params = {"data_path": data_path, "n_trials": n_trials, "timeout_s": timeout_s, "device": device, "seed": seed,
              "tracking_uri": uri, "output_dir": str(out_dir), "column_map": column_map, "mlflow_run_id": run_id,
              "data_options": kernel_options or None}
    settings.anchor_relative_paths()  # the kernel starts in notebooks/
    kernel_env = {"WORKBENCH_PROGRESS_FILE": str(progress_file), "MLFLOW_TRACKING_URI": uri,
                  "WORKBENCH_REGISTER": "1" if register else "0",  # read by registry.register in the kernel
                  "WORKBENCH_REFIT": "1" if refit else "0",  # read by tracking.log_result in the kernel
                  "WORKBENCH_RETRAIN": "1" if retrain else "0",  # read by registry.register in the kernel
                  cluster.SCHEDULER_ENV: scheduler or "", cluster.WORKERS_ENV: str(workers or ""),  # tuning.tune
                  **({"WORKBENCH_LANG": lang} if lang else {})}  # plots name the card's columns in that language
    failure: list[BaseException] = []

    def execute():
        try:
            pm.execute_notebook(str(source), str(executed), parameters=params, cwd=str(source.parent),
                                kernel_name="python3", progress_bar=False, shutdown_kernel="immediate",
                                execution_timeout=cell_timeout_s, kernel_manager_class=kernel_manager_class())
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            failure.append(exc)

    with settings.environment(kernel_env):  # the kernel inherits them; this process gets its own back after
        worker = threading.Thread(target=execute, daemon=True)
        worker.start()
        _show_progress(worker, progress_file, card.id, n_trials, enabled=progress)
        worker.join()
    client = MlflowClient(uri)
    if executed.exists():
        client.log_artifact(run_id, str(executed), artifact_path="notebook")
        tracking.log_notebook_html(run_id, executed)  # MLflow shows an .ipynb as JSON; the HTML reads as a page
    if failure:
        client.set_terminated(run_id, "FAILED")
        exc = failure[0]
        if isinstance(exc, pm.PapermillExecutionError):
            raise NotebookError(source, _source_cell(executed, exc.cell_index), exc.ename, exc.evalue,
                                str(executed)) from None
        raise exc
    _log_report(run_id)
    client.set_terminated(run_id, "FINISHED")
    summary_file = out_dir / "metrics.json"
    summary = json.loads(summary_file.read_text()) if summary_file.exists() else {}
    mlflow.set_tracking_uri(uri)
    return RunOutcome(card_id=card.id, run_id=run_id, summary=summary, executed_notebook=executed,
                      seconds=time.perf_counter() - start)


def _log_report(run_id: str) -> None:
    """The run's one-page report (pipelines/model_report.py), once the notebook has registered (or compared)
    its model; a report that cannot be made is said, never failing the run."""
    import sys

    from .model_report import log_report

    try:
        log_report(run_id)
    except Exception as exc:  # noqa: BLE001 - the model stands without its page
        print(f"workbench: the run's report.html could not be made: {type(exc).__name__}: {exc}", file=sys.stderr)


def _source_cell(executed: Path, index: int) -> int:
    """The failing cell's index in the card's own notebook: papermill inserts an
    ``injected-parameters`` cell into the executed copy, which shifts later cells by one."""
    import nbformat

    try:
        cells = nbformat.read(executed, as_version=4).cells
    except (OSError, ValueError):
        return index
    injected = [i for i, c in enumerate(cells) if "injected-parameters" in c.get("metadata", {}).get("tags", [])]
    return index - 1 if injected and index > injected[0] else index


def _show_progress(worker: threading.Thread, progress_file: Path, card_id: str, n_trials: int, enabled: bool):
    """A trial progress bar fed by the kernel's progress file (the kernel has no terminal)."""
    if not enabled:
        return
    from tqdm import tqdm

    from .evaluation import objective_words

    try:  # what best= is: the cross-validated figure the study optimises
        best = objective_words(cards.load_card(card_id))
    except Exception:  # noqa: BLE001 - the bar still runs
        best = "CV score"
    seen = None
    with tqdm(total=n_trials, desc=f"{card_id}: tuning", unit="trial", dynamic_ncols=True) as bar:
        while worker.is_alive():
            worker.join(0.5)
            try:
                state = json.loads(progress_file.read_text())
            except (OSError, ValueError):
                continue
            if state == seen:
                continue
            seen = state
            bar.total = state["total"]
            bar.n = min(state["done"], state["total"])
            if state.get("best") is not None:
                bar.set_postfix_str(f"best {best} {state['best']:.4f}")
            bar.refresh()
