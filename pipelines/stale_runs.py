"""Runs left RUNNING by a process that was killed (``kill -9``, an out-of-memory kill, a power cut) are
found when any `workbench` command next starts and marked KILLED, so no run stays RUNNING for ever.
The Optuna trial such a process was running is marked FAIL; the trials it finished stay in the study,
so the next run resumes from them. A model version the run registered before it died (a kill between
registration and the run's end) is kept, tagged ``unfinished_run=true`` with the reason, and
`workbench models` shows it so: the model itself was logged whole and compared with the champion under
the registry's lock, but its run has no executed notebook or report, so a person decides what to do
with it (promote it by hand, or delete it). Deleting it here would throw away a model a server may
already answer with.

Every process that works on a run records itself on it (tag ``workbench.process``: host, pid and the
process's start time, which tells a reused pid apart). A run is dead when every process recorded on it
is gone from this host; a run recorded on another host, or by a version that recorded nothing, is left
alone (nothing here can tell whether it still works).

On the default SQLite store the look-up is one read-only query with the standard library (a few
milliseconds, no MLflow import); MLflow and Optuna are imported only when a dead run is found.
"""

from __future__ import annotations

import logging
import socket
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from . import settings

TAG = "workbench.process"  # the process that created the run (the runner) or started it (a notebook)
KERNEL_TAG = "workbench.process.kernel"  # the notebook kernel that works on a runner's run
REASON_TAG = "workbench.failed_because"
PENDING_TAG = "workbench.trials_pending"  # a dead run whose card had another live run: its trials wait
UNFINISHED_TAG, UNFINISHED_REASON_TAG = "unfinished_run", "unfinished_reason"  # on a dead run's model versions
DEAD = ("FAILED", "KILLED")  # what a dead run was marked (FAILED by the first version of this module)
log = logging.getLogger("pipelines.stale_runs")


@dataclass
class Dead:
    run_id: str
    card_id: str
    processes: list[str]
    trials_failed: int = 0
    versions: list[int] = field(default_factory=list)  # model versions it registered, now tagged unfinished


def process_tag() -> str:
    """This process, as recorded on a run: '<host> <pid> <start time>'."""
    me = psutil.Process()
    return f"{socket.gethostname()} {me.pid} {me.create_time():.2f}"


def alive(tag: str) -> bool | None:
    """Whether the process a tag names still runs; None when it ran on another host (or the tag is not
    one of ours)."""
    parts = tag.split()
    if len(parts) != 3 or parts[0] != socket.gethostname():
        return None
    try:
        proc = psutil.Process(int(parts[1]))
        return abs(proc.create_time() - float(parts[2])) < 1.0 and proc.status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
        return False  # AccessDenied: another user's process now holds the pid, so ours is gone


def running(uri: str) -> dict[str, dict] | None:
    """RUNNING runs with our process tags, and FAILED runs whose trials are still to be failed:
    {run_id: {"tags": [...], "card": id, "start": ms, "status": ...}}; None when the store is not a
    local SQLite file (the caller then asks MLflow)."""
    path = settings._sqlite_path(uri)
    if path is None:
        return None
    if not Path(path).exists():
        return {}
    try:
        with sqlite3.connect(f"{Path(path).as_uri()}?mode=ro", uri=True, timeout=5) as db:
            rows = db.execute(
                "SELECT r.run_uuid, r.status, r.start_time, t.key, t.value, "
                "(SELECT v.value FROM tags v WHERE v.run_uuid = r.run_uuid AND v.key = 'card.id') "
                "FROM runs r JOIN tags t ON t.run_uuid = r.run_uuid "
                "WHERE (r.status = 'RUNNING' AND t.key IN (?, ?)) OR (r.status IN (?, ?) AND t.key = ?)",
                (TAG, KERNEL_TAG, *DEAD, PENDING_TAG)).fetchall()
    except sqlite3.Error:  # a store MLflow has not made its tables in yet, or locked for long
        return {}
    found: dict[str, dict] = {}
    for run_id, status, start, key, value, card in rows:
        entry = found.setdefault(run_id, {"tags": [], "card": card or "", "start": start or 0, "status": status})
        if key != PENDING_TAG:
            entry["tags"].append(value)
    return found


def _running_from_mlflow() -> dict[str, dict]:
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    experiments = [e.experiment_id for e in client.search_experiments()]
    found: dict[str, dict] = {}
    for query in ("attributes.status = 'RUNNING'", f"tags.`{PENDING_TAG}` = '1'"):
        for run in client.search_runs(experiments, query, max_results=1000) if experiments else []:
            tags = [run.data.tags[k] for k in (TAG, KERNEL_TAG) if k in run.data.tags]
            if tags or run.info.status in DEAD:
                found[run.info.run_id] = {"tags": tags, "card": run.data.tags.get("card.id", ""),
                                          "start": run.info.start_time or 0, "status": run.info.status}
    return found


