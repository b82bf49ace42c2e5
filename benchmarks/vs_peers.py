"""The standard models against their peers on public datasets, in one run on one machine.

For each of seven public datasets (from ``WORKBENCH_DATA_DIR``, e.g. ../shared/datasets) the rows are
split once, in a fixed and documented way (below, ``SPLITS``), into TRAIN and TEST files. Then, at the
same wall budget:

- the project: ``workbench run CARD --data train.csv --timeout BUDGET`` (its notebook, features, tuning,
  refit and registration as a user gets them), scored by ``workbench predict CARD test.csv``;
- LightGBM with its default parameters on the card's raw columns;
- FLAML's AutoML with ``time_budget=BUDGET`` on the same raw columns (FLAML is only in this benchmark's
  own requirements, benchmarks/requirements.txt, never in the product).

    pip install -r benchmarks/requirements.txt
    WORKBENCH_DATA_DIR=../shared/datasets python benchmarks/vs_peers.py --budget 60

Writes benchmarks/results/vs_peers.md with the figures, the machine and the date, and the project's lead
over each peer with a paired bootstrap 90 % interval over the TEST rows: a lead whose interval holds 0
is within the luck of those rows (KAMP's TEST part holds 9 defects).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from pipelines import cards, metrics, sources
from pipelines.mapping import map_columns
from pipelines.tuning import target_values

ROOT = Path(__file__).resolve().parent.parent
SITE = "benchmark"  # the data line the TRAIN files register under (<card>.benchmark)
WORKBENCH = str(Path(sys.executable).parent / "workbench")  # the command a user types, from this environment


@dataclass
class Scored:
    y: np.ndarray  # the TEST truths, as the metric reads them
    values: np.ndarray  # the contestant's predictions (or probabilities) of those rows

    def score(self, card) -> float:
        return metrics.get(card.task, card.metric.primary).fn(self.y, self.values)


@dataclass
class Split:
    card: str
    dataset: str
    how: str  # written into the results
    make: Callable[[pd.DataFrame, pd.DataFrame | None], tuple[pd.DataFrame, pd.DataFrame]]


def _latest(column: str, share: float):
    def make(frame, _test):
        ordered = frame.sort_values(column, kind="stable").reset_index(drop=True)
        cut = int(round(len(ordered) * (1 - share)))
        return ordered.iloc[:cut], ordered.iloc[cut:]
    return make


def _random(share: float, stratify: str | None = None):
    def make(frame, _test):
        from sklearn.model_selection import train_test_split

        train, test = train_test_split(frame, test_size=share, random_state=0,
                                       stratify=frame[stratify] if stratify else None)
        return train, test
    return make


def _years(last_train_year: int):
    def make(frame, _test):
        return frame[frame["year"] <= last_train_year], frame[frame["year"] > last_train_year]
    return make


def _official(frame, test):
    return frame, test


SPLITS = [
    Split("machine-failure", "ai4i2020", "time: the last 25 % by UDI (production order)", _latest("UDI", 0.25)),
    Split("steel-plate-fault-type", "steel_plates_faults", "stratified random 25 %, seed 0", _random(0.25, "Fault")),
    Split("injection-molding-quality", "kamp_injection_molding", "time: the last 25 % by TimeStamp",
          _latest("TimeStamp", 0.25)),
    Split("turbofan-rul", "cmapss", "official: train_FD001 / the 100 test_FD001 units, RUL at their last cycle",
          _official),
    Split("power-plant-output", "ccpp", "random 25 %, seed 0", _random(0.25)),
    Split("gas-turbine-emissions", "gas_turbine_emissions", "time: train 2011-2013, test 2014-2015", _years(2013)),
    Split("steel-plant-energy", "steel_energy", "time: the last 25 % by date", _latest("date", 0.25)),
]


# --- scoring ----------------------------------------------------------------------------------------

def truth_and_rows(card, test: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """What each scored TEST row should be predicted as, and which rows are scored (positions)."""
    y = target_values(card, test.reset_index(drop=True))
    if card.task == "rul":  # the official protocol: each test engine's last cycle
        last = (test[card.group.column] != test[card.group.column].shift(-1)).to_numpy()
        rows = np.flatnonzero(last)
    else:
        rows = np.flatnonzero(y.notna().to_numpy())
    return y.to_numpy()[rows], rows


def scored(card, y: np.ndarray, prediction: np.ndarray, probability: np.ndarray | None) -> Scored:
    """What the card's metric reads of a contestant's answer: probabilities for AP, labels for accuracy."""
    metric = metrics.get(card.task, card.metric.primary)
    if card.task == "binary":
        return Scored(y.astype(int), probability if metric.needs == "score" else prediction)
    if card.task == "multiclass":
        return Scored(y.astype(str), np.asarray(prediction).astype(str))
    return Scored(y.astype(float), np.asarray(prediction, dtype=float))


def versus(card, ours: Scored, peer: Scored, block: int = 1) -> str:
    """The project's lead over a peer with its paired bootstrap 90 % interval, and whether the TEST rows
    can tell the two apart (the interval of the difference excludes 0). ``block``: TEST rows in time
    order, drawn in runs of that many (metrics.block_length), as the product does for a time split."""
    metric = metrics.get(card.task, card.metric.primary)
    lead = ours.score(card) - peer.score(card)
    low, high = metrics.paired_interval(metric, ours.y, ours.values, peer.values, block=block)
    sign = 1 if metric.higher_is_better else -1  # a lead is positive when the project is better
    lead, low, high = sign * lead + 0.0, *sorted((sign * low + 0.0, sign * high + 0.0))  # + 0.0: no -0.0000
    verdict = "better" if low > 0 else "worse" if high < 0 else "within noise"
    return f"{lead:+.4f} [{low:+.4f}, {high:+.4f}] {verdict}"


def project(card, train_file: Path, test_file: Path, test: pd.DataFrame, budget: float, work: Path,
            refit: bool) -> tuple[Scored, float, float]:
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{work / 'mlflow.db'}",
           "WORKBENCH_OPTUNA_STORAGE": f"sqlite:///{work / 'optuna.db'}"}
    start = time.perf_counter()
    run = [WORKBENCH, "run", card.id, "--data", str(train_file), "--site", SITE, "--timeout",
           str(budget), "--trials", "100000", "--quiet", "--output-dir", str(work / "run"),
           *([] if refit else ["--no-refit"])]
    _command(run, env)
    seconds = time.perf_counter() - start
    summary = json.loads((work / "run" / "metrics.json").read_text())
    internal = summary["metrics"][f"test_{card.metric.primary}"]
    out = work / "scored.csv"
    # the version this run registered, champion or not (a plant file registers under CARD.SITE)
    _command([WORKBENCH, "predict", card.id, "--site", SITE, "--version", str(summary["decision"]["version"]),
              "--input", str(test_file), "--output", str(out)], env)
    answers = pd.read_csv(out, encoding="utf-8-sig").set_index("input_row").sort_index()
    y, rows = truth_and_rows(card, test)
    found = answers.reindex(rows + 1)  # input_row counts the file's rows from 1
    probability = found["probability"].to_numpy() if "probability" in found else None
    return scored(card, y, found["prediction"].to_numpy(), probability), seconds, internal


def _command(args: list[str], env: dict) -> None:
    done = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{' '.join(args[:3])} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")


def _raw_matrix(card, frame: pd.DataFrame) -> pd.DataFrame:
    """The card's raw input columns as a peer gets them: no ids, no clock, categories as categories."""
    drop = {card.target.column} if card.task != "forecast" else set()
    drop |= set(card.exclude) | {c for c in (card.time.column if card.time else None,
                                             card.group.column if card.group else None) if c}
    X = frame[[c for c in card.input_columns + [card.target.column] if c in frame.columns and c not in drop]].copy()
    for col in X.columns:
        if not pd.api.types.is_numeric_dtype(X[col]):
            X[col] = X[col].astype("category")
    return X.reset_index(drop=True)


