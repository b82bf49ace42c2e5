"""Optuna study per run: LightGBM and XGBoost search spaces, scored by cross-validation that respects
the card's split, with early stopping, pruning, a budget in trials and seconds, a seed, and storage
that lets an interrupted run resume the same study.

What measured runs taught (DESIGN.md section 12): the library defaults are enqueued as the first
trials so tuning can only add; trials are scored on CV folds, not one small slice; a study that has
stopped improving stops; the decision threshold is chosen on out-of-fold predictions.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
from dataclasses import dataclass, field

import numpy as np
import optuna
import pandas as pd
import psutil
from sklearn.metrics import f1_score

from . import alarms, boosters, cluster, devices, intervals, metrics, settings, splits
from .cards import Card
from .data import Dataset
from .model import FeatureFn, StandardModel

optuna.logging.set_verbosity(optuna.logging.WARNING)

DEFAULTS = {
    "lightgbm": {"learning_rate": 0.1, "num_leaves": 31, "min_child_samples": 20, "feature_fraction": 1.0,
                 "bagging_fraction": 1.0, "lambda_l1": 1e-8, "lambda_l2": 1e-8, "max_bin": 255},
    "xgboost": {"eta": 0.3, "max_depth": 6, "min_child_weight": 1.0, "subsample": 1.0,
                "colsample_bytree": 1.0, "lambda": 1.0, "alpha": 1e-8, "max_bin": 256},
}


# Strong starting points tried right after the defaults, before the sampler takes over. Chosen from the
# configurations FLAML learned offline over many datasets (flaml/default/*/*.json, MIT licence): a slow
# learning rate with many leaves for smooth physical targets, a small regularised tree for few rows.
PORTFOLIO = {
    "lightgbm": [
        {"learning_rate": 0.03, "num_leaves": 63, "min_child_samples": 5, "feature_fraction": 0.7,
         "bagging_fraction": 0.9, "lambda_l1": 1e-3, "lambda_l2": 0.1, "max_bin": 1023},
        {"learning_rate": 0.05, "num_leaves": 15, "min_child_samples": 15, "feature_fraction": 0.7,
         "bagging_fraction": 0.8, "lambda_l1": 1e-3, "lambda_l2": 10.0, "max_bin": 255},
    ],
    "xgboost": [
        {"eta": 0.03, "max_depth": 8, "min_child_weight": 1.0, "subsample": 0.9, "colsample_bytree": 0.7,
         "lambda": 1.0, "alpha": 1e-3, "max_bin": 1024},
    ],
}


def starting_points(models: list[str]) -> list[dict]:
    """The library defaults of every model first (tuning can only add to them), then the portfolio."""
    first = [{"model": kind, **DEFAULTS[kind]} for kind in models]
    return first + [{"model": kind, **config} for kind in models for config in PORTFOLIO[kind]]


def _enqueue_starting_points(study: optuna.Study, models: list[str], budget: int) -> None:
    """Queue the starting points the study has not tried or queued yet, no more than the trials this
    run may add (a rerun with a larger budget goes on down the list; none is left waiting)."""
    seen = [t.system_attrs.get("fixed_params") or t.params for t in study.trials]
    waiting = sum(t.state == optuna.trial.TrialState.WAITING for t in study.trials)
    for point in starting_points(models):
        if waiting >= budget:
            return
        if not any(_same_point(point, other) for other in seen):
            study.enqueue_trial(point)
            waiting += 1


def _same_point(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(np.isclose(a[k], b[k]) if isinstance(a[k], float) else a[k] == b[k]
                                        for k in a)


def search_space(trial: optuna.Trial, kind: str) -> dict:
    if kind == "lightgbm":
        return {
            "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
            "num_leaves": trial.suggest_int("num_leaves", 7, 255, log=True),
            "min_child_samples": trial.suggest_int("min_child_samples", 2, 200, log=True),
            "feature_fraction": trial.suggest_float("feature_fraction", 0.4, 1.0),
            "bagging_fraction": trial.suggest_float("bagging_fraction", 0.4, 1.0),
            "lambda_l1": trial.suggest_float("lambda_l1", 1e-8, 10.0, log=True),
            "lambda_l2": trial.suggest_float("lambda_l2", 1e-8, 10.0, log=True),
            # finer bins for smooth physical readings (CCPP: 255 -> 1023 bins, RMSE 3.00 -> 2.94)
            "max_bin": trial.suggest_int("max_bin", 63, 1023, log=True),
        }
    return {
        "eta": trial.suggest_float("eta", 0.01, 0.3, log=True),
        "max_depth": trial.suggest_int("max_depth", 2, 10),
        "min_child_weight": trial.suggest_float("min_child_weight", 0.5, 50.0, log=True),
        "subsample": trial.suggest_float("subsample", 0.5, 1.0),
        "colsample_bytree": trial.suggest_float("colsample_bytree", 0.4, 1.0),
        "lambda": trial.suggest_float("lambda", 1e-3, 10.0, log=True),
        "alpha": trial.suggest_float("alpha", 1e-8, 1.0, log=True),
        "max_bin": trial.suggest_int("max_bin", 63, 1024, log=True),
    }


# --- targets and the test set ----------------------------------------------------------------------

def is_positive(series: pd.Series, positive) -> np.ndarray:
    """Compare labels with the card's positive value whether they were read as text or numbers."""
    try:
        return (pd.to_numeric(series, errors="raise").to_numpy() == float(positive)).astype(int)
    except (ValueError, TypeError):
        return (series.astype(str).to_numpy() == str(positive)).astype(int)


