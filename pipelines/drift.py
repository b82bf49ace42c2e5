"""Drift: does new data still look like the rows a registered model was trained on?

``profile`` describes the training inputs compactly (numeric columns: decile bin edges with counts, a
few quantiles, a small seeded sample for the KS test; category columns: frequencies). It is logged with
every model as ``drift/profile.json``. ``compare`` sets a new frame against it, column by column:

- PSI (population stability index) over the training bins, missing values a bin of their own;
- a two-sample test: Kolmogorov-Smirnov on the values of a number (and a chi-square on its share of
  missing values), chi-square on the counts of a category;
- a verdict: with many rows any difference gets a tiny p-value, and with few rows PSI is noisy, so a
  column *drifts* only when both speak: its p-value, corrected for the number of tests (Bonferroni),
  is below ``ALPHA`` AND its PSI is at least ``PSI_DRIFT`` (0.25, the usual "major shift"); between
  ``PSI_WATCH`` and that it is *watched*. A column of the model that the file lacks drifts too.

The columns compared are those the model reads as a user's file has them (``StandardModel.input_columns``,
raw card columns), less the time stamp and the unit id, which always differ in new data.
"""

from __future__ import annotations

import math
import threading
import warnings
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

PROFILE_PATH = "drift/profile.json"
FORMAT = 1
BINS = 10  # deciles of the training values
SAMPLE = 500  # training values kept per numeric column for the KS test
TOP = 50  # categories kept by name; the rest count together
ALPHA = 0.01  # family-wise: Bonferroni over every test of one comparison
PSI_WATCH, PSI_DRIFT = 0.10, 0.25
MIN_ROWS = 30  # fewer filled values than this: no verdict for the column
MISSING, OTHER = "(missing)", "(other)"
DRIFT, WATCH, STABLE, ABSENT, TOO_FEW = "drift", "watch", "stable", "absent", "too_few_rows"


# --- the reference profile ---------------------------------------------------------------------------

def _r(value: float) -> float:
    """Six significant digits: a profile that stays small and reads the same everywhere."""
    return float(f"{float(value):.6g}")


def profile_columns(card, columns: list[str]) -> list[str]:
    """``columns`` less the card's time stamp and unit id (always new in new data)."""
    special = {card.time.column if card.time else None, card.group.column if card.group else None}
    return [c for c in columns if c not in special]


def profile(frame: pd.DataFrame, columns: list[str], categories: list[str] | set[str] | None = None,
            seed: int = 0) -> dict:
    """The profile of ``frame``'s ``columns``: JSON-ready. ``categories`` are the columns to count as
    categories (default: those that are not numbers); date-time columns are left out."""
    categories = set(categories or [])
    rng = np.random.default_rng(seed)
    out: dict = {"format": FORMAT, "rows": int(len(frame)), "seed": seed, "columns": {}, "left_out": {}}
    for col in columns:
        if col not in frame:
            out["left_out"][col] = "not in the training rows"
            continue
        values = frame[col]
        if pd.api.types.is_datetime64_any_dtype(values):
            out["left_out"][col] = "date-time"
            continue
        if col in categories or not pd.api.types.is_numeric_dtype(values):
            out["columns"][col] = _category_profile(values)
        else:
            out["columns"][col] = _numeric_profile(pd.to_numeric(values, errors="coerce"), rng)
    return out


def _numeric_profile(values: pd.Series, rng) -> dict:
    x = values.to_numpy(dtype=float, na_value=np.nan)
    x = x[np.isfinite(x)]
    missing = int(len(values) - len(x))
    if not len(x):
        return {"kind": "numeric", "rows": int(len(values)), "missing": missing, "edges": [], "counts": [],
                "sample": []}
    edges = sorted({_r(v) for v in np.quantile(x, np.linspace(0, 1, BINS + 1)[1:-1])})
    sample = rng.choice(x, size=min(SAMPLE, len(x)), replace=False)
    return {"kind": "numeric", "rows": int(len(values)), "missing": missing, "edges": edges,
            "counts": np.bincount(np.searchsorted(edges, x, side="left"), minlength=len(edges) + 1).tolist(),
            "mean": _r(x.mean()), "std": _r(x.std()), "min": _r(x.min()), "max": _r(x.max()),
            "quantiles": {str(q): _r(v) for q, v in zip((5, 25, 50, 75, 95), np.percentile(x, [5, 25, 50, 75, 95]))},
            "sample": sorted(_r(v) for v in sample)}