def _peer_data(card, train: pd.DataFrame, test: pd.DataFrame):
    y_train = target_values(card, train.reset_index(drop=True))
    keep = y_train.notna().to_numpy()
    X_train, y_train = _raw_matrix(card, train)[keep], y_train[keep].to_numpy()
    if card.task == "rul" and card.target.clip is not None:
        y_train = np.minimum(y_train, card.target.clip)  # the usual piecewise-linear target, for peers too
    X_test = _raw_matrix(card, test)
    for col in X_train.columns:
        if isinstance(X_train[col].dtype, pd.CategoricalDtype):
            X_test[col] = pd.Categorical(X_test[col], categories=X_train[col].cat.categories)
    return X_train, y_train, X_test


def _classification(card) -> bool:
    return card.task in ("binary", "multiclass")


def lightgbm_defaults(card, train, test) -> Scored:
    import lightgbm as lgb

    X_train, y_train, X_test = _peer_data(card, train, test)
    y, rows = truth_and_rows(card, test)
    if _classification(card):
        model = lgb.LGBMClassifier(random_state=0, verbose=-1).fit(X_train, y_train.astype(str))
        probability = model.predict_proba(X_test.iloc[rows])
        prediction = model.predict(X_test.iloc[rows])
        if card.task == "binary":
            positive = list(model.classes_).index("1")  # target_values: 1 marks the card's positive label
            return scored(card, y, (prediction == model.classes_[positive]).astype(int), probability[:, positive])
        return scored(card, y, prediction, None)
    model = lgb.LGBMRegressor(random_state=0, verbose=-1).fit(X_train, y_train)
    return scored(card, y, np.clip(model.predict(X_test.iloc[rows]), 0, None) if card.task == "rul"
                  else model.predict(X_test.iloc[rows]), None)