def target_values(card: Card, frame: pd.DataFrame) -> pd.Series:
    """What the model learns per row (NaN where undefined: the last ``horizon`` rows of a forecast)."""
    y = frame[card.target.column]
    if card.task == "forecast":
        h = card.forecast.horizon
        return (y.groupby(frame[card.group.column]).shift(-h) if card.group else y.shift(-h)).astype(float)
    if card.task in ("binary", "anomaly"):
        return pd.Series(is_positive(y, card.target.positive), index=frame.index)
    if card.task == "multiclass":
        return y.map(lambda v: v if pd.isna(v) else str(v))
    return y.astype(float)


@dataclass
class TestSet:
    """Raw rows to predict on (with their history) and which of them are scored."""

    raw: pd.DataFrame
    rows: np.ndarray  # positions in ``raw`` that form the test split
    y: np.ndarray  # true targets at those positions
    scored: np.ndarray  # boolean mask over ``rows``: which count for the metrics (RUL: last cycle)

    def frame(self) -> pd.DataFrame:
        return self.raw.iloc[self.rows].reset_index(drop=True)


@dataclass
class TuneResult:
    card: Card
    model: StandardModel
    study: optuna.Study
    device: str
    seed: int
    cv: dict[str, float]
    y_train: np.ndarray
    oof: np.ndarray  # out-of-fold scores on the training rows (NaN where no fold covered a row)
    test: TestSet
    train_raw: pd.DataFrame
    data: Dataset
    new_trials: int
    seconds: float
    params: dict = field(default_factory=dict)
    cv_rounds: float | dict = 0.0  # boosting rounds early stopping found, averaged over the CV folds
    registered_rows: int | None = None  # rows the logged model was fitted on (set by tracking.log_result)
    folds: int = 0  # cross-validation folds the trials were scored on
    engine: str = "this process"  # where the trials ran: a Dask cluster with `run --scheduler/--workers`


def _last_per_group(frame: pd.DataFrame, column: str) -> np.ndarray:
    return (frame[column] != frame[column].shift(-1)).to_numpy()


def _enough_test_events(card: Card, data: Dataset, full: pd.DataFrame, y_full: pd.Series) -> Card:
    """The card, its time split's test period reaching further back when the latest rows hold too few
    positives (a note says so)."""
    if card.split.kind != "time" or card.task not in ("binary", "anomaly"):
        return card
    events = y_full.fillna(0).to_numpy()
    share = splits.test_share_for_events(card, full, events)
    if share == card.split.test_size:
        return card
    extended = card.model_copy(update={"split": card.split.model_copy(update={"test_size": share})})
    _, before = splits.train_test(card, full, 0)
    _, after = splits.train_test(extended, full, 0)
    data.notes.append(("test_extended", {"card_share": f"{card.split.test_size:.0%}", "share": f"{share:.0%}",
                                         "found": int(events[before].sum()), "count": int(events[after].sum()),
                                         "event": f"{card.target.column} = {card.target.positive}"}))
    return extended