def _labels(values: pd.Series) -> pd.Series:
    return values.map(lambda v: v if pd.isna(v) else str(v).strip())


def _category_profile(values: pd.Series) -> dict:
    labels = _labels(values)
    counts = labels.value_counts(dropna=True)
    kept = counts.head(TOP)
    out = {str(k): int(v) for k, v in kept.items()}
    if len(counts) > TOP:
        out[OTHER] = int(counts.iloc[TOP:].sum())
    return {"kind": "category", "rows": int(len(values)), "missing": int(labels.isna().sum()), "counts": out}


def training_rows(result, model) -> pd.DataFrame:
    """The rows ``model`` was fitted on: every supplied row with a target when it is the refit of
    ``result`` (pipelines/tuning.py ``refit``), else the training part of the split."""
    if model is result.model:
        return result.train_raw
    parts = [result.data.frame] + ([result.data.test] if result.data.test is not None else [])
    frame = pd.concat(parts, ignore_index=True)
    target = result.card.target.column
    return frame[frame[target].notna()] if target in frame and result.card.task != "forecast" else frame


def model_profile(card, model, frame: pd.DataFrame, seed: int = 0) -> dict:
    """The profile of the columns ``model`` reads, on the rows in ``frame``."""
    columns = profile_columns(card, list(model.input_columns))
    kinds = {c.name: c.kind for c in card.columns}
    found = profile(frame, columns, [c for c in columns if kinds.get(c) == "category"], seed=seed)
    found["model"] = {"card_id": model.card_id, "rows_fit": int(model.rows_fit), "input_columns": list(model.input_columns)}
    when = card.time.column if card.time else None
    if when in frame and pd.api.types.is_datetime64_any_dtype(frame[when]) and frame[when].notna().any():
        found["period"] = {"column": when, "first": str(frame[when].min()), "last": str(frame[when].max())}
    if card.group and card.group.column in frame:
        found["groups"] = {"column": card.group.column, "count": int(frame[card.group.column].nunique())}
    return found


def log_profile(result, model) -> None:
    """Log the profile of the rows ``model`` (the one being logged) was trained on into the active run."""
    import json

    import mlflow

    found = model_profile(result.card, model, training_rows(result, model), seed=result.seed)
    mlflow.log_text(json.dumps(found, ensure_ascii=False, separators=(",", ":")), PROFILE_PATH)


def load_profile(run_id: str | None) -> dict | None:
    """A run's profile, or None for a run logged before profiles were (or without a model)."""
    if not run_id:
        return None
    import mlflow

    try:
        return mlflow.artifacts.load_dict(f"runs:/{run_id}/{PROFILE_PATH}")
    except Exception:  # noqa: BLE001 - no such artifact: an older run
        return None


# --- comparing new rows with it ----------------------------------------------------------------------

@dataclass
class ColumnDrift:
    column: str
    kind: str  # numeric | category
    verdict: str  # drift | watch | stable | absent | too_few_rows
    rows: int = 0  # filled values compared
    psi: float | None = None
    test: str = ""  # ks | chi2
    statistic: float | None = None  # KS D, or Cramér's V for a category
    p_value: float | None = None
    p_adjusted: float | None = None
    missing_share: tuple[float, float] | None = None  # training, new
    reference: str = ""  # the training values in a few words (mean/sd or the commonest category)
    new: str = ""
    shift_sd: float | None = None  # numeric: the new mean's distance from the training mean, in training sds
    _tests: list = field(default_factory=list, repr=False)  # raw p-values, corrected together