def flaml_automl(card, train, test, budget: float) -> Scored:
    from flaml import AutoML

    X_train, y_train, X_test = _peer_data(card, train, test)
    y, rows = truth_and_rows(card, test)
    automl = AutoML()
    metric = {"average_precision": "ap", "accuracy": "accuracy", "rmse": "rmse"}[card.metric.primary]
    if _classification(card):
        labels = y_train.astype(int) if card.task == "binary" else y_train.astype(str)
        automl.fit(X_train, labels, task="classification", time_budget=budget, metric=metric, seed=0, verbose=0)
        if card.task == "binary":
            probability = automl.predict_proba(X_test.iloc[rows])[:, 1]
            return scored(card, y, (probability >= 0.5).astype(int), probability)
        return scored(card, y, automl.predict(X_test.iloc[rows]), None)
    automl.fit(X_train, y_train, task="regression", time_budget=budget, metric=metric, seed=0, verbose=0)
    prediction = automl.predict(X_test.iloc[rows])
    return scored(card, y, np.clip(prediction, 0, None) if card.task == "rul" else prediction, None)


# --- the run ----------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=60.0, help="seconds of tuning per contestant and dataset")
    parser.add_argument("--only", nargs="*", help="card ids (default: all seven)")
    parser.add_argument("--no-refit-too", action="store_true", help="also run the project with --no-refit")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "vs_peers.md")
    args = parser.parse_args()
    rows, leads = [], []
    for split in SPLITS:
        if args.only and split.card not in args.only:
            continue
        card = cards.load_card(split.card)
        if not sources.available(split.dataset):
            print(f"skipped {split.card}: {split.dataset} is not in {os.environ.get('WORKBENCH_DATA_DIR')}")
            continue
        frame, official_test = sources.load(split.dataset)
        train, test = split.make(frame, official_test)
        with tempfile.TemporaryDirectory(prefix=f"vs-peers-{card.id}-") as tmp:
            work = Path(tmp)
            train_file, test_file = work / "train.csv", work / "test.csv"
            train.to_csv(train_file, index=False)
            test.to_csv(test_file, index=False)
            # as predict reads it (its rows, its order), with the card's column names for scoring and peers:
            # the files keep the dataset's own headers, as a user's would
            test = map_columns(pd.read_csv(test_file), card, None, test_file)
            train = map_columns(train.reset_index(drop=True), card, None, train_file)
            ours, seconds, internal = project(card, train_file, test_file, test, args.budget, work, refit=True)
            no_refit = ""
            if args.no_refit_too:
                (work / "mlflow.db").unlink()
                (work / "optuna.db").unlink()
                no_refit = f"{project(card, train_file, test_file, test, args.budget, work, refit=False)[0].score(card):.4f}"
        default = lightgbm_defaults(card, train, test)
        automl = flaml_automl(card, train, test, args.budget)
        arrow = "higher" if card.higher_is_better else "lower"
        tested = f"{len(ours.y)}" + (f" ({int(np.sum(ours.y == 1))} positive)" if card.task == "binary" else "")
        rows.append(f"| {card.id} | {split.dataset} | {card.metric.primary} ({arrow} better) | {len(train)} / "
                    f"{tested} | **{ours.score(card):.4f}** ({seconds:.0f} s) | {internal:.4f} | "
                    f"{no_refit} | {default.score(card):.4f} | {automl.score(card):.4f} |")
        # the time splits' TEST files hold their rows in time order: drawn in runs of neighbouring rows
        block = metrics.block_length(len(ours.y)) if split.how.startswith("time") else 1
        leads.append(f"| {card.id} | {versus(card, ours, default, block)} | {versus(card, ours, automl, block)} |")
        print(rows[-1], flush=True)
    import lightgbm
    import flaml

    header = ("| card | dataset | metric | train / test rows | project (wall time of `workbench run`) | "
              "the run's own internal test | project --no-refit | LightGBM defaults | FLAML |\n"
              "|---|---|---|---|---|---|---|---|---|")
    splits = "\n".join(f"- {s.card} ({s.dataset}): {s.how}" for s in SPLITS if not args.only or s.card in args.only)
    text = (f"# Standard models vs peers at {args.budget:.0f} s\n\n"
            f"Measured {dt.date.today().isoformat()} on {platform.machine()} with {os.cpu_count()} cores "
            f"({platform.processor() or platform.platform()}), Python {platform.python_version()}, LightGBM "
            f"{lightgbm.__version__}, FLAML {flaml.__version__}: `python benchmarks/vs_peers.py --budget "
            f"{args.budget:.0f}`.\nThe project's figure is the TEST score of the model `workbench run --data "
            f"train.csv` registered, through `workbench predict`; peers get the card's raw columns. The internal "
            f"test is what that run measured on its own held-out part of TRAIN (what a user sees).\n\n"
            f"{header}\n" + "\n".join(rows) + "\n\n"
            "The project's lead over each peer (positive: the project is better), with the paired bootstrap 90 % "
            f"interval over the TEST rows ({metrics.RESAMPLES} resamples, both models scored on the same ones; "
            "a time split's rows drawn in runs of the square root of their number, since neighbouring rows err "
            "together): 'within noise' where the interval holds 0, so the TEST rows cannot tell the two apart.\n\n"
            "| card | project vs LightGBM defaults | project vs FLAML |\n|---|---|---|\n"
            + "\n".join(leads) + f"\n\nSplits:\n\n{splits}\n")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