TRUNCATIONS = 5  # cut points per test engine
FIRST_CUT = 0.2  # a cut keeps at least a fifth of the engine's life as history for the features
# NASA's FD001 test engines stop between 7 and 145 cycles before failure (mean 75): 1.16 x the usual
# clip of 125. Cuts are drawn where the true RUL is in that window, so the internal test asks what the
# official one asks; earlier cuts (RUL 250 of a long-lived engine) would score the clip, not the model.
CUT_WINDOW = 1.16


def _truncation_points(groups: pd.Series, y: np.ndarray, clip: float | None, seed: int) -> np.ndarray:
    """RUL test rows as NASA's protocol makes them: each test engine's record cut at random points (never
    only at its end, where the true RUL is 0 and any model looks good), within ``CUT_WINDOW`` x the
    card's clip of its failure when the card clips. The scored row is the last one before the cut; the
    features there see only the history before it."""
    rng = np.random.default_rng(seed)
    scored = np.zeros(len(groups), dtype=bool)
    for rows in pd.Series(np.arange(len(groups))).groupby(groups.to_numpy(), sort=False).indices.values():
        first = min(int(np.ceil(FIRST_CUT * len(rows))), len(rows) - 1)
        eligible = rows[first:]
        if clip is not None:
            near = eligible[y[eligible] <= CUT_WINDOW * clip]
            eligible = near if len(near) else eligible[-1:]
        scored[rng.choice(eligible, size=min(TRUNCATIONS, len(eligible)), replace=False)] = True
    return scored


def _test_set(card: Card, data: Dataset, y_full: pd.Series, test_rows: np.ndarray | None, seed: int = 0) -> TestSet:
    if data.test is not None:
        raw = data.test
        y = target_values(card, raw).to_numpy()
        rows = np.flatnonzero(~pd.isna(y))
    else:
        raw, y = data.frame, y_full.to_numpy()
        rows = test_rows[~pd.isna(y[test_rows])]
    y = y[rows]
    scored = np.ones(len(rows), dtype=bool)
    if card.task == "rul":
        groups = raw[card.group.column].iloc[rows].reset_index(drop=True)
        # a fixed test file is already cut (each engine's last row is its cut); run-to-failure rows are not
        scored = _last_per_group(raw.iloc[rows], card.group.column) if data.test is not None \
            else _truncation_points(groups, y, card.target.clip, seed)
    return TestSet(raw=raw, rows=rows, y=y, scored=scored)


# --- the study ---------------------------------------------------------------------------------------

def _objective_kind(card: Card) -> str:
    return _objective_kind_of(card.task)


def _objective_kind_of(task: str) -> str:
    return {"binary": "binary", "multiclass": "multiclass"}.get(task, "regression")


def _cv_score(card: Card, y_true: np.ndarray, pred: np.ndarray, classes: list) -> float:
    """The primary metric on one validation fold (anomaly: signal-normalised RMSE, unsupervised)."""
    metric = metrics.get(card.task, card.metric.primary)
    if not metrics.defined(card.task, card.metric.primary, y_true):
        return float("nan")  # left out of the fold average
    if card.task == "binary":
        return metric.fn(y_true, pred if metric.needs == "score" else (pred >= 0.5).astype(int))
    if card.task == "multiclass":
        return metric.fn(y_true, pred.argmax(axis=1))
    return metric.fn(y_true, pred)