def recover(uri: str | None = None, optuna_storage: str | None = None) -> list[Dead]:
    """Mark the runs of dead processes KILLED (their RUNNING trials FAIL, their model versions unfinished);
    return what was marked.
    A card's running trials are failed only while no run of that card may still be working (a live
    run of it could own them); until then the failed run carries ``PENDING_TAG``."""
    uri = uri or settings.tracking_uri()
    candidates = running(uri)
    if candidates is None:
        from . import tracking

        tracking.configure(uri)
        candidates = _running_from_mlflow()
    if not candidates:
        return []
    states = {run_id: [alive(t) for t in info["tags"]] for run_id, info in candidates.items()
              if info["status"] == "RUNNING"}
    dead = [Dead(run_id, candidates[run_id]["card"], candidates[run_id]["tags"])
            for run_id, seen in states.items() if seen and all(s is False for s in seen)]
    busy = {candidates[r]["card"] for r, seen in states.items() if not (seen and all(s is False for s in seen))}
    pending = [r for r, info in candidates.items() if info["status"] in DEAD]
    idle = {candidates[r]["card"] for r in [*pending, *(d.run_id for d in dead)]} - busy - {""}
    if not dead and not idle:
        return []
    from mlflow.tracking import MlflowClient

    from . import tracking

    tracking.configure(uri)
    client = MlflowClient()
    for run in dead:
        pids = ", ".join(t.split()[1] for t in run.processes)
        reason = f"its process ({pids}) ended without finishing the run (killed?); marked KILLED by the next " \
                 f"workbench command"
        client.set_tag(run.run_id, REASON_TAG, reason)
        client.set_terminated(run.run_id, "KILLED")
        run.versions = _tag_versions(client, run.run_id, f"run {run.run_id} never finished: {reason}")
        if run.card_id in busy:
            client.set_tag(run.run_id, PENDING_TAG, "1")
    if idle:
        since = {card: min(candidates[r]["start"] for r in [*pending, *(d.run_id for d in dead)]
                           if candidates[r]["card"] == card) for card in idle}
        failed = _fail_trials(since, optuna_storage or settings.optuna_storage(uri))
        for run_id in pending:
            if candidates[run_id]["card"] in idle:
                client.delete_tag(run_id, PENDING_TAG)
        for run in dead:
            run.trials_failed, failed[run.card_id] = failed.get(run.card_id, 0), 0  # counted once per card
    return dead


def _tag_versions(client, run_id: str, reason: str) -> list[int]:
    """Tag the model versions a dead run registered; return their numbers."""
    tagged = []
    for mv in client.search_model_versions(f"run_id = '{run_id}'"):
        client.set_model_version_tag(mv.name, mv.version, UNFINISHED_TAG, "true")
        client.set_model_version_tag(mv.name, mv.version, UNFINISHED_REASON_TAG, reason)
        tagged.append(int(mv.version))
    return sorted(tagged)


def unfinished_versions(name: str | None = None) -> dict[tuple[str, int], str]:
    """{(registered model, version): reason} for versions a dead run registered (tagged by ``recover``)."""
    from mlflow.tracking import MlflowClient

    query = f"tags.{UNFINISHED_TAG} = 'true'" + (f" and name = '{name}'" if name else "")
    return {(mv.name, int(mv.version)): mv.tags.get(UNFINISHED_REASON_TAG, "")
            for mv in MlflowClient().search_model_versions(query)}


def _fail_trials(since_ms: dict[str, float], storage_url: str) -> dict[str, int]:
    """RUNNING trials of these cards' studies started after their dead runs began: FAIL."""
    path = settings._sqlite_path(storage_url)
    if path is not None and not Path(path).exists():
        return {}
    import optuna

    from .tuning import open_storage

    storage = open_storage(storage_url)
    failed: dict[str, int] = {}
    for study in storage.get_all_studies():
        card = next((c for c in since_ms if study.study_name.startswith(f"{c}-")), None)
        if card is None:
            continue
        for trial in storage.get_all_trials(study._study_id, deepcopy=False,
                                            states=(optuna.trial.TrialState.RUNNING,)):
            started = trial.datetime_start.timestamp() * 1000 if trial.datetime_start else 0
            if started >= since_ms[card] - 1000:
                storage.set_trial_system_attr(trial._trial_id, "fail_reason",
                                              "the process running it was gone (killed?)")
                storage.set_trial_state_values(trial._trial_id, optuna.trial.TrialState.FAIL)
                failed[card] = failed.get(card, 0) + 1
    return failed


def recover_quietly(command: str | None = None) -> list[Dead]:
    """``recover`` at a command's start, and the partial files of killed predicts deleted: never in the way
    of the command itself (a store that cannot be read now is looked at next time). A store that is not a
    local SQLite file is asked (through MLflow) only by the commands that use the store anyway."""
    uses_store = command in {"run", "validate", "models", "promote", "serve", "predict", "optimize", "ui"}
    try:
        from . import partials

        partials.sweep()
    except Exception:  # noqa: BLE001 - housekeeping, as below
        log.debug("looking for partial files of killed predicts failed", exc_info=True)
    try:
        uri = settings.tracking_uri()
        if settings._sqlite_path(uri) is None and not uses_store:
            return []
        return recover(uri)
    except Exception:  # noqa: BLE001 - housekeeping: a failure here must not stop the user's command
        log.debug("looking for runs of killed processes failed", exc_info=True)
        return []