@dataclass
class DriftReport:
    rows: int  # new rows compared
    reference_rows: int
    columns: list[ColumnDrift]
    verdict: str  # drift | watch | stable | too_few_rows
    tests: int = 0  # the p-values the correction counted

    @property
    def drifted(self) -> list[str]:
        return [c.column for c in self.columns if c.verdict in (DRIFT, ABSENT)]

    @property
    def watched(self) -> list[str]:
        return [c.column for c in self.columns if c.verdict == WATCH]

    @property
    def has_drift(self) -> bool:
        return self.verdict == DRIFT

    def summary(self, lang: str | None = None) -> str:
        from .messages import drift_text

        return drift_text(self, lang)

    def rule(self, lang: str | None = None) -> str:
        """The rule the verdicts follow, in words."""
        from .messages import DRIFT_RULE, lang_or_default

        return DRIFT_RULE[lang_or_default(lang)].format(psi_drift=PSI_DRIFT, psi_watch=PSI_WATCH, alpha=ALPHA,
                                                        tests=self.tests)

    def as_dict(self) -> dict:
        cols = []
        for c in self.columns:
            item = {k: v for k, v in asdict(c).items() if not k.startswith("_")}
            cols.append({k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in item.items()})
        return {"verdict": self.verdict, "rows": self.rows, "reference_rows": self.reference_rows,
                "drifted": self.drifted, "watched": self.watched, "columns": cols,
                "rule": {"alpha": ALPHA, "correction": "bonferroni", "psi_drift": PSI_DRIFT, "psi_watch": PSI_WATCH,
                         "min_rows": MIN_ROWS},
                "tests": self.tests,
                "summary": {"en": self.summary("en"), "ko": self.summary("ko")},
                "rule_text": {"en": self.rule("en"), "ko": self.rule("ko")}}


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index of two count vectors over the same bins: the symmetric Kullback-Leibler
    divergence of their shares, each bin given half a count so that an empty bin stays finite."""
    from scipy.special import rel_entr

    e = (np.asarray(expected, float) + 0.5) / (np.sum(expected) + 0.5 * len(expected))
    a = (np.asarray(actual, float) + 0.5) / (np.sum(actual) + 0.5 * len(actual))
    return float(np.sum(rel_entr(a, e) + rel_entr(e, a)))


def _chi2_p(table) -> tuple[float, float]:
    """p-value and Cramér's V of a 2 x k table of counts. Two columns: Fisher's exact test. More:
    chi-square, with the columns whose expected count is under 5 pooled into one first (the
    approximation fails on them, and a few rows of a rare category would look like drift)."""
    from scipy.stats import chi2_contingency, fisher_exact
    from scipy.stats.contingency import association, expected_freq

    table = np.asarray(table, dtype=np.int64)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return 1.0, 0.0
    if table.shape[1] > 2:
        small = expected_freq(table).min(axis=0) < 5
        if small.any():
            table = np.column_stack([table[:, ~small], table[:, small].sum(axis=1)])
            table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return 1.0, 0.0
    v = float(association(table, method="cramer"))
    if table.shape[1] == 2:
        return float(fisher_exact(table).pvalue), v
    return float(chi2_contingency(table, correction=False).pvalue), v


def _numeric(name: str, ref: dict, values: pd.Series) -> ColumnDrift:
    from scipy.stats import ks_2samp

    x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    present = x[np.isfinite(x)]
    missing = len(x) - len(present)
    out = ColumnDrift(name, "numeric", STABLE, rows=int(len(present)),
                      missing_share=(ref["missing"] / max(ref["rows"], 1), missing / max(len(x), 1)))
    if ref.get("std") is not None:
        out.reference = f"{ref['mean']:.4g} ± {ref['std']:.3g}"
    if len(present):
        out.new = f"{present.mean():.4g} ± {present.std():.3g}"
        if ref.get("std"):
            out.shift_sd = float((present.mean() - ref["mean"]) / ref["std"])
    if len(present) < MIN_ROWS or not ref["counts"]:
        out.verdict = TOO_FEW
        return out
    counts = np.bincount(np.searchsorted(ref["edges"], present, side="left"), minlength=len(ref["edges"]) + 1)
    out.psi = psi([*ref["counts"], ref["missing"]], [*counts, missing])
    with warnings.catch_warnings():  # scipy says when ties make it fall back from the exact p to the asymptotic one
        warnings.filterwarnings("ignore", message=".*Exact calculation unsuccessful", category=RuntimeWarning)
        test = ks_2samp(np.asarray(ref["sample"], float), present)
    out.test, out.statistic = "ks", float(test.statistic)
    out._tests = [float(test.pvalue)]
    if ref["missing"] or missing:  # a sensor that stopped sending is a change too
        out._tests.append(_chi2_p(np.array([[ref["rows"] - ref["missing"], ref["missing"]],
                                            [len(present), missing]]))[0])
    return out


def _category(name: str, ref: dict, values: pd.Series) -> ColumnDrift:
    labels = _labels(values)
    known = [k for k in ref["counts"] if k != OTHER]
    new = labels.where(labels.isin(known) | labels.isna(), OTHER)
    found = new.value_counts(dropna=True)
    missing = int(new.isna().sum())
    out = ColumnDrift(name, "category", STABLE, rows=int(len(new) - missing),
                      missing_share=(ref["missing"] / max(ref["rows"], 1), missing / max(len(new), 1)))
    top = max(ref["counts"], key=ref["counts"].get) if ref["counts"] else None
    if top is not None:
        filled = max(ref["rows"] - ref["missing"], 1)
        out.reference = f"{top} {ref['counts'][top] / filled:.0%}"
        out.new = f"{top} {found.get(top, 0) / max(out.rows, 1):.0%}"
    if out.rows < MIN_ROWS:
        out.verdict = TOO_FEW
        return out
    keys = [*known, OTHER]
    reference = np.array([*[ref["counts"].get(k, 0) for k in keys], ref["missing"]], float)
    actual = np.array([*[int(found.get(k, 0)) for k in keys], missing], float)
    out.psi = psi(reference, actual)
    p, v = _chi2_p(np.vstack([reference, actual]))
    out.test, out.statistic, out._tests = "chi2", v, [p]
    return out


def compare(reference: dict, frame: pd.DataFrame) -> DriftReport:
    """Set ``frame`` (new rows, validated as for prediction) against a ``profile``."""
    columns = []
    for name, ref in reference["columns"].items():
        if name not in frame:
            columns.append(ColumnDrift(name, ref["kind"], ABSENT))
        elif ref["kind"] == "numeric":
            columns.append(_numeric(name, ref, frame[name]))
        else:
            columns.append(_category(name, ref, frame[name]))
    tests = sum(len(c._tests) for c in columns) or 1
    for c in columns:
        if not c._tests:
            continue
        c.p_value = min(c._tests)
        c.p_adjusted = min(1.0, c.p_value * tests)
        if c.p_adjusted < ALPHA and c.psi >= PSI_DRIFT:
            c.verdict = DRIFT
        elif c.p_adjusted < ALPHA and c.psi >= PSI_WATCH:
            c.verdict = WATCH
    verdicts = {c.verdict for c in columns}
    if len(frame) < MIN_ROWS:
        overall = TOO_FEW
    elif verdicts & {DRIFT, ABSENT}:
        overall = DRIFT
    elif WATCH in verdicts:
        overall = WATCH
    else:
        overall = STABLE
    return DriftReport(rows=int(len(frame)), reference_rows=int(reference.get("rows", 0)), columns=columns,
                       verdict=overall, tests=tests if any(c._tests for c in columns) else 0)


# --- new rows, bounded ---------------------------------------------------------------------------------

class Sample:
    """A uniform random sample of at most ``limit`` rows of everything ``add``-ed (each row gets a random
    key; the smallest keys stay), so a file of any length is compared in bounded memory (at most twice
    ``limit`` rows are held between two trims)."""

    def __init__(self, limit: int = 200_000, seed: int = 0, columns: list[str] | None = None):
        self.limit, self.columns = limit, columns
        self.rng = np.random.default_rng(seed)
        self.parts: list[pd.DataFrame] = []
        self.held = self.seen = 0

    def add(self, frame: pd.DataFrame) -> None:
        part = frame[[c for c in self.columns if c in frame]] if self.columns is not None else frame
        self.parts.append(part.reset_index(drop=True).assign(_key=self.rng.random(len(part))))
        self.seen += len(part)
        self.held += len(part)
        if self.held > 2 * self.limit:
            self._trim()

    def _trim(self) -> None:
        both = pd.concat(self.parts, ignore_index=True) if len(self.parts) > 1 else self.parts[0]
        kept = both.nsmallest(self.limit, "_key") if len(both) > self.limit else both
        self.parts, self.held = [kept], len(kept)

    def frame(self) -> pd.DataFrame:
        if not self.parts:
            return pd.DataFrame()
        self._trim()
        return self.parts[0].drop(columns="_key").reset_index(drop=True)


def _column(frame: pd.DataFrame, at: int):
    """The values of the column at position ``at``: pandas' own array accessor where it has one (a
    Series per column costs more than scoring a served row), else the public way."""
    if hasattr(frame, "_get_column_array"):
        return frame._get_column_array(at)
    return frame.iloc[:, at].array


class Recent:
    """The last ``size`` rows a server scored for one model, in one ring buffer per profiled column
    (floats for numbers, objects for categories): memory bounded, a few microseconds per request."""

    def __init__(self, reference: dict, size: int = 5000):
        self.size, self.count, self.at = size, 0, 0
        cols = reference["columns"]
        self.numbers = [c for c, ref in cols.items() if ref["kind"] == "numeric"]
        self.labels = [c for c, ref in cols.items() if ref["kind"] != "numeric"]
        self.x = np.full((size, len(self.numbers)), np.nan)
        self.y = np.full((size, len(self.labels)), None, dtype=object)
        self.lock = threading.Lock()
        self._positions: dict = {}

    def add(self, frame: pd.DataFrame) -> None:
        n = len(frame)
        if n == 0:
            return
        if n > self.size:
            frame, n = frame.iloc[-self.size:], self.size
        where = self._where(tuple(frame.columns))
        x = np.full((n, len(self.numbers)), np.nan)
        y = np.full((n, len(self.labels)), None, dtype=object)
        for j, at in enumerate(where[0]):
            if at >= 0:
                values = _column(frame, at)
                try:
                    x[:, j] = np.asarray(values, dtype=float)
                except (TypeError, ValueError):  # text among the numbers: what cannot be read is missing
                    x[:, j] = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(float, na_value=np.nan)
        for j, at in enumerate(where[1]):
            if at >= 0:
                y[:, j] = np.asarray(_column(frame, at), dtype=object)
        with self.lock:
            rows = (self.at + np.arange(n)) % self.size
            self.x[rows] = x
            self.y[rows] = y
            self.at = (self.at + n) % self.size
            self.count = min(self.size, self.count + n)

    def _where(self, columns: tuple) -> tuple[list[int], list[int]]:
        """Positions of the profiled columns in a frame with ``columns`` (-1: absent), cached."""
        found = self._positions.get(columns)
        if found is None:
            at = {c: i for i, c in enumerate(columns)}
            found = ([at.get(c, -1) for c in self.numbers], [at.get(c, -1) for c in self.labels])
            self._positions = {columns: found}
        return found

    def frame(self) -> pd.DataFrame:
        with self.lock:
            x, y = self.x[:self.count].copy(), self.y[:self.count].copy()
        out = pd.DataFrame(x, columns=self.numbers)
        for j, col in enumerate(self.labels):
            out[col] = pd.Series(y[:, j], dtype=object).where(pd.notna(y[:, j]), None)
        return out


# --- a file against a registered version -------------------------------------------------------------

def for_version(card_id: str, alias: str = "champion", version: int | None = None, site: str | None = None):
    """``(model version, profile)`` of a registered model (of the card's data line ``site`` when given), or
    a WorkbenchError that says what to do."""
    from . import registry, tracking
    from .errors import WorkbenchError

    tracking.configure()
    name = registry.model_name(card_id, site)
    mv = registry.resolve(name, alias, version)
    with registry.quiet_downloads():
        found = load_profile(mv.run_id)
    if found is None:
        raise WorkbenchError(f"Registered model {name} v{mv.version} has no drift profile ({PROFILE_PATH} in its "
                             f"MLflow run {mv.run_id}): it was trained before profiles were logged. Train a new "
                             f"version with `workbench run {card_id}` and compare against that one.")
    return mv, found


def check_file(card_id: str, path, alias: str = "champion", version: int | None = None, column_map=None,
               sheet=None, lang: str | None = None, options=None, limit: int = 200_000, site: str | None = None):
    """``(model version, DriftReport, rows read)`` for a file, read, mapped and validated exactly as
    ``workbench predict`` reads it (in chunks; at most ``limit`` rows, drawn at random, compared)."""
    from pathlib import Path

    from . import cards, data
    from .errors import DataError
    from .predict import CHUNK_ROWS, _prepared

    card = cards.load_card(card_id)
    path = Path(path)
    chunks = _prepared(path, card, column_map, CHUNK_ROWS, sheet, lang, data.Options.of(options))
    first = next(chunks, None)  # a bad file is refused before the store is touched
    if first is None:
        raise DataError(path, "the file has a header but no data rows.", fix="export it again with its rows.")
    mv, reference = for_version(card.id, alias, version, site=site)
    sample = Sample(limit, columns=list(reference["columns"]))
    sample.add(first[0])
    for frame, _ in chunks:
        sample.add(frame)
    return mv, compare(reference, sample.frame()), sample.seen