def run_trials(study: optuna.Study, objective, n_trials: int, timeout_s: float | None, callbacks: list) -> None:
    """``study.optimize``, going on when another process finished a queued trial this one had also taken:
    SQLite has no row locks, so two runs starting together can pop the same waiting trial, and the
    second to finish it is told it is already complete. The budget callbacks keep the total."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while True:
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            return
        before = len(study.trials)
        try:
            study.optimize(objective, n_trials=n_trials, timeout=left, gc_after_trial=False, callbacks=callbacks)
            return
        except ValueError as exc:
            if not str(exc).startswith("Cannot tell a "):  # finished (or failed as stale) by another process
                raise
        n_trials -= max(1, len(study.trials) - before)
        if n_trials <= 0:
            return


def _fold_average(values: list[float]) -> float:
    """The mean over the folds where the metric is defined (NaN when it is defined on none)."""
    finite = [v for v in values if np.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")


def _study_direction(card: Card) -> str:
    if card.task == "anomaly":
        return "minimize"
    return "maximize" if card.higher_is_better else "minimize"


class _Stagnation:
    """Stop the study after ``patience`` finished trials without a new best."""

    def __init__(self, patience: int):
        self.patience = patience

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
        if len(done) <= self.patience:
            return
        best = study.best_trial.number
        if sum(1 for t in done if t.number > best) >= self.patience:
            study.stop()


def worker_id() -> str:
    """host:pid of the process running a trial (a Dask worker's own, where the trials are spread)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def sampler(seed: int) -> optuna.samplers.BaseSampler:
    return optuna.samplers.TPESampler(seed=seed, multivariate=True)


_FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)


_ACTIVE = (optuna.trial.TrialState.RUNNING, optuna.trial.TrialState.WAITING)


def _open_study(name: str, storage, direction: str, trial_sampler) -> tuple[optuna.Study, bool]:
    """The study, and whether this process made it (the storage's unique study name decides, so of
    runs started together exactly one learns it made the study)."""
    storage = optuna.storages.get_storage(storage)
    try:
        storage.create_new_study([optuna.study.StudyDirection[direction.upper()]], name)
        made_here = True
    except optuna.exceptions.DuplicatedStudyError:
        made_here = False
    study = optuna.load_study(study_name=name, storage=storage, sampler=trial_sampler,
                              pruner=optuna.pruners.MedianPruner(n_startup_trials=4))
    return study, made_here


def _running_elsewhere(study: optuna.Study) -> int:
    """Trials running now in live processes (a trial of a process killed on this host is not running;
    one on another host is taken to be)."""
    host = socket.gethostname()
    count = 0
    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        where, _, pid = str(trial.user_attrs.get("worker", "")).rpartition(":")
        if where == host and pid.isdigit() and not psutil.pid_exists(int(pid)):
            continue
        count += 1
    return count


class _Budget:
    """Stop when the study's finished trials plus those other processes are running reach its total: a
    run side by side with others starts no trial the budget has no room for (Optuna's MaxTrialsCallback
    counts finished trials only, so each process would start one more). Processes that check at the same
    instant, between one trial and the next, do not see each other's next trial: each of them but one may
    start one more, so N runs side by side end at most N - 1 trials over."""

    def __init__(self, total: int):
        self.total = total

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if len(study.get_trials(deepcopy=False, states=_FINISHED)) + _running_elsewhere(study) >= self.total:
            study.stop()


class _Progress:
    """Write trial progress to a small JSON file the runner shows as a progress bar."""

    def __init__(self, path: str | None, total: int):
        self.path, self.total = path, total

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if not self.path:
            return
        finished = sum(1 for t in study.trials if t.state.is_finished())
        try:
            best = study.best_value
        except ValueError:
            best = None
        tmp = f"{self.path}.tmp"
        with open(tmp, "w") as fh:
            json.dump({"done": finished, "total": self.total, "best": best}, fh)
        os.replace(tmp, self.path)


HEARTBEAT_S = 60.0  # a running trial records that it lives this often (stale after 5 missed beats)


def open_storage(url: str | None = None, attempts: int = 6, heartbeat_s: float | None = None) -> optuna.storages.RDBStorage:
    """Optuna's storage (default: ``settings.optuna_storage()``). Two runs that start together on a new
    store (``validate --workers 2``) both try to create its tables and one fails on the other's version
    row; that one waits and opens the tables the other made.

    Trials beat every ``heartbeat_s`` (default ``HEARTBEAT_S``); a RUNNING trial silent for five beats
    belonged to a process that died (on this host or another, where pipelines/stale_runs.py cannot
    look): the next trial any process starts on the study marks it FAIL and queues its parameters once
    more (Optuna's RetryHeartbeatStaleTrialCallback), so the budget of finished trials is still met."""
    import warnings

    import sqlalchemy.exc

    url = url or settings.optuna_storage()
    if url.startswith("sqlite"):
        kwargs = {"connect_args": {"timeout": 60}}  # wait on a busy file
    else:  # a server many workers share: a small pool each (N workers x pool stay under max_connections),
        # and a connection the server or a firewall dropped is tested and replaced, not failed on
        kwargs = {"pool_size": 2, "max_overflow": 4, "pool_pre_ping": True, "pool_recycle": 1800}
    beat = max(1, round(heartbeat_s or HEARTBEAT_S))
    # an in-memory SQLite study lives in one process (and its heartbeat thread would open an empty
    # database of its own): no heartbeat there
    with warnings.catch_warnings():  # the retry callback is marked experimental as well: a red line per notebook
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        heart = {} if url in ("sqlite://", "sqlite:///:memory:") else dict(
            heartbeat_interval=beat, grace_period=5 * beat,
            heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=1))
    for attempt in range(attempts):
        try:
            with warnings.catch_warnings():  # heartbeats are marked experimental; their contract is what we use
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return optuna.storages.RDBStorage(url, engine_kwargs=kwargs, **heart)
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.OperationalError):
            if attempt == attempts - 1:
                raise
            time.sleep(0.5 * (attempt + 1))
    raise AssertionError("unreachable")


def study_name(card: Card, data: Dataset, feature_names: list[str]) -> str:
    design = hashlib.sha256(json.dumps([card.version, card.models, feature_names]).encode()).hexdigest()
    return f"{card.id}-{data.sha256[:10]}-{design[:6]}"


def tune(card: Card, data: Dataset, features: FeatureFn | None = None, n_trials: int = 20,
         timeout_s: float | None = None, device: str = "auto", seed: int = 42,
         storage: str | optuna.storages.BaseStorage | None = None, patience: int | None = None) -> TuneResult:
    """Tune, refit and return the model for ``card`` on ``data``; the test split is never touched."""
    start = time.perf_counter()
    card = data.card or card  # the card as the file allows it: the split it fell back to, the signals present
    device = devices.resolve(device)
    full = features(data.frame.copy()) if features else data.frame.copy()
    y_full = target_values(card, full)
    if data.test is None:
        card = _enough_test_events(card, data, full, y_full)
        train_rows, test_rows = splits.train_test(card, full, seed)
    else:
        train_rows, test_rows = np.arange(len(full)), None
    train_rows = train_rows[~pd.isna(y_full.to_numpy()[train_rows])]
    train = full.iloc[train_rows].reset_index(drop=True)
    y_raw = y_full.iloc[train_rows].reset_index(drop=True)
    if card.task == "rul" and card.target.clip is not None:
        y_raw = y_raw.clip(upper=card.target.clip)

    # A forecast learns the NEXT value, so the current value of the target is a fair input.
    special = set(card.exclude) | ({card.target.column} if card.task != "forecast" else set())
    special |= {c for c in (card.time.column if card.time else None, card.group.column if card.group else None) if c}
    feature_names = [c for c in train.columns if c not in special]
    categories = {c: sorted(train[c].dropna().astype(str).unique().tolist())
                  for c in feature_names if not pd.api.types.is_numeric_dtype(train[c])}
    classes: list = []
    if card.task == "multiclass":
        classes = sorted(y_raw.dropna().unique().tolist())
        y = y_raw.map({c: i for i, c in enumerate(classes)}).to_numpy()
    else:
        y = y_raw.to_numpy(dtype=float)
    if card.task == "binary":
        values = data.frame[card.target.column]
        pos = is_positive(values, card.target.positive)
        negative = values[pos == 0].iloc[0] if (pos == 0).any() else "0"
        # a file that wrote its own words (고장 / 정상) read in the card's: predictions answer in the file's
        classes = list((data.facts or {}).get("labels") or [negative, card.target.positive])

    model = StandardModel(card_id=card.id, card_version=card.version, task=card.task, target=card.target.column,
                          # excluded columns leak the target: a served model must not ask for them
                          input_columns=[c for c in data.frame.columns if c not in card.exclude
                                         and (c != card.target.column or card.task == "forecast")],
                          feature_names=feature_names, categories=categories, kind=card.models[0],
                          boosters={}, features=features, classes=classes,
                          date_orders=dict((data.facts or {}).get("date_orders") or {}))
    signals = card.anomaly.signals if card.anomaly else []
    if signals:
        model.signal_features = {s: [f for f in feature_names if f not in signals
                                     and not any(f.startswith(f"{x}_") and "_lag" not in f for x in signals)]
                                 for s in signals}
    fold_list = splits.folds(card, train, seed, y=y if card.is_classifier else None)
    weights = splits.recency_weights(card, train)  # None unless the card weighs recent rows more
    objective_kind = _objective_kind(card)
    n_classes = len(classes) if card.task == "multiclass" else 0

    def fit_predict(kind, params, tr, va, rounds=None):
        """Fit on rows ``tr`` and predict rows ``va``; anomaly fits one regressor per signal on
        normal rows. Returns ``(prediction, rounds_used)`` or, for anomaly, per-signal dicts."""
        if not signals:
            X_tr, X_va = model.design(train.iloc[tr]), model.design(train.iloc[va])
            booster, used = boosters.fit(kind, objective_kind, params, X_tr, y[tr], X_va, y[va],
                                         n_classes=n_classes, device=device, seed=seed,
                                         weight=None if weights is None else weights[tr])
            return boosters.predict(kind, booster, X_va), used
        normal_tr = tr[y[tr] == 0]
        preds, used = {}, {}
        for s in signals:
            names = model.signal_features[s]
            keep_tr = normal_tr[train[s].iloc[normal_tr].notna().to_numpy()]
            keep_va = va[(train[s].iloc[va].notna().to_numpy()) & (y[va] == 0)]
            X_tr, X_va = model.design(train.iloc[keep_tr], names), model.design(train.iloc[keep_va], names)
            booster, used[s] = boosters.fit(kind, "regression", params, X_tr, train[s].iloc[keep_tr].to_numpy(),
                                            X_va, train[s].iloc[keep_va].to_numpy(), device=device, seed=seed)
            preds[s] = (boosters.predict(kind, booster, model.design(train.iloc[va], names)), keep_va)
        return preds, used

    def fold_value(pred, va):
        if not signals:
            return _cv_score(card, y[va], pred, classes)
        errors = []
        for s, (p, keep_va) in pred.items():
            truth = train[s].iloc[va].to_numpy()
            mask = np.isin(va, keep_va)
            scale = np.nanstd(train[s].to_numpy()) or 1.0
            errors.append(np.sqrt(np.mean((truth[mask] - p[mask]) ** 2)) / scale)
        return float(np.mean(errors))

    def objective(trial: optuna.Trial) -> float:
        # who runs it (called, not a global: on a Dask worker it names the worker): a trial of a dead
        # process is not counted as running
        trial.set_user_attr("worker", worker_id())
        kind = trial.suggest_categorical("model", card.models)
        params = search_space(trial, kind)
        values, rounds = [], []
        for step, (tr, va) in enumerate(fold_list):
            pred, used = fit_predict(kind, params, tr, va)
            values.append(fold_value(pred, va))
            rounds.append(used)
            if np.isfinite(_fold_average(values)):
                trial.report(_fold_average(values), step)
                if trial.should_prune():
                    raise optuna.TrialPruned()
        trial.set_user_attr("rounds", rounds)
        average = _fold_average(values)
        return average if np.isfinite(average) else 0.0  # no fold held a positive: every trial ties

    name = study_name(card, data, feature_names)
    # a URL (default: beside the MLflow store), or a storage object a benchmark made (in memory)
    storage_url = (storage or settings.optuna_storage()) if storage is None or isinstance(storage, str) else None
    study, made_here = _open_study(name, open_storage(storage_url) if storage_url else storage,
                                   _study_direction(card), sampler(seed))
    # Another run is at work on this study when it made the study a moment ago (no trial yet) or has
    # trials queued or running. Optuna's skip_if_exists is no guard against runs queueing at the same
    # instant, so the starting points are queued by one run only, and the same seed would propose the
    # very trials the other run proposes.
    joined = not made_here and (not study.trials or bool(study.get_trials(deepcopy=False, states=_ACTIVE)))
    if joined:
        study.sampler = sampler(seed + os.getpid())
    finished = [t for t in study.trials if t.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)]
    remaining = max(0, n_trials - len(finished) - _running_elsewhere(study))
    if not joined:
        _enqueue_starting_points(study, card.models, remaining)
    before = len(finished)
    engine = "this process"
    if remaining:
        callbacks = [_Stagnation(patience or max(10, n_trials // 2)),
                     _Budget(n_trials)]  # the study's total, not this process's share
        progress = _Progress(os.environ.get("WORKBENCH_PROGRESS_FILE"), n_trials)
        where = cluster.requested()
        if where and storage_url:  # `run --scheduler/--workers`: the trials go to Dask workers; the rest stays here
            engine = cluster.spread_trials(study, objective, remaining, timeout_s, callbacks, progress,
                                           lambda i: sampler(seed + 1 + i), storage_url, *where)
            print(f"workbench: {remaining} trials spread over {engine}")
        else:
            run_trials(study, objective, remaining, timeout_s, callbacks=[*callbacks, progress])
    completed = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not completed:
        raise RuntimeError(f"study {name} finished no trial within the budget: raise --trials or --timeout")
    best = study.best_trial
    kind = best.params["model"]
    params = {k: v for k, v in best.params.items() if k != "model"}
    model.kind = kind

    # Out-of-fold predictions with the best parameters: CV figures and the decision threshold.
    oof = np.full(len(train), np.nan) if card.task != "multiclass" else np.full((len(train), n_classes), np.nan)
    rounds, values = [], []
    if signals:
        residuals = {s: np.full(len(train), np.nan) for s in signals}
    for tr, va in fold_list:
        pred, used = fit_predict(kind, params, tr, va)
        values.append(fold_value(pred, va))
        rounds.append(used)
        if signals:
            for s, (p, _) in pred.items():
                residuals[s][va] = train[s].iloc[va].to_numpy() - p
        else:
            oof[va] = pred
    cv = {f"cv_{'normalised_rmse' if signals else card.metric.primary}": _fold_average(values)}

    # Final fit on every training row, rounds from CV (a little more for the extra data).
    cv_rounds = ({s: float(np.mean([r[s] for r in rounds])) for s in signals} if signals
                 else float(np.mean(rounds)))
    fit_final(model, train, y, cv_rounds, params, device=device, seed=seed, weight=weights)
    model.rows_fit = len(train)
    if signals:
        normal = np.flatnonzero(y == 0)
        for s in signals:
            model.residual_scale[s] = float(np.nanstd(residuals[s][normal])) or 1.0
        z = np.column_stack([residuals[s] / model.residual_scale[s] for s in signals])
        with np.errstate(all="ignore"):
            oof = np.sqrt(np.nanmean(z ** 2, axis=1))
    if card.task in ("binary", "anomaly"):
        covered = ~np.isnan(oof)
        if card.costs is not None and y[covered].sum() > 0:  # the plant's prices decide when to alarm
            model.threshold = alarms.choose(y, oof, card.costs)
            cv["cv_expected_cost"] = float(alarms.curve(y, oof, card.costs).per_row.min())
        else:
            model.threshold = choose_threshold(y, oof)
        f1 = f1_score(y[covered], (oof[covered] >= model.threshold).astype(int), zero_division=0)
        cv["cv_f1"] = float(f1)
        if card.task == "anomaly" and len(np.unique(y[covered])) > 1:
            cv[f"cv_{card.metric.primary}"] = metrics.get(card.task, card.metric.primary).fn(
                y[covered], oof[covered] if metrics.get(card.task, card.metric.primary).needs == "score"
                else (oof[covered] >= model.threshold).astype(int))

    if card.task in ("regression", "rul", "forecast"):
        model.conformal = intervals.calibrate(y, oof, seed)
    test = _test_set(card, data, y_full, test_rows, seed)
    return TuneResult(card=card, model=model, study=study, device=device, seed=seed, cv=cv, y_train=y, oof=oof,
                      test=test, train_raw=data.frame.iloc[train_rows].reset_index(drop=True), data=data,
                      new_trials=sum(t.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
                                     for t in study.trials) - before,
                      seconds=time.perf_counter() - start, params={"model": kind, **params},
                      cv_rounds=cv_rounds, folds=len(fold_list), engine=engine)


ROUNDS_MORE = 1.1  # the final fit sees more rows than a CV fold: a little more boosting than early stopping found


def fit_final(model: StandardModel, frame: pd.DataFrame, y: np.ndarray, cv_rounds, params: dict,
              device: str, seed: int, more: float = ROUNDS_MORE, weight: np.ndarray | None = None) -> None:
    """Fit ``model``'s boosters on every row of ``frame`` (featurized) with the rounds CV found, times
    ``more`` (``weight``: per row, see splits.recency_weights); an anomaly model fits one regressor per
    signal on its normal rows."""
    signals = list(model.signal_features)
    if not signals:
        n_classes = len(model.classes) if model.task == "multiclass" else 0
        model.boosters["target"], _ = boosters.fit(model.kind, _objective_kind_of(model.task), params,
                                                   model.design(frame), y, n_classes=n_classes, device=device,
                                                   seed=seed, rounds=max(10, int(cv_rounds * more)), weight=weight)
        return
    normal = np.flatnonzero(y == 0)
    for s in signals:
        keep = normal[frame[s].iloc[normal].notna().to_numpy()]
        model.boosters[s], _ = boosters.fit(model.kind, "regression", params,
                                            model.design(frame.iloc[keep], model.signal_features[s]),
                                            frame[s].iloc[keep].to_numpy(), device=device, seed=seed,
                                            rounds=max(10, int(cv_rounds[s] * more)))


def refit(result: TuneResult) -> StandardModel:
    """The chosen configuration fitted again on every supplied row (train and test): the model to
    register, once the test rows have given their one honest score to ``result.model``. Rounds grow
    with the square root of the extra rows (early stopping found them on a CV fold's rows)."""
    import copy

    card, held = result.card, result.model
    parts = [result.data.frame] + ([result.data.test] if result.data.test is not None else [])
    frames = [held.features(p.copy()) if held.features else p.copy() for p in parts]  # history per part
    y_all = pd.concat([target_values(card, f) for f in frames], ignore_index=True)
    frame = pd.concat(frames, ignore_index=True)
    if card.task == "rul" and card.target.clip is not None:
        y_all = y_all.clip(upper=card.target.clip)
    if card.task == "multiclass":
        y_all = y_all.map({c: i for i, c in enumerate(held.classes)})  # a class training never saw: left out
    keep = y_all.notna().to_numpy()
    frame, y = frame[keep].reset_index(drop=True), y_all[keep].to_numpy(dtype=float)
    model = copy.copy(held)
    model.boosters = {}
    more = ROUNDS_MORE * float(np.sqrt(len(frame) / max(len(result.y_train), 1)))
    fit_final(model, frame, y, result.cv_rounds, {k: v for k, v in result.params.items() if k != "model"},
              device=result.device, seed=result.seed, more=more, weight=splits.recency_weights(card, frame))
    model.rows_fit = len(frame)
    return model


def choose_threshold(y: np.ndarray, scores: np.ndarray) -> float:
    """The score cut that maximises F1 on out-of-fold predictions (never on the test split)."""
    covered = ~np.isnan(scores)
    y, scores = y[covered], scores[covered]
    if y.sum() == 0:
        return float(np.quantile(scores, 0.995))
    order = np.argsort(-scores)
    ranked, truth = scores[order], y[order]
    tp = np.cumsum(truth)
    precision = tp / np.arange(1, len(truth) + 1)
    recall = tp / truth.sum()
    f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall + 1e-12), 0)
    i = int(np.argmax(f1))
    return float(ranked[i])
